"""Registers are read-only everywhere, the admin included: they change only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.languages import in_language
from registry.models import Correspondence, RegisterCheckpoint


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Correspondence)
class CorrespondenceAdmin(ReadOnlyAdmin):
    list_display = ["number", "administration", "direction", "channel", "registered_at", "correspondent"]
    list_filter = ["direction", "channel", "administration"]
    search_fields = ["number", "sender_name", "addressee_name", "subject"]
    date_hierarchy = "registered_at"
    readonly_fields = ["stated_terms"]

    @admin.display(description=_("Sender / addressee"))
    def correspondent(self, obj: Correspondence) -> str:
        return obj.correspondent_name

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The receipt's terms read as the receipt states them, not as their stored JSON (English
        # keys and values, in braces that an Arabic page reorders).
        fields: list[str] = []
        for name in super().get_fields(request, obj):
            shown = "stated_terms" if name == "terms" else str(name)
            if shown not in fields:
                fields.append(shown)
        return fields

    @admin.display(description=_("terms stated on the receipt"))
    def stated_terms(self, obj: Correspondence) -> str:
        from workflow.models import SilenceRule, delay_text

        terms = obj.terms or {}
        if not terms:
            return "-"
        code = str(terms.get("procedure_code", ""))
        name = in_language(str(terms.get("procedure_name_ar", "")), str(terms.get("procedure_name_fr", "")))
        procedure = (
            format_html('<bdi>{}</bdi> (<bdi dir="ltr">{}</bdi>)', name, code)
            if code
            else gettext("None named (general delay of law 55-19)")
        )
        rows = [(gettext("Procedure"), procedure)]
        if isinstance(terms.get("delay_days"), int):
            rows.append((gettext("Maximum delay"), delay_text(terms["delay_days"], str(terms.get("delay_kind", "")))))
        if terms.get("due_on"):
            rows.append((gettext("Due on"), format_html('<bdi dir="ltr">{}</bdi>', terms["due_on"])))
        if terms.get("silence_rule") in SilenceRule.values:
            rows.append((gettext("Silence rule"), str(SilenceRule(terms["silence_rule"]).label)))
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))


@admin.register(RegisterCheckpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["administration", "position", "head_hash", "created_at", "reason"]
    list_filter = ["administration", "reason"]
