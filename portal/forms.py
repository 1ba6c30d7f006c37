from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleForm, named_with_code
from documents.forms import CheckedFilesField
from tenancy import forms as tenancy_forms
from tenancy.models import Administration, User
from tenancy.selectors import active_administrations


def _label_new_password(form: forms.Form) -> None:
    form.fields["new_password1"].label = _("New password")
    form.fields["new_password2"].label = _("The new password again")
    form.fields["new_password2"].help_text = ""


class NewPasswordForm(AccessibleForm, auth_forms.SetPasswordForm[User]):
    """The new password chosen from a reset link."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _label_new_password(self)


class PasswordChangeForm(AccessibleForm, tenancy_forms.PasswordChangeForm):
    """A signed-in account changes its password (the current one checked under the limits)."""

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields["old_password"].label = _("Current password")
        _label_new_password(self)


class PasswordResetRequestForm(AccessibleForm):
    email = forms.EmailField(
        label=_("E-mail address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class SignUpForm(AccessibleForm):
    full_name = forms.CharField(label=_("Full name (or company name)"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    kind = forms.ChoiceField(label=_("I am"), choices=User.Kind.choices, initial=User.Kind.PERSON)
    national_id = forms.CharField(
        label=_("National ID (CIN), optional"),
        required=False,
        max_length=12,
        help_text=_("Shown masked on your receipts. Leave empty if you prefer."),
    )
    company_id = forms.CharField(label=_("Company ID (ICE), optional"), required=False, max_length=15)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits."),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(_("An account already uses this e-mail address. Sign in instead."))
        return email

    def clean_national_id(self) -> str:
        value = self.cleaned_data["national_id"].strip().upper().replace(" ", "")
        User._meta.get_field("national_id").run_validators(value) if value else None
        return value

    def clean_company_id(self) -> str:
        value = self.cleaned_data["company_id"].strip().replace(" ", "")
        User._meta.get_field("company_id").run_validators(value) if value else None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password")
        if password:
            candidate = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


def published_procedures(code: str) -> list[tuple[str, str]]:
    """The procedures ``code``'s administration publishes (open to deposits), as (code, label)
    in the reader's language; none for an unknown code."""
    from workflow.models import Procedure

    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,39}", code):  # no administration has such a code
        return []
    procedures = Procedure.objects.filter(
        administration__code=code, administration__is_active=True, is_active=True
    ).order_by("code")
    return [(p.code, f"{p.code} — {p.name} ({p.delay_label})") for p in procedures]


class DepositForm(AccessibleForm):
    recipient = forms.ModelChoiceField(
        label=_("Administration"),
        queryset=Administration.objects.none(),
        to_field_name="code",
        empty_label=_("Choose the administration"),
    )
    # A choice among the procedures the chosen administration publishes: the page lists them
    # for the administration chosen (the upload script reloads them when it changes; without
    # it, the form's "List its procedures" button does).
    procedure = forms.ChoiceField(
        label=_("Procedure (optional)"),
        required=False,
        help_text=_("The procedures the chosen administration publishes. A procedure sets the legal delay."),
        error_messages={
            "invalid_choice": _("Choose one of the procedures this administration publishes, or none."),
        },
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(
        label=_("Your letter"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Write your request here, or attach it as a file."),
    )
    attachments = CheckedFilesField(
        label=_("Documents"),
        help_text=_("PDF, JPEG, PNG or TIFF. Several files may be chosen."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["recipient"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = active_administrations()
        field.label_from_instance = named_with_code  # type: ignore[method-assign]
        field.widget.attrs["data-procedures"] = reverse("portal:deposit_procedures")
        code = str((self.data.get("recipient") if self.is_bound else self.initial.get("recipient")) or "")
        procedure = self.fields["procedure"]
        assert isinstance(procedure, forms.ChoiceField)
        procedure.choices = [("", _("None: general delay of 60 days")), *published_procedures(code)]


class VerifyUploadForm(AccessibleForm):
    file = forms.FileField(
        label=_("Receipt (PDF)"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"})
    )


class VerifyTokenForm(AccessibleForm):
    code = forms.CharField(
        label=_("Verification code or link"),
        max_length=300,
        help_text=_("The link under the QR code of the receipt."),
    )

    def clean_code(self) -> str:
        value = self.cleaned_data["code"].strip().rstrip("/")
        return value.rsplit("/", 1)[-1]
