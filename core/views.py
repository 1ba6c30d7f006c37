from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from core.csrf import CsrfCause, csrf_failure_cause, request_host


def _for_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django could not read (a malformed form, a forbidden host or header): the API's
    error shape under ``/api/``, a page elsewhere."""
    if _for_api(request):
        return _api_error(400, "bad_request", _("The request could not be read: check its format."))
    return render(request, "400.html", status=400)


@requires_csrf_token
def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_api(request):
        return _api_error(404, "not_found", _("Not found."))
    return render(request, "404.html", status=404)


@requires_csrf_token
def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A page or an action the account may not use (``PermissionDenied``: an admin page its
    model does not offer, an action it forbids): a page in the reader's language, not Django's
    bare "403 Forbidden" in English."""
    if _for_api(request):
        return _api_error(403, "forbidden", _("Not allowed."))
    return render(request, "403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused by the CSRF check (``CSRF_FAILURE_VIEW``): 403, with the likely cause in
    the reader's language and, for the administrator of the site, the setting to change. What
    the request carried (its Origin) is shown escaped and isolated, never as markup."""
    failure = csrf_failure_cause(request, reason)
    if _for_api(request):
        return _api_error(403, "csrf_failed", _("The form could not be sent: reload the page and try again."))
    referer = str(request.META.get("HTTP_REFERER", ""))
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request_host(request)} - {""}, require_https=request.is_secure()
    )
    back = referer if same_site else reverse("portal:home")
    secure_url = ""
    if failure.cause == CsrfCause.PLAIN_HTTP and settings.PUBLIC_URL.startswith("https://"):
        # The same page at the site's HTTPS address.
        page = urlsplit(referer) if same_site else None
        path = page.path if page and page.path.startswith("/") else "/"
        secure_url = settings.PUBLIC_URL + path + (f"?{page.query}" if page and page.query else "")
    context = {
        "cause": failure.cause.value,
        "origin": failure.origin[:200],
        "site": failure.site,
        "back": back,
        "secure_url": secure_url,
        "public_url": settings.PUBLIC_URL,
    }
    return render(request, "csrf_failure.html", context, status=403)
