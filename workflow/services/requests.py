"""Registering an incoming request and opening its case: terms on the receipt, first routing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Model

from audit.models import AuditAction, AuditEvent
from audit.services import audit_event
from core.rows import Ids
from core.text import one_line, plain_text
from documents.intake import CheckedFile
from registry.idempotency import Idempotency
from registry.models import Correspondence
from registry.services import Follows, Party, Registration, correspondence_register
from tenancy.models import Administration, Service, User
from workflow.calendar import BusinessCalendar, local_date
from workflow.models import (
    Case,
    CaseEvent,
    Procedure,
    Reply,
    RoutingRule,
)
from workflow.selectors import calendar_for
from workflow.services.base import (
    Kind,
    Terms,
    _schedule_reminders,
    case_first_status,
    procedure_for_deposit,
)


def _match_rule(
    administration: Administration, procedure: Procedure | None, subject: str, body: str
) -> RoutingRule | None:
    text = f"{subject}\n{body}".casefold()
    for rule in RoutingRule.objects.filter(administration=administration, is_active=True).select_related("service"):
        if not rule.service.is_active:
            continue
        if rule.procedure_id is not None:
            if procedure is not None and rule.procedure_id == procedure.pk:
                return rule
            continue
        if any(keyword.casefold() in text for keyword in rule.keyword_list()):
            return rule
    return None


def request_register(
    *,
    actor: User | None,
    administration: Administration | None,
    channel: str,
    sender: Party,
    subject: str,
    body: str = "",
    files: Sequence[CheckedFile] = (),
    procedure_code: str = "",
    recipient_service: Service | None = None,
    confidential: bool = False,
    idempotency: Idempotency | None = None,
    in_reply_to: Correspondence | None = None,
) -> Registration:
    """Register an incoming request and open its case: due date, first routing.

    The receipt states the procedure, the due date and the silence rule. A request names a
    procedure of the administration's catalogue or none (then the general delay of law
    55-19 applies: 60 days). A letter from an administration (the exchange, an internal
    note, counter mail whose sender is an administration) that names no procedure has no
    legal delay: no due date, no reminders, never late (:meth:`Terms.of`). A service chosen
    at the counter, a routing rule or the procedure's handling service assigns it at once.
    """
    procedure = procedure_for_deposit(administration, procedure_code) if administration and procedure_code else None
    terms = Terms.of(procedure, sender_kind=sender.kind)
    calendar = calendar_for(administration) if administration is not None else BusinessCalendar()

    def due_on(registered_at: datetime) -> date | None:
        if terms.delay_days is None:
            return None
        return calendar.due_date(local_date(registered_at), terms.delay_days, terms.delay_kind)

    def terms_for(registered_at: datetime) -> dict[str, Any]:
        return terms.receipt_terms(due_on(registered_at))

    # Routing is decided before the registration's transaction: it needs no number, and the
    # register's lock is held only for what does.
    rule = (
        _match_rule(administration, procedure, one_line(subject), plain_text(body).strip())
        if recipient_service is None and administration is not None
        else None
    )

    # Who takes the case is known before the registration, so its rows can be counted (their
    # keys are taken before the register's lock).
    service, how = recipient_service, Kind.ASSIGNED
    if service is None:
        if rule is not None:
            service, how = rule.service, Kind.ROUTED
        elif procedure is not None and procedure.service is not None and procedure.service.is_active:
            service, how = procedure.service, Kind.ROUTED
    by_hand = how == Kind.ASSIGNED

    def open_case(registration: Registration, ids: Ids) -> list[Model]:
        correspondence = registration.correspondence
        assert administration is not None
        case = Case(  # its primary key is its correspondence's
            correspondence=correspondence,
            administration=administration,
            procedure=procedure,
            status=case_first_status(service),
            service=service,
            registered_on=local_date(correspondence.registered_at),
            delay_days=terms.delay_days,
            delay_kind=terms.delay_kind,
            silence_rule=terms.silence_rule,
            due_on=date.fromisoformat(correspondence.terms["due_on"]) if correspondence.terms else None,
            updated_at=correspondence.registered_at,
            confidential=correspondence.confidential,
        )
        _schedule_reminders(case, calendar)
        # A new case has no letters: say so, so that reading them costs no query.
        case._prefetched_objects_cache = {"replies": Reply.objects.none()}  # type: ignore[attr-defined]
        correspondence.case = case
        rows: list[Model] = [
            case,
            CaseEvent(
                pk=ids.take(CaseEvent), case=case, at=correspondence.registered_at, kind=Kind.REGISTERED, public=True
            ),
        ]
        if service is not None:
            rows.append(
                CaseEvent(
                    pk=ids.take(CaseEvent),
                    case=case,
                    at=correspondence.registered_at,
                    kind=how,
                    actor=actor if by_hand and actor is not None and actor.is_authenticated else None,
                    service=service,
                    public=True,
                )
            )
            assigned = audit_event(
                actor=actor if by_hand else None,
                action=AuditAction.CASE_ASSIGNED,
                obj=case,
                administration=administration,
                data={"number": correspondence.number, "service": service.code, "by_rule": not by_hand},
            )
            assigned.pk = ids.take(AuditEvent)
            rows.append(assigned)
        return rows

    assigned_now = int(service is not None)  # its line in the timeline and its audit event
    keys: list[tuple[type[Model], int]] = [(CaseEvent, 1 + assigned_now), (AuditEvent, assigned_now)]
    return correspondence_register(
        actor=actor,
        administration=administration,
        channel=channel,
        sender=sender,
        subject=subject,
        body=body,
        files=files,
        recipient_service=recipient_service,
        confidential=confidential,
        idempotency=idempotency,
        in_reply_to=in_reply_to,
        terms_for=terms_for,
        follows=Follows(keys=keys, rows=open_case),
    )
