from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


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
