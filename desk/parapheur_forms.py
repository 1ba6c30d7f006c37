"""Forms of the parapheur pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleForm, BoundedDateField, ObjectChoiceField, QuickSelect
from documents.forms import CheckedFilesField
from parapheur.models import Circuit
from tenancy.models import Membership, User
from tenancy.permissions import Action, roles_who


def person_label(user: Any) -> str:
    return f"{user.full_name} ({user.email})"


class FolderForm(AccessibleForm):
    """A new folder: its document, annexes, and either a circuit or a quick one (up to three
    visas, a signature, the seal)."""

    title = forms.CharField(label=_("Title"), max_length=300)
    document = forms.FileField(
        label=_("Document to sign (PDF, or an office document when a converter is installed)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf,.doc,.docx,.odt,.rtf"}),
    )
    annexes = CheckedFilesField(label=_("Annexes (optional)"), required=False)
    circuit = ObjectChoiceField(
        label=_("Circuit"),
        required=False,
        empty_label=_("A circuit of my own"),
        help_text=_(
            "The people below make a circuit of your own; with an adjustable circuit, they add visas "
            "before its steps and choose who signs."
        ),
    )
    visa1 = ObjectChoiceField(label=_("First visa"), required=False, empty_label="—")
    visa2 = ObjectChoiceField(label=_("Second visa"), required=False, empty_label="—")
    visa3 = ObjectChoiceField(label=_("Third visa"), required=False, empty_label="—")
    signatory = ObjectChoiceField(label=_("Signature"), required=False, empty_label="—")
    seal = forms.BooleanField(label=_("Then the administration's seal"), required=False, initial=True)

    def __init__(self, *args: Any, circuits: list[Circuit], people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("visa1", "visa2", "visa3", "signatory"):
            field = self.fields[name]
            assert isinstance(field, ObjectChoiceField)
            field.set_objects(people, person_label)
        field = self.fields["circuit"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(circuits, str)

    def clean_document(self) -> tuple[str, bytes]:
        """(file name, PDF bytes): a PDF as sent, an office document converted when a converter
        is installed; anything else refused with the reason."""
        from django.conf import settings

        from documents.convert import ConversionFailed, converter, is_office, office_to_pdf
        from documents.intake import FileRejected, bytes_upload, check_files

        upload = self.cleaned_data["document"]
        if upload.size > settings.MAX_FILE_SIZE:
            raise forms.ValidationError(_("This file is too large."))
        name, data = upload.name or "document.pdf", upload.read()
        if is_office(name):
            if converter() is None:
                raise forms.ValidationError(
                    _(
                        "Only PDF documents can go through a circuit: no converter for office documents is "
                        "installed here. Save the document as PDF and send it again."
                    )
                )
            try:
                data = office_to_pdf(data, name)
            except ConversionFailed:
                raise forms.ValidationError(_("This document could not be converted to PDF.")) from None
            name = name.rsplit(".", 1)[0] + ".pdf"
        try:
            checked = check_files([bytes_upload(data, name)])[0]
        except FileRejected as rejected:
            raise forms.ValidationError(rejected.message) from None
        if checked.content_type != "application/pdf":
            raise forms.ValidationError(
                _(
                    "Only PDF documents can go through a circuit: no converter for office documents is "
                    "installed here. Save the document as PDF and send it again."
                )
                if converter() is None
                else _("Send a PDF or an office document (.doc, .docx, .odt, .rtf).")
            )
        return checked.filename, data

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("circuit") and not data.get("signatory") and not any(data.get(f"visa{n}") for n in (1, 2, 3)):
            self.add_error("circuit", _("Choose a circuit, or the people of your own."))
        return data


class ApproveForm(AccessibleForm):
    fingerprint = forms.CharField(widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    passphrase = forms.CharField(
        label=_("Sign the visa into the document (optional): your certificate's passphrase"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        strip=False,
    )


class SignForm(AccessibleForm):
    fingerprint = forms.CharField(widget=forms.HiddenInput)
    passphrase = forms.CharField(
        label=_("Passphrase of your signing certificate"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        strip=False,
    )
    # Where the signatory puts their block, when not where the circuit says (all three or none).
    page = forms.IntegerField(label=_("Page (0: the last)"), required=False, min_value=0)
    x_mm = forms.IntegerField(label=_("From the left (mm)"), required=False, min_value=0, max_value=1000)
    y_mm = forms.IntegerField(label=_("From the bottom (mm)"), required=False, min_value=0, max_value=1000)

    def placement(self) -> tuple[int, int, int] | None:
        data = self.cleaned_data
        values = (data.get("page"), data.get("x_mm"), data.get("y_mm"))
        return None if None in values else (int(values[0]), int(values[1]), int(values[2]))  # type: ignore[arg-type]


class BatchSignForm(AccessibleForm):
    passphrase = forms.CharField(
        label=_("Passphrase of your signing certificate"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        strip=False,
    )


class ReasonForm(AccessibleForm):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ReturnForm(AccessibleForm):
    to_position = forms.TypedChoiceField(label=_("Back to the step"), coerce=int, widget=QuickSelect)
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, steps: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_position"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = steps


class OpinionForm(AccessibleForm):
    text = forms.CharField(label=_("Your opinion"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(AccessibleForm):
    text = forms.CharField(label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
    page = forms.IntegerField(label=_("Page (optional)"), required=False, min_value=1)


class EnrolForm(AccessibleForm):
    title_fr = forms.CharField(label=_("Title in French"), max_length=100, required=False)
    title_ar = forms.CharField(
        label=_("Title in Arabic"), max_length=100, required=False, widget=forms.TextInput(attrs={"dir": "rtl"})
    )
    passphrase = forms.CharField(
        label=_("Choose a passphrase"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=_("At least 8 characters. It is asked at each signature; nobody can recover it for you."),
    )
    passphrase_again = forms.CharField(
        label=_("The passphrase again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("passphrase") and data.get("passphrase") != data.get("passphrase_again"):
            self.add_error("passphrase_again", _("The two passphrases differ."))
        return data


class ImportForm(EnrolForm):
    pkcs12 = forms.FileField(label=_("Certificate file (.p12 or .pfx)"))
    pkcs12_password = forms.CharField(
        label=_("Password of the certificate file"), widget=forms.PasswordInput, strip=False, required=False
    )

    field_order = ["pkcs12", "pkcs12_password", "title_fr", "title_ar", "passphrase", "passphrase_again"]

    def clean_pkcs12(self) -> bytes:
        upload = self.cleaned_data["pkcs12"]
        if upload.size > 100_000:
            raise forms.ValidationError(_("This file is too large for a certificate."))
        return bytes(upload.read())


class DelegationForm(AccessibleForm):
    delegate = ObjectChoiceField(label=_("Delegate"))
    starts_on = BoundedDateField(label=_("From"))
    ends_on = BoundedDateField(label=_("Until"))
    document_types = forms.CharField(
        label=_("Types of document (optional)"),
        required=False,
        max_length=300,
        help_text=_("Separated by commas; empty: every type."),
    )

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["delegate"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(people, person_label)


STEP_ROWS = 5


class CircuitForm(AccessibleForm):
    """A circuit template: its name and up to five steps, each a kind and who acts (a person,
    or any holder of a role, in a service or anywhere)."""

    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=200)
    document_type = forms.CharField(label=_("Type of document"), max_length=60, required=False)
    service = ObjectChoiceField(label=_("Service"), required=False, empty_label="—")
    adjustable = forms.BooleanField(label=_("The submitter may adjust it"), required=False)
    is_active = forms.BooleanField(label=_("Open"), required=False, initial=True)

    def __init__(self, *args: Any, people: list[User], services: list[Any], **kwargs: Any) -> None:
        from parapheur.models import StepKind

        super().__init__(*args, **kwargs)
        field = self.fields["service"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(services, lambda s: f"{s.name} ({s.code})")
        acting = roles_who(Action.ACT_IN_CIRCUIT)
        roles = [(value, label) for value, label in Membership.Role.choices if value in acting]
        for n in range(1, STEP_ROWS + 1):
            self.fields[f"step{n}_kind"] = forms.ChoiceField(
                label=_("Step %(n)d") % {"n": n},
                required=False,
                choices=[("", "—"), *StepKind.choices],
                widget=QuickSelect,
            )
            person = ObjectChoiceField(label=_("Person"), required=False, empty_label="—")
            person.set_objects(people, person_label)
            self.fields[f"step{n}_person"] = person
            self.fields[f"step{n}_role"] = forms.ChoiceField(
                label=_("or any holder of the role"), required=False, choices=[("", "—"), *roles], widget=QuickSelect
            )
            where = ObjectChoiceField(label=_("in the service"), required=False, empty_label="—")
            where.set_objects(services, lambda s: f"{s.name} ({s.code})")
            self.fields[f"step{n}_service"] = where

    def steps(self) -> list[Any]:
        from parapheur.models import ActorKind, StepKind
        from parapheur.services import StepSpec

        specs = []
        data = self.cleaned_data
        for n in range(1, STEP_ROWS + 1):
            kind = data.get(f"step{n}_kind")
            if not kind:
                continue
            person, role, service = data.get(f"step{n}_person"), data.get(f"step{n}_role"), data.get(f"step{n}_service")
            if kind == StepKind.SEAL:
                specs.append(StepSpec(kind=kind))
            elif person is not None:
                specs.append(StepSpec(kind=kind, people=(person.pk,)))
            else:
                specs.append(
                    StepSpec(
                        kind=kind,
                        actor_kind=ActorKind.ROLE,
                        role=role or "",
                        service_id=service.pk if service is not None else None,
                    )
                )
        return specs
