"""System checks for combinations of settings that are unsafe outside the demo."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register("wasl", deploy=False)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    if settings.DEMO:
        return []
    problems: list[Any] = []
    if not settings.ALLOWED_HOSTS:
        problems.append(
            Error("WASL_ALLOWED_HOSTS is empty.", hint="List the host names Wasl is served under.", id="wasl.E001")
        )
    if settings.DEBUG:
        problems.append(Warning("WASL_DEBUG is on outside the demo.", id="wasl.W001"))
    if str(settings.MAILERS["default"]["BACKEND"]).endswith("console.EmailBackend"):
        problems.append(
            Warning("E-mail goes to the console.", hint="Set WASL_EMAIL_HOST to send real e-mail.", id="wasl.W002")
        )
    if settings.PUBLIC_URL.startswith("http://") and "127.0.0.1" not in settings.PUBLIC_URL:
        problems.append(Warning("WASL_PUBLIC_URL is not HTTPS.", id="wasl.W003"))
    return problems
