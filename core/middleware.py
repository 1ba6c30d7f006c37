"""Uploads: refuse request bodies larger than a whole deposit may be, before anything reads
them; keep file parts whose name cleans to nothing. And pages' 404 for objects not for the user."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from core.uploads import UploadNamesParser, wants_json

# Room for the form fields and multipart framing around the files themselves.
ENVELOPE = 1024 * 1024


class RequestSizeLimitMiddleware:
    """A body larger than a deposit may be is refused from its Content-Length, unread: the API
    and the upload script get the API's JSON error, a page posted without the script a
    translated page. It comes last (the page knows who is signed in and carries the security
    headers) and reads nothing: the body is parsed only once a view asks for it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_DEPOSIT_SIZE + ENVELOPE:
            limit = filesizeformat(settings.MAX_DEPOSIT_SIZE)
            message = _("The files together are larger than %(limit)s.") % {"limit": limit}
            response: HttpResponse
            if request.path.startswith("/api/") or wants_json(request):
                response = JsonResponse({"error": {"code": "request_too_large", "message": message}}, status=413)
            else:
                response = render(request, "request_too_large.html", {"message": message, "limit": limit}, status=413)
            response["Connection"] = "close"
            return response
        request.multipart_parser_class = UploadNamesParser  # type: ignore[assignment]
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
