"""Changes to an administration's catalogue, calendar, routing rules and letter templates.

Each function is the one way to make its change, by an administration admin, audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from tenancy.models import Administration, Service, User
from workflow.letters import check_template_text
from workflow.models import CalendarDay, LetterTemplate, Procedure, ProcedureDocument, RoutingRule


@dataclass(frozen=True)
class DocumentLine:
    name_ar: str
    name_fr: str
    held_by_code: str = ""
    held_by_name: str = ""
    held_document_code: str = ""


PROCEDURE_FIELDS = (
    "code",
    "name_ar",
    "name_fr",
    "name_zgh",
    "legal_basis",
    "is_investment",
    "delay_days",
    "delay_kind",
    "silence_rule",
    "fee",
    "service",
    "is_active",
)


def procedure_save(
    *,
    actor: User | None,
    administration: Administration,
    procedure: Procedure | None,
    values: dict[str, Any],
    documents: list[DocumentLine],
) -> Procedure:
    """Create or update a procedure and replace its list of documents.

    Requests already deposited keep the terms their receipt states. ``actor`` is None for an
    operator's command (the starter catalogue loaded from the command line).
    """
    with transaction.atomic():
        if procedure is None:
            procedure = Procedure(administration=administration)
        for name in PROCEDURE_FIELDS:
            if name in values:
                setattr(procedure, name, values[name])
        if procedure.fee is None:
            procedure.fee = Decimal("0")
        procedure.full_clean()
        procedure.save()
        procedure.documents.all().delete()
        ProcedureDocument.objects.bulk_create(
            [
                ProcedureDocument(
                    procedure=procedure,
                    position=i,
                    name_ar=d.name_ar.strip(),
                    name_fr=d.name_fr.strip(),
                    held_by_code=d.held_by_code.strip().upper(),
                    held_by_name=d.held_by_name.strip(),
                    held_document_code=d.held_document_code.strip().upper(),
                )
                for i, d in enumerate(documents, start=1)
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.PROCEDURE_SAVED,
            obj=procedure,
            administration=administration,
            data={"code": procedure.code, "delay": procedure.delay_days, "documents": len(documents)},
        )
    return procedure


def calendar_day_set(
    *, actor: User, administration: Administration, day: date, is_working: bool, label: str
) -> CalendarDay:
    with transaction.atomic():
        entry, _ = CalendarDay.objects.update_or_create(
            administration=administration, day=day, defaults={"is_working": is_working, "label": label.strip()}
        )
        audit_record(
            actor=actor,
            action=AuditAction.CALENDAR_CHANGED,
            obj=entry,
            administration=administration,
            data={"day": day.isoformat(), "working": is_working, "label": label},
        )
    return entry


def calendar_day_delete(*, actor: User, entry: CalendarDay) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.CALENDAR_RESET,
            obj=entry,
            administration=entry.administration,
            data={"day": entry.day.isoformat()},
        )
        entry.delete()


def routing_rule_add(
    *,
    actor: User | None,
    administration: Administration,
    service: Service,
    procedure: Procedure | None,
    keywords: str,
    position: int,
) -> RoutingRule:
    with transaction.atomic():
        rule = RoutingRule.objects.create(
            administration=administration,
            service=service,
            procedure=procedure,
            keywords=keywords.strip(),
            position=position,
        )
        audit_record(
            actor=actor,
            action=AuditAction.ROUTING_RULE_ADDED,
            obj=rule,
            administration=administration,
            data={"service": service.code, "procedure": procedure.code if procedure else "", "keywords": keywords},
        )
    return rule


def routing_rule_delete(*, actor: User, rule: RoutingRule) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.ROUTING_RULE_DELETED, obj=rule, administration=rule.administration)
        rule.delete()


TEMPLATE_FIELDS = ("code", "name", "body_ar", "body_fr", "recourse_ar", "recourse_fr", "is_active")
TEMPLATE_TEXTS = ("body_ar", "body_fr", "recourse_ar", "recourse_fr")


def letter_template_save(
    *, actor: User | None, administration: Administration, template: LetterTemplate | None, values: dict[str, Any]
) -> LetterTemplate:
    """Create or update a letter template. Raises TemplateTextError, changing nothing, when a
    text is not text with the list's variables only (the form shows the same message first)."""
    for name in TEMPLATE_TEXTS:
        if name in values:
            check_template_text(str(values[name]))
    with transaction.atomic():
        if template is None:
            template = LetterTemplate(administration=administration)
        for name in TEMPLATE_FIELDS:
            if name in values:
                setattr(template, name, values[name])
        template.save()
        audit_record(
            actor=actor,
            action=AuditAction.LETTER_TEMPLATE_SAVED,
            obj=template,
            administration=administration,
            data={"code": template.code},
        )
    return template
