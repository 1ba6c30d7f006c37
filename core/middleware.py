"""Refuse request bodies larger than a whole deposit may be, before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Room for the form fields and multipart framing around the files themselves.
ENVELOPE = 1024 * 1024


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_DEPOSIT_SIZE + ENVELOPE:
            message = _("The files together are larger than %(limit)s.") % {
                "limit": filesizeformat(settings.MAX_DEPOSIT_SIZE)
            }
            response = JsonResponse({"error": {"code": "request_too_large", "message": message}}, status=413)
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class NotFoundMiddleware:
    """Pages answer 404 when an access helper says an object is not for this user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.http import Http404

        from core.errors import NotFound

        if isinstance(exception, NotFound):
            raise Http404 from exception
        return None
