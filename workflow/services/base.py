"""What every desk action shares: refusals, the lifecycle table, the calendar and deposit terms,
the case lock, timeline events and the checks of who may act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.clock import now
from core.errors import Refused
from core.text import plain_text
from registry.models import SenderKind
from registry.services import (
    RegistrationRefused,
)
from tenancy.access import Scope, scope_of
from tenancy.models import Administration, Service, User
from tenancy.permissions import Action
from workflow.calendar import BusinessCalendar
from workflow.models import (
    DEFAULT_DELAY_DAYS,
    Case,
    CaseEvent,
    DelayKind,
    Notification,
    Procedure,
    SilenceRule,
    Status,
)
from workflow.reminders import next_reminder, sent_points
from workflow.tasks import case_event_email_task

Kind = CaseEvent.Kind


REASON_MAX = 2000


BODY_MAX = 20000


class ActionRefused(Refused):
    """The desk action cannot be done."""


def _not_found() -> ActionRefused:
    return ActionRefused("not_found", _("This correspondence does not exist."), status=404)


def _not_allowed() -> ActionRefused:
    return ActionRefused("forbidden", _("You may not do this on this correspondence."), status=403)


TRANSITIONS: dict[str, dict[str, str]] = {
    "assign": {
        Status.REGISTERED: Status.ASSIGNED,
        Status.ASSIGNED: Status.ASSIGNED,
        Status.IN_PROGRESS: Status.ASSIGNED,
    },
    "send_back": {Status.ASSIGNED: Status.REGISTERED, Status.IN_PROGRESS: Status.REGISTERED},
    "assign_agent": {Status.ASSIGNED: Status.ASSIGNED, Status.IN_PROGRESS: Status.IN_PROGRESS},
    "start": {Status.ASSIGNED: Status.IN_PROGRESS},
    "request_completion": {Status.ASSIGNED: Status.AWAITING_COMPLETION, Status.IN_PROGRESS: Status.AWAITING_COMPLETION},
    "complete": {Status.AWAITING_COMPLETION: Status.IN_PROGRESS},
    "answer": {Status.ASSIGNED: Status.ANSWERED, Status.IN_PROGRESS: Status.ANSWERED},
    "reject": {
        Status.ASSIGNED: Status.REJECTED,
        Status.IN_PROGRESS: Status.REJECTED,
        Status.AWAITING_COMPLETION: Status.REJECTED,
    },
    "close": {Status.ANSWERED: Status.CLOSED},
}


def next_status(status: str, action: str) -> str:
    """The status after ``action``, or :class:`ActionRefused` when the lifecycle forbids it."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise ActionRefused(
            "forbidden_transition",
            _("This cannot be done on a correspondence that is %(status)s.") % {"status": Status(status).label.lower()},
            status=409,
        )
    return allowed[status]


# Every move the lifecycle allows, from → to (whatever the action that makes it).
ALLOWED_MOVES: frozenset[tuple[str, str]] = frozenset(
    (before, after) for moves in TRANSITIONS.values() for before, after in moves.items()
)


def case_move(case: Case, action: str) -> str:
    """Move ``case`` to the status after ``action`` and return it: the one place a case's status
    is written once the case exists (the caller holds the case's lock and saves it). Refused
    (:class:`ActionRefused`, 409 ``forbidden_transition``) when the lifecycle does not allow it
    from the case's status; nothing is changed then."""
    case.status = after = next_status(case.status, action)
    return after


def case_first_status(service: Service | None) -> str:
    """The status a case opens with: assigned when a service takes it at once, else registered."""
    return Status.ASSIGNED if service is not None else Status.REGISTERED


def action_allowed(case: Case, action: str) -> bool:
    return case.status in TRANSITIONS[action]


@dataclass(frozen=True)
class Terms:
    """What the receipt promises about an incoming letter: its legal delay (none for a letter
    from an administration) and what silence means."""

    delay_days: int | None
    delay_kind: str
    silence_rule: str
    procedure: Procedure | None = None

    @classmethod
    def of(cls, procedure: Procedure | None, *, sender_kind: str = "") -> Terms:
        """A named procedure's published terms; otherwise the general delay of law 55-19 (60
        days) for a user's request, and no delay for a letter from an administration: 55-19's
        delays are owed to users, not to other administrations. (An administration that deposits
        a request under a procedure of the catalogue gets that procedure's terms.)"""
        if procedure is not None:
            return cls(procedure.delay_days, procedure.delay_kind, procedure.silence_rule, procedure)
        if sender_kind == SenderKind.ADMINISTRATION:
            return cls(None, "", SilenceRule.NONE)
        return cls(DEFAULT_DELAY_DAYS, DelayKind.CALENDAR, SilenceRule.NONE)

    @property
    def has_delay(self) -> bool:
        return self.delay_days is not None

    def receipt_terms(self, due_on: date | None) -> dict[str, Any]:
        """The terms the receipt states; none at all (no terms on the receipt) without a delay."""
        if due_on is None or not self.has_delay:
            return {}
        p = self.procedure
        return {
            "procedure_code": p.code if p else "",
            "procedure_name_ar": p.name_ar if p else "",
            "procedure_name_fr": p.name_fr if p else "",
            "delay_days": self.delay_days,
            "delay_kind": self.delay_kind,
            "due_on": due_on.isoformat(),
            "silence_rule": self.silence_rule,
        }


