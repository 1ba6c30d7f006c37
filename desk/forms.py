from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleForm, BoundedDateField, ObjectChoiceField, QuickSelect, named_with_code
from core.text import one_line
from documents.forms import CheckedFilesField
from documents.intake import FileRejected
from documents.scans import pictures_assembled
from registry.models import Direction, SenderKind
from tenancy.models import Administration, Membership, Service


def services_field(field: forms.Field, administration: Administration) -> None:
    """Offer the administration's active services in ``field`` (a single or multiple choice)."""
    assert isinstance(field, forms.ModelChoiceField)  # also ModelMultipleChoiceField
    field.queryset = Service.objects.filter(administration=administration, is_active=True).order_by("code")
    field.label_from_instance = named_with_code  # type: ignore[method-assign]


def procedures_field(field: forms.Field, administration: Administration, *, only_open: bool) -> None:
    """Offer the administration's procedures in ``field``, as "code — name"."""
    from workflow.models import Procedure

    assert isinstance(field, forms.ModelChoiceField)
    procedures = Procedure.objects.filter(administration=administration)
    field.queryset = (procedures.filter(is_active=True) if only_open else procedures).order_by("code")
    field.label_from_instance = procedure_label  # type: ignore[method-assign,assignment]


def procedure_label(procedure: Any) -> str:
    return f"{procedure.code} — {procedure.name}"


