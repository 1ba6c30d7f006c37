"""The authentication backend: Django's model backend behind the sign-in limits."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from core.proxies import client_address
from tenancy.models import User
from tenancy.throttles import SignInAttempt, device_remember, known_device, sign_in_attempt, sign_in_succeeded


def _attempt(request: HttpRequest | None, email: str) -> SignInAttempt:
    return sign_in_attempt(
        email=email,
        address=client_address(request) if request is not None else None,
        device=known_device(request, email) if request is not None else None,
    )


def password_verify(*, request: HttpRequest | None, user: User, password: str) -> bool:
    """Check the password of a signed-in account (to change it) under the same limits as a
    sign-in, so that a borrowed session cannot guess at it. Raises ``Throttled``."""
    attempt = _attempt(request, user.email)
    if not user.check_password(password):
        return False
    sign_in_succeeded(attempt)
    return True


class ThrottledModelBackend(ModelBackend):
    """Every password check goes through here: the portal and desk sign-in page, the API's
    token endpoint and the Django admin alike.

    The attempt is counted (per client address, and per account or per known device of the
    account) before the password is checked; when it must wait, :class:`tenancy.throttles.Throttled`
    is raised — not ``PermissionDenied``, which ``authenticate()`` would turn into a plain
    "wrong password" — so that the page can say when to try again. A right password gives the
    count back and makes this browser a known device of the account.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        attempt = _attempt(request, username)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            sign_in_succeeded(attempt)
            if request is not None:
                device_remember(request, username)
        return user

    async def aauthenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)