def procedure_for_deposit(administration: Administration, code: str) -> Procedure | None:
    """The open procedure ``code`` of ``administration``; None for no code; refused if unknown."""
    code = code.strip().upper()
    if not code:
        return None
    procedure = Procedure.objects.filter(administration=administration, code=code, is_active=True).first()
    if procedure is None:
        raise RegistrationRefused(
            "unknown_procedure", _("This administration has no open procedure with this code."), field="procedure"
        )
    return procedure


def _event(
    case: Case,
    kind: str,
    actor: User | None,
    *,
    at: datetime | None = None,
    service: Service | None = None,
    public: bool = False,
    text: str = "",
    data: dict[str, Any] | None = None,
    tell: bool = True,
) -> CaseEvent:
    """A timeline line; a public one is also told to the depositor, unless ``tell`` is False
    (at registration, the receipt and its e-mail already say it)."""
    event = CaseEvent.objects.create(
        case=case,
        at=at or now(),
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        service=service,
        public=public,
        text=text,
        data=data or {},
    )
    if public and tell:
        _tell_depositor(case, event)
    return event


def _tell_depositor(case: Case, event: CaseEvent) -> None:
    """A public change: a notification in the depositor's space and an e-mail (a task)."""
    correspondence = case.correspondence
    account = correspondence.sender_account
    if account is not None:
        with translation.override(account.language):
            text = _("%(number)s: %(event)s") % {
                "number": correspondence.number,
                "event": CaseEvent.Kind(event.kind).label,
            }
        Notification.objects.create(
            user=account,
            created_at=event.at,
            text=text[:300],
            url=reverse("portal:deposit_detail", args=[correspondence.pk]),
        )
    if correspondence.sender_email:
        case_event_email_task.enqueue(event_id=event.pk)


def _locked_case(case_id: int) -> Case:
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("correspondence__administration", "correspondence__sender_account", "service", "procedure")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise _not_found()
    return case


def _scope(actor: User, case: Case) -> Scope:
    scope = scope_of(actor, case.administration)
    if not scope.may(Action.READ):
        raise _not_found()
    return scope


def _service_of(administration: Administration, service: Service | None, field: str = "service") -> Service:
    if service is None or service.administration_id != administration.pk or not service.is_active:
        raise ActionRefused("unknown_service", _("Choose a service of this administration."), field=field)
    return service


def _touch(case: Case, *fields: str) -> None:
    case.updated_at = now()
    case.save(update_fields=[*fields, "updated_at"])


def _reason(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise ActionRefused("reason_required", _("Give the reason."), field=field)
    if len(reason) > REASON_MAX:
        raise ActionRefused("reason_too_long", _("The reason is too long."), field=field)
    return reason


# Who may take each step on a case (the lifecycle decides when). The services check these, and
# the pages ask them which actions to offer.


def may_route(scope: Scope, case: Case) -> bool:
    """Assign or reassign: the mail office, or a head of the service holding the case."""
    return scope.may(Action.ROUTE) or scope.supervises_service(case.service_id)


def may_return(scope: Scope, case: Case) -> bool:
    """Send back to the mail office, close: the mail office or the service holding the case."""
    return scope.may(Action.ROUTE) or scope.handles_service(case.service_id)


def may_give_to_agent(scope: Scope, case: Case) -> bool:
    return scope.supervises_service(case.service_id)


def may_handle(scope: Scope, case: Case) -> bool:
    """Act on the substance: the agent in charge, a head of the service, or a member of the
    service while no agent has it."""
    if case.agent_id == scope.user.pk or scope.supervises_service(case.service_id):
        return True
    return scope.handles_service(case.service_id) and case.agent_id is None


def may_note(scope: Scope, case: Case) -> bool:
    return may_return(scope, case) or case.agent_id == scope.user.pk


def offered_actions(scope: Scope, case: Case) -> dict[str, bool]:
    """The actions ``scope`` may take on ``case`` now, for the pages to offer."""
    handles = may_handle(scope, case)
    return {
        "assign": may_route(scope, case) and action_allowed(case, "assign"),
        "send_back": may_return(scope, case) and action_allowed(case, "send_back"),
        "assign_agent": may_give_to_agent(scope, case) and action_allowed(case, "assign_agent"),
        "start": handles and action_allowed(case, "start"),
        "request_completion": handles
        and not case.completion_requested
        and case.procedure_id is not None
        and action_allowed(case, "request_completion"),
        "reply": handles and action_allowed(case, "answer"),
        "close": may_return(scope, case) and action_allowed(case, "close"),
        "note": may_note(scope, case),
    }


def _handler_check(scope: Scope, case: Case, actor: User) -> None:
    if not may_handle(scope, case):
        raise _not_allowed()


@dataclass(frozen=True)
class LetterText:
    body_ar: str = ""
    body_fr: str = ""
    recourse_ar: str = ""
    recourse_fr: str = ""

    def __post_init__(self) -> None:
        # A letter typed in a browser arrives with CR LF line breaks: the letter shows each as
        # one line break (core.text).
        for field in ("body_ar", "body_fr", "recourse_ar", "recourse_fr"):
            object.__setattr__(self, field, plain_text(getattr(self, field)))


def _check_text(text: LetterText) -> None:
    for field in ("body_ar", "body_fr", "recourse_ar", "recourse_fr"):
        if len(getattr(text, field)) > BODY_MAX:
            raise ActionRefused("text_too_long", _("The text is too long."), field=field)


def _schedule_reminders(case: Case, calendar: BusinessCalendar, *, after: date | None = None) -> None:
    point = next_reminder(case, calendar, sent=() if after is None else sent_points(case))
    case.remind_on, case.remind_point = (point[1], point[0]) if point else (None, "")
