"""The sign-in forms: the portal's and the Django admin's, both behind the sign-in limits."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenancy.throttles import Throttled, normalised_email


class SignInForm(AuthenticationForm):
    """Django's sign-in form; an attempt that must wait (:class:`Throttled`) becomes an error
    saying when to try again, kept in ``throttled`` for the view's status and ``Retry-After``."""

    error_messages = {**AuthenticationForm.error_messages, "invalid_login": _("Wrong e-mail or password.")}
    throttled: Throttled | None = None

    def clean_username(self) -> str:
        # Accounts are stored by their lower-case e-mail address.
        return normalised_email(self.cleaned_data.get("username") or "")

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except Throttled as throttled:
            self.throttled = throttled
            raise ValidationError(throttled.describe(), code="throttled") from None


class AdminSignInForm(SignInForm, AdminAuthenticationForm):
    """The Django admin's sign-in form (staff only), with the same limits."""
