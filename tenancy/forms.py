"""The forms that check a password: signing in and changing it, on the portal and in the Django
admin, all behind the sign-in limits."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tenancy.backends import password_verify
from tenancy.models import User
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


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's password change; the current password is checked under the sign-in limits, so
    that a borrowed session cannot guess at it (``request``, when given, adds the client
    address and the known device)."""

    throttled: Throttled | None = None

    def __init__(self, user: User, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        try:
            verified = password_verify(request=self.request, user=self.user, password=old_password)
        except Throttled as throttled:
            self.throttled = throttled
            raise ValidationError(throttled.describe(), code="throttled") from None
        if not verified:
            raise ValidationError(_("This is not your current password."), code="password_incorrect")
        return old_password


class AdminPasswordChangeForm(PasswordChangeForm):
    """The Django admin's own password change, with the same limits."""

    required_css_class = "required"


class AdminSetPasswordForm(auth_forms.AdminPasswordChangeForm[User]):
    """Django's form that sets another user's password in the admin. Django appends an English
    sentence to its translated help text; this one says it in the reader's language."""

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        field = self.fields.get("usable_password")
        if field is not None:
            field.help_text = format_html(
                '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
                auth_forms.SetUnusablePasswordMixin.usable_password_help_text,
                _("If disabled, the current password for this user will be lost."),
            )