class CounterRegistrationForm(AccessibleForm):
    direction = forms.ChoiceField(label=_("Register"), choices=Direction.choices, initial=Direction.INCOMING)
    # The sender of incoming mail, the addressee of outgoing mail.
    sender_kind = forms.ChoiceField(
        label=_("Sender kind (or addressee kind, for outgoing mail)"),
        choices=SenderKind.choices,
        initial=SenderKind.PERSON,
    )
    sender_name = forms.CharField(label=_("Sender (or addressee, for outgoing mail)"), max_length=200)
    sender_identifier = forms.CharField(label=_("CIN or ICE (optional)"), max_length=20, required=False)
    sender_email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        help_text=_("The receipt of incoming mail is e-mailed to this address."),
    )
    sender_address = forms.CharField(label=_("Postal address (optional)"), max_length=300, required=False)
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False, empty_label=_("Not known yet")
    )
    procedure = forms.ModelChoiceField(
        label=_("Procedure (incoming requests)"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("None (general delay of 60 days)"),
        help_text=_("Sets the legal delay and the silence rule printed on the receipt."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("Summary or text"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attachments = CheckedFilesField(label=_("Scanned documents"), help_text=_("PDF, JPEG, PNG or TIFF."))
    assemble = forms.BooleanField(
        label=_("Put the scanned pictures together into one PDF, in the order chosen"), required=False, initial=True
    )
    confidential = forms.BooleanField(label=_("Confidential"), required=False)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_field(self.fields["service"], administration)
        procedures_field(self.fields["procedure"], administration, only_open=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        assemble_scans(self, data)
        return data


def assemble_scans(form: forms.Form, data: dict[str, Any]) -> None:
    """Replace the pictures among ``data["attachments"]`` by one PDF of them (when the form's
    ``assemble`` box is ticked); an error on the attachments field if they cannot be."""
    files = data.get("attachments")
    if not files or not data.get("assemble", True):
        return
    try:
        data["attachments"] = pictures_assembled(files)
    except FileRejected as rejected:
        form.add_error("attachments", rejected.message)


class CounterBatchLetterForm(AccessibleForm):
    """One letter of a batch registered at the counter: who sent it, about what, its scan."""

    sender_name = forms.CharField(label=_("Sender"), max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    attachments = CheckedFilesField(label=_("Scan"), help_text=_("PDF, JPEG, PNG or TIFF."))
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False, empty_label=_("Not known yet")
    )

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_field(self.fields["service"], administration)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "attachments" in data and not data["attachments"]:
            self.add_error("attachments", _("Add the scan of the letter."))
        assemble_scans(self, data)
        return data


class RegisterFilterForm(AccessibleForm):
    number = forms.CharField(label=_("Number"), required=False, max_length=40)
    sender = forms.CharField(label=_("Sender or addressee"), required=False, max_length=100)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=100)
    date_from = BoundedDateField(label=_("From"), required=False)
    date_to = BoundedDateField(label=_("To"), required=False)


class OneLineNamesMixin:
    """A service's names and location on one line (core.text.one_line: a hostile POST's line
    breaks and controls would reach e-mails and pages that show a name on one line), and a name
    of nothing visible (only directional or zero-width characters) refused as an empty one."""

    ONE_LINE = ("name_ar", "name_fr", "name_zgh", "location")
    cleaned_data: dict[str, Any]

    def _clean_one_line(self, name: str) -> str:
        value = one_line(str(self.cleaned_data.get(name) or ""))
        if value and not any(unicodedata.category(char)[0] not in "CZ" for char in value):
            value = ""
        field = self.fields[name]  # type: ignore[attr-defined]
        if not value and field.required:
            raise forms.ValidationError(field.error_messages["required"], code="required")
        return value

    def clean_name_ar(self) -> str:
        return self._clean_one_line("name_ar")

    def clean_name_fr(self) -> str:
        return self._clean_one_line("name_fr")

    def clean_name_zgh(self) -> str:
        return self._clean_one_line("name_zgh")

    def clean_location(self) -> str:
        return self._clean_one_line("location")


class ServiceNamesForm(OneLineNamesMixin, AccessibleForm):
    """A service's names and location (its code and place in the tree do not change here)."""

    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200, widget=forms.TextInput(attrs={"dir": "rtl"}))
    name_fr = forms.CharField(label=_("Name in French"), max_length=200, widget=forms.TextInput(attrs={"dir": "ltr"}))
    name_zgh = forms.CharField(
        label=_("Name in Amazigh (Tifinagh)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    location = forms.CharField(
        label=_("Location"), max_length=120, required=False, widget=forms.TextInput(attrs={"dir": "auto"})
    )


class ServiceForm(ServiceNamesForm):
    """A new service: its code, kind and place in the tree, with the names and location."""

    field_order = ["code", "name_ar", "name_fr", "name_zgh", "kind", "location", "parent"]

    code = forms.RegexField(
        label=_("Code"), regex=r"^[A-Z0-9][A-Z0-9-]{1,39}$", help_text=_("Capital letters, digits and dashes.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Service.Kind.choices)
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


# ---------------------------------------------------------------- processing desk


class AssignForm(AccessibleForm):
    service = forms.ModelChoiceField(label=_("Service in charge"), queryset=Service.objects.none())
    copies = forms.ModelMultipleChoiceField(
        label=_("In copy, for information"), queryset=Service.objects.none(), required=False
    )
    note = forms.CharField(label=_("Instruction (optional)"), required=False, max_length=2000)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_field(self.fields["service"], administration)
        services_field(self.fields["copies"], administration)


class IdsField(forms.TypedMultipleChoiceField):
    """Ids of records chosen in a list; each is checked by the service that acts on it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, choices=(), **kwargs)

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit()


class BulkAssignForm(AccessibleForm):
    service = ObjectChoiceField(label=_("Assign the selected mail to"))
    cases = IdsField(label=_("Correspondence"), error_messages={"required": _("Select the mail to assign.")})

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any) -> None:
        """``services``: the administration's active services (``Scope.active_services``)."""
        super().__init__(*args, **kwargs)
        field = self.fields["service"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(services, named_with_code)


class ReasonForm(AccessibleForm):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(AccessibleForm):
    text = forms.CharField(label=_("Internal note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AgentForm(AccessibleForm):
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=Membership.objects.none())

    def __init__(self, *args: Any, candidates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from tenancy.models import User

        field = self.fields["agent"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in candidates]).order_by("full_name")
        field.label_from_instance = lambda obj: str(obj.full_name or obj.email)  # type: ignore[method-assign]


class CatalogueDocumentsField(forms.TypedMultipleChoiceField):
    """The documents a completion request may name: those offered (``choices``), and also the
    ones of the catalogue that another administration holds (``held``), which are never offered.
    Sent anyway (a crafted post), they reach the service, which refuses them with the reason
    (law 55-19) instead of Django's bare "not one of the available choices"."""

    held: frozenset[str] = frozenset()

    def valid_value(self, value: Any) -> bool:
        return str(value) in self.held or super().valid_value(value)


class CompletionForm(AccessibleForm):
    documents = CatalogueDocumentsField(
        label=_("Missing documents"), coerce=int, widget=forms.CheckboxSelectMultiple, choices=()
    )
    template = ObjectChoiceField(
        label=_("Letter template (optional)"),
        required=False,
        empty_label=_("None"),
        help_text=_("Its text is the letter's when you leave both messages empty."),
    )
    body_ar = forms.CharField(
        label=_("Message in Arabic (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3, "dir": "rtl"})
    )
    body_fr = forms.CharField(
        label=_("Message in French (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"})
    )

    def __init__(self, *args: Any, documents: list[Any], templates: Sequence[Any] = (), **kwargs: Any) -> None:
        """``documents``: the procedure's catalogue; only those the person may be asked for are
        offered (a document another administration holds is asked of that administration).
        ``templates``: the administration's active letter templates, to start the letter from."""
        super().__init__(*args, **kwargs)
        chooser = self.fields["template"]
        assert isinstance(chooser, ObjectChoiceField)
        chooser.set_objects(templates, lambda template: str(template.name))
        if not templates:
            del self.fields["template"]
        field = self.fields["documents"]
        assert isinstance(field, CatalogueDocumentsField)
        field.choices = [(d.pk, f"{d.name_ar} / {d.name_fr}") for d in documents if not d.held_elsewhere]
        field.held = frozenset(str(d.pk) for d in documents if d.held_elsewhere)

    @property
    def offers_documents(self) -> bool:
        return bool(self.fields["documents"].choices)  # type: ignore[attr-defined]


class ReplyForm(AccessibleForm):
    template = forms.ModelChoiceField(label=_("Letter template"), queryset=Service.objects.none(), required=False)
    body_ar = forms.CharField(
        label=_("Text in Arabic"), required=False, widget=forms.Textarea(attrs={"rows": 8, "dir": "rtl"})
    )
    body_fr = forms.CharField(
        label=_("Text in French"), required=False, widget=forms.Textarea(attrs={"rows": 8, "dir": "ltr"})
    )
    recourse_ar = forms.CharField(
        label=_("Route of recourse, in Arabic (rejections)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "rtl"}),
    )
    recourse_fr = forms.CharField(
        label=_("Route of recourse, in French (rejections)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "ltr"}),
    )
    attachment = CheckedFilesField(
        label=_("Attach a PDF (optional)"), required=False, help_text=_("It is sealed with the letter.")
    )
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("answer", _("Answer")), ("reject", _("Rejection"))],
        initial="answer",
        widget=forms.RadioSelect,
    )

    circuit = ObjectChoiceField(
        label=_("Or send it first through a circuit of visas and signatures"),
        required=False,
        empty_label=_("No: register, seal and send now"),
        help_text=_("The letter is registered and sealed with its number when the circuit completes."),
    )

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from parapheur.models import Circuit
        from workflow.models import LetterTemplate

        circuits = self.fields["circuit"]
        assert isinstance(circuits, ObjectChoiceField)
        circuits.set_objects(
            Circuit.objects.filter(administration=administration, is_active=True).order_by("code"), str
        )
        field = self.fields["template"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = LetterTemplate.objects.filter(administration=administration, is_active=True).order_by("name")
        field.label_from_instance = lambda obj: str(obj.name)  # type: ignore[method-assign]

    def clean_attachment(self) -> Any:
        files = self.cleaned_data.get("attachment") or []
        if len(files) > 1:
            raise forms.ValidationError(_("Attach one PDF file."))
        if files and files[0].content_type != "application/pdf":
            raise forms.ValidationError(_("Only a PDF file can be sealed with the letter."))
        return files[0] if files else None


class InboxFilterForm(AccessibleForm):
    service = ObjectChoiceField(label=_("Service"), required=False)
    procedure = ObjectChoiceField(label=_("Procedure"), required=False)
    mine = forms.BooleanField(label=_("Only mine"), required=False)
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        widget=QuickSelect,
        choices=[
            ("due", _("Due date, soonest first")),
            ("-due", _("Due date, latest first")),
            ("-registered", _("Newest first")),
            ("registered", _("Oldest first")),
        ],
    )

    def __init__(self, *args: Any, services: list[Service], procedures: list[Any], **kwargs: Any) -> None:
        """``services`` and ``procedures``: the administration's, already loaded."""
        super().__init__(*args, **kwargs)
        for name, objects, label in (
            ("service", services, named_with_code),
            ("procedure", procedures, procedure_label),
        ):
            field = self.fields[name]
            assert isinstance(field, ObjectChoiceField)
            field.set_objects(objects, label)


class InternalNoteForm(AccessibleForm):
    from_service = forms.ModelChoiceField(label=_("From the service"), queryset=Service.objects.none())
    to_service = forms.ModelChoiceField(label=_("To the service"), queryset=Service.objects.none())
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body_ar = forms.CharField(
        label=_("Text in Arabic"), required=False, widget=forms.Textarea(attrs={"rows": 6, "dir": "rtl"})
    )
    body_fr = forms.CharField(
        label=_("Text in French"), required=False, widget=forms.Textarea(attrs={"rows": 6, "dir": "ltr"})
    )

    def __init__(self, *args: Any, administration: Administration, own: list[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_field(self.fields["from_service"], administration)
        services_field(self.fields["to_service"], administration)
        if own is not None:
            field = self.fields["from_service"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Service.objects.filter(administration=administration, is_active=True, pk__in=own)


class RegisterImportForm(AccessibleForm):
    direction = forms.ChoiceField(label=_("Register"), choices=Direction.choices, initial=Direction.INCOMING)
    table = forms.FileField(
        label=_("Former register (CSV or XLSX)"),
        help_text=_(
            "First line: the column names — number, date, sender, subject, and optionally service and files "
            "(paths under your administration's import folder, separated by |). French and Arabic names are "
            "understood too."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    dry_run = forms.BooleanField(label=_("Check only (dry run): import nothing"), required=False, initial=True)

    def clean_table(self) -> bytes:
        upload = self.cleaned_data["table"]
        if upload.size > settings.MAX_DEPOSIT_SIZE:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s.") % {"limit": filesizeformat(settings.MAX_DEPOSIT_SIZE)}
            )
        data: bytes = upload.read()
        if not data.strip():
            raise forms.ValidationError(_("The file is empty."))
        if data[:4] != b"PK\x03\x04" and b"\x00" in data[:4096]:
            raise forms.ValidationError(_("The file is not a CSV or XLSX table."))
        return data
