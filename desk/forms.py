from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleForm, named_with_code
from documents.forms import CheckedFilesField
from registry.models import Direction, SenderKind
from tenancy.models import Administration, Membership, Service


class CounterRegistrationForm(AccessibleForm):
    direction = forms.ChoiceField(label=_("Register"), choices=Direction.choices, initial=Direction.INCOMING)
    sender_kind = forms.ChoiceField(label=_("Sender kind"), choices=SenderKind.choices, initial=SenderKind.PERSON)
    sender_name = forms.CharField(label=_("Sender (or addressee, for outgoing mail)"), max_length=200)
    sender_identifier = forms.CharField(label=_("CIN or ICE (optional)"), max_length=20, required=False)
    sender_email = forms.EmailField(
        label=_("E-mail (optional)"), required=False, help_text=_("The receipt is e-mailed to this address.")
    )
    sender_address = forms.CharField(label=_("Postal address (optional)"), max_length=300, required=False)
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False, empty_label=_("Not known yet")
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("Summary or text"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attachments = CheckedFilesField(label=_("Scanned documents"), help_text=_("PDF, JPEG, PNG or TIFF."))
    confidential = forms.BooleanField(label=_("Confidential"), required=False)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["service"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Service.objects.filter(administration=administration, is_active=True).order_by("code")
        field.label_from_instance = named_with_code  # type: ignore[method-assign]


class RegisterFilterForm(AccessibleForm):
    number = forms.CharField(label=_("Number"), required=False, max_length=40)
    sender = forms.CharField(label=_("Sender"), required=False, max_length=100)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=100)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ServiceForm(AccessibleForm):
    code = forms.RegexField(
        label=_("Code"), regex=r"^[A-Z0-9][A-Z0-9-]{1,39}$", help_text=_("Capital letters, digits and dashes.")
    )
    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_fr = forms.CharField(label=_("Name in French"), max_length=200)
    name_zgh = forms.CharField(label=_("Name in Amazigh (Tifinagh)"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Service.Kind.choices)
    location = forms.CharField(label=_("Location"), max_length=120, required=False)
    parent = forms.ModelChoiceField(label=_("Part of"), queryset=Service.objects.none(), required=False)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.administration = administration
        field = self.fields["parent"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Service.objects.filter(administration=administration).order_by("code")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if Service.objects.filter(administration=self.administration, code=code).exists():
            raise forms.ValidationError(_("A service already has this code."))
        return str(code)


class StaffGrantForm(AccessibleForm):
    email = forms.EmailField(label=_("E-mail address"))
    full_name = forms.CharField(
        label=_("Full name"), max_length=150, required=False, help_text=_("Only for a person without an account yet.")
    )
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none(), required=False)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["service"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Service.objects.filter(administration=administration, is_active=True).order_by("code")
