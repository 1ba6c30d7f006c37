from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from operations.health import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Each part Wasl depends on and its state (``operations.health``): 200 when the required
    parts are fine (``status`` "ok" or "degraded"), 503 otherwise. A platform administrator
    signed in also gets the details (hosts, times, error names)."""
    state = health()
    body: dict[str, object] = {"status": state.status, **state.parts}
    if _platform_administrator(request):
        body["details"] = state.details
    return JsonResponse(body, status=503 if state.status == "unavailable" else 200)


def _platform_administrator(request: HttpRequest) -> bool:
    # Only a request with a session is looked up (load balancers send none), and a database
    # that does not answer leaves the answer anonymous rather than failing it.
    if not request.COOKIES:
        return False
    try:
        return bool(request.user.is_staff)
    except DatabaseError:
        return False
