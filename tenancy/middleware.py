"""Remembers the browsers in which an account signed in (its known devices)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tenancy.throttles import DEVICE_COOKIE, DEVICE_MAX_AGE, device_cookie_value


class KnownDeviceMiddleware:
    """Sets the known-device cookie when a request proved an account's password (see
    :func:`tenancy.throttles.device_remember`); such a browser keeps signing in while someone
    else's failures slow the account down."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        tag = getattr(request, "wasl_known_account", None)
        if tag and response.status_code < 400:
            response.set_cookie(
                DEVICE_COOKIE,
                device_cookie_value(request, tag),
                max_age=DEVICE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
