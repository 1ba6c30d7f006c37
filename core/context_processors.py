from django.conf import settings
from django.http import HttpRequest


def wasl(request: HttpRequest) -> dict[str, object]:
    return {"WASL_DEMO": settings.DEMO, "WASL_LANGUAGES": settings.LANGUAGES}
