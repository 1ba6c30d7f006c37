"""What a search asks, checked the same way for the desk's page and the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleForm, BoundedDateField
from registry.models import Direction
from search.selectors import Filters
from tenancy.access import Scope
from workflow.models import Procedure, Status

MAX_QUERY = 200


class SearchForm(AccessibleForm):
    q = forms.CharField(label=_("Words or registration number"), max_length=MAX_QUERY, required=False)
    register = forms.ChoiceField(
        label=_("Register"), choices=[("", _("Both registers")), *Direction.choices], required=False
    )
    date_from = BoundedDateField(label=_("Registered from"), required=False)
    date_to = BoundedDateField(label=_("to"), required=False)
    service = forms.ChoiceField(label=_("Service"), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status")), *Status.choices], required=False)
    procedure = forms.ChoiceField(label=_("Procedure"), required=False)
    sender = forms.CharField(label=_("Sender or addressee"), max_length=200, required=False)
    page = forms.IntegerField(min_value=1, max_value=50, required=False)

    def __init__(self, *args: Any, scope: Scope, procedures: list[Procedure], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self._services = {service.code: service for service in scope.services}
        self._procedures = {procedure.code: procedure for procedure in procedures}
        service_field = self.fields["service"]
        assert isinstance(service_field, forms.ChoiceField)
        service_field.choices = [("", _("Any service"))] + [
            (service.code, f"{service.code} — {service.name}") for service in scope.services
        ]
        procedure_field = self.fields["procedure"]
        assert isinstance(procedure_field, forms.ChoiceField)
        procedure_field.choices = [("", _("Any procedure"))] + [
            (procedure.code, f"{procedure.code} — {procedure.name}") for procedure in procedures
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        service = self._services.get(data.get("service") or "")
        procedure = self._procedures.get(data.get("procedure") or "")
        return Filters(
            direction=data.get("register") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            service_id=service.pk if service else None,
            status=data.get("status") or "",
            procedure_id=procedure.pk if procedure else None,
            sender=data.get("sender") or "",
        )

    @property
    def asked(self) -> bool:
        """Whether anything was asked (an empty form shows no results, not the whole register)."""
        data = self.cleaned_data
        return any(
            data.get(name)
            for name in ("q", "register", "date_from", "date_to", "service", "status", "procedure", "sender")
        )
