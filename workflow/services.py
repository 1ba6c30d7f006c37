"""The processing desk's state changes: each one a named function with an explicit actor.

Every function here checks the actor's rights (:mod:`workflow.access`), locks the case,
checks the lifecycle (:func:`next_status`), makes the change, writes a timeline event and
an audit event, all in one transaction; e-mails go out as tasks committed with it. A refused
action raises :class:`ActionRefused` and changes nothing.

Lifecycle of a case::

    registered → assigned → in progress → answered → closed
                    ↑   ↘        ↕ (once)
                    │    awaiting completion
    (sent back)     └── rejected (from assigned, in progress or awaiting completion)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.clock import now
from core.errors import Refused
from documents.intake import CheckedFile
from registry.models import Channel, Correspondence, Direction, SealedDocument
from registry.services import (
    Idempotency,
    Registration,
    RegistrationRefused,
    Sender,
    correspondence_register,
    new_verification_token,
    sealed_document_record,
)
from tenancy.models import Administration, Membership, Service, User
from workflow import letters
from workflow.access import Scope, scope_of
from workflow.calendar import LOCAL_ZONE, BusinessCalendar, local_date
from workflow.models import (
    DEFAULT_DELAY_DAYS,
    RUNNING_STATUSES,
    CalendarDay,
    Case,
    CaseCopy,
    CaseEvent,
    DelayKind,
    LetterTemplate,
    Notification,
    Procedure,
    Reply,
    RoutingRule,
    SilenceRule,
    Status,
)

Role = Membership.Role
Kind = CaseEvent.Kind
REASON_MAX = 2000
BODY_MAX = 20000


class ActionRefused(Refused):
    """The desk action cannot be done."""


def _not_found() -> ActionRefused:
    return ActionRefused("not_found", _("This correspondence does not exist."), status=404)


def _not_allowed() -> ActionRefused:
    return ActionRefused("forbidden", _("You may not do this on this correspondence."), status=403)


# ---------------------------------------------------------------- lifecycle

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


def action_allowed(case: Case, action: str) -> bool:
    return case.status in TRANSITIONS[action]


# ---------------------------------------------------------------- calendar and terms


def calendar_for(administration: Administration) -> BusinessCalendar:
    days = list(CalendarDay.objects.filter(administration=administration).values_list("day", "is_working"))
    return BusinessCalendar(
        extra_days_off=frozenset(d for d, working in days if not working),
        extra_working_days=frozenset(d for d, working in days if working),
    )


@dataclass(frozen=True)
class Terms:
    delay_days: int
    delay_kind: str
    silence_rule: str
    procedure: Procedure | None = None

    @classmethod
    def of(cls, procedure: Procedure | None) -> Terms:
        if procedure is None:
            return cls(DEFAULT_DELAY_DAYS, DelayKind.CALENDAR, SilenceRule.NONE)
        return cls(procedure.delay_days, procedure.delay_kind, procedure.silence_rule, procedure)

    def receipt_terms(self, due_on: date) -> dict[str, Any]:
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


# ---------------------------------------------------------------- registration of requests


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
    from workflow.tasks import case_event_email_task

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
    sender: Sender,
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
    55-19 applies: 60 days). A service chosen at the counter, a routing rule or the
    procedure's handling service assigns it at once.
    """
    procedure = procedure_for_deposit(administration, procedure_code) if administration and procedure_code else None
    terms = Terms.of(procedure)
    calendar = calendar_for(administration) if administration is not None else BusinessCalendar()

    def terms_for(registered_at: datetime) -> dict[str, Any]:
        registered_on = local_date(registered_at)
        return terms.receipt_terms(calendar.due_date(registered_on, terms.delay_days, terms.delay_kind))

    def open_case(registration: Registration) -> None:
        correspondence = registration.correspondence
        assert administration is not None
        service, how = recipient_service, Kind.ASSIGNED
        if service is None:
            rule = _match_rule(administration, procedure, correspondence.subject, correspondence.body)
            if rule is not None:
                service, how = rule.service, Kind.ROUTED
            elif procedure is not None and procedure.service is not None and procedure.service.is_active:
                service, how = procedure.service, Kind.ROUTED
        case = Case(
            correspondence=correspondence,
            administration=administration,
            procedure=procedure,
            status=Status.ASSIGNED if service is not None else Status.REGISTERED,
            service=service,
            registered_on=local_date(correspondence.registered_at),
            delay_days=terms.delay_days,
            delay_kind=terms.delay_kind,
            silence_rule=terms.silence_rule,
            due_on=date.fromisoformat(correspondence.terms["due_on"]),
            updated_at=correspondence.registered_at,
        )
        _schedule_reminders(case, calendar)
        case.save(force_insert=True)
        # A new case has no letters: say so, so that reading them costs no query.
        case._prefetched_objects_cache = {"replies": Reply.objects.none()}  # type: ignore[attr-defined]
        correspondence.case = case
        events = [
            CaseEvent(case=case, at=correspondence.registered_at, kind=Kind.REGISTERED, public=True),
        ]
        if service is not None:
            by_hand = how == Kind.ASSIGNED
            events.append(
                CaseEvent(
                    case=case,
                    at=correspondence.registered_at,
                    kind=how,
                    actor=actor if by_hand and actor is not None and actor.is_authenticated else None,
                    service=service,
                    public=True,
                )
            )
            audit_record(
                actor=actor if by_hand else None,
                action="case.assigned",
                obj=case,
                administration=administration,
                data={"number": correspondence.number, "service": service.code, "by_rule": not by_hand},
            )
        CaseEvent.objects.bulk_create(events)

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
        on_registered=open_case,
    )


# ---------------------------------------------------------------- routing


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
    if not scope.can_read:
        raise _not_found()
    return scope


def _service_of(administration: Administration, service: Service | None, field: str = "service") -> Service:
    if service is None or service.administration_id != administration.pk or not service.is_active:
        raise ActionRefused("unknown_service", _("Choose a service of this administration."), field=field)
    return service


def _touch(case: Case, *fields: str) -> None:
    case.updated_at = now()
    case.save(update_fields=[*fields, "updated_at"])


def case_assign(
    *, actor: User, case_id: int, service: Service | None, copies: Sequence[Service] = (), note: str = ""
) -> Case:
    """Give the case to ``service`` for action (and ``copies`` for information).

    The mail office (clerks, administrators) assigns anywhere; a head reassigns what their
    services hold within their own subtree.
    """
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        target = _service_of(case.administration, service)
        if not scope.can_route and not (scope.supervises_service(case.service_id) and scope.may_assign_to(target.pk)):
            raise _not_allowed()
        copy_targets = [_service_of(case.administration, s, "copies") for s in copies]
        case.status = next_status(case.status, "assign")
        previous = case.service
        case.service, case.agent = target, None
        _touch(case, "status", "service", "agent")
        _event(case, Kind.ASSIGNED, actor, service=target, public=True, text=note.strip()[:REASON_MAX])
        for copy in copy_targets:
            if copy.pk == target.pk:
                continue
            _, created = CaseCopy.objects.get_or_create(case=case, service=copy, defaults={"added_at": now()})
            if created:
                _event(case, Kind.COPIED, actor, service=copy)
        audit_record(
            actor=actor,
            action="case.assigned",
            obj=case,
            administration=case.administration,
            data={
                "number": case.correspondence.number,
                "service": target.code,
                "from": previous.code if previous else "",
                "copies": [c.code for c in copy_targets],
            },
        )
    return case


def cases_assign(*, actor: User, case_ids: Sequence[int], service: Service | None) -> tuple[int, list[str]]:
    """Assign many cases; each on its own, so one refusal does not stop the others.

    Returns how many were assigned and the refusals, one line each.
    """
    done, problems = 0, []
    for case_id in case_ids:
        try:
            case_assign(actor=actor, case_id=case_id, service=service)
            done += 1
        except ActionRefused as refused:
            number = Correspondence.objects.filter(pk=case_id).values_list("number", flat=True).first()
            problems.append(f"{number or case_id}: {refused.message}")
    return done, problems


def _reason(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise ActionRefused("reason_required", _("Give the reason."), field=field)
    if len(reason) > REASON_MAX:
        raise ActionRefused("reason_too_long", _("The reason is too long."), field=field)
    return reason


def case_send_back(*, actor: User, case_id: int, reason: str) -> Case:
    """The service in charge returns the case to the mail office, saying why."""
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not (scope.handles_service(case.service_id) or scope.can_route):
            raise _not_allowed()
        text = _reason(reason)
        case.status = next_status(case.status, "send_back")
        returned_by = case.service
        case.service, case.agent = None, None
        _touch(case, "status", "service", "agent")
        _event(case, Kind.SENT_BACK, actor, service=returned_by, text=text)
        audit_record(
            actor=actor,
            action="case.sent_back",
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number, "reason": text},
        )
    return case


def agent_candidates(case: Case) -> list[User]:
    """Members who may be given the case: agents and heads of its service or the services under it."""
    from workflow.access import subtree

    if case.service_id is None:
        return []
    services = Service.objects.filter(administration_id=case.administration_id).only("id", "parent_id")
    ids = subtree(services, [case.service_id])
    users = User.objects.filter(
        memberships__administration_id=case.administration_id,
        memberships__is_active=True,
        memberships__role__in=[Role.AGENT, Role.HEAD],
        memberships__service_id__in=ids,
        is_active=True,
    ).distinct()
    return list(users.order_by("full_name"))


def case_assign_agent(*, actor: User, case_id: int, agent: User | None) -> Case:
    """A head gives the case to one agent of the service."""
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not scope.supervises_service(case.service_id):
            raise _not_allowed()
        case.status = next_status(case.status, "assign_agent")
        if agent is None or agent.pk not in {u.pk for u in agent_candidates(case)}:
            raise ActionRefused("unknown_agent", _("Choose an agent of the service in charge."), field="agent")
        case.agent = agent
        _touch(case, "agent")
        _event(case, Kind.AGENT_ASSIGNED, actor, service=case.service, data={"agent_id": agent.pk})
        with translation.override(agent.language):
            text = _("%(number)s was assigned to you.") % {"number": case.correspondence.number}
        Notification.objects.create(
            user=agent,
            created_at=now(),
            text=text,
            url=reverse("desk:correspondence", args=[case.administration.code, case.pk]),
        )
        audit_record(
            actor=actor,
            action="case.agent_assigned",
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number, "agent": agent.email},
        )
    return case


def _handler_check(scope: Scope, case: Case, actor: User) -> None:
    """Acting on the substance: the agent in charge, or a member handling or heading the service."""
    if case.agent_id == actor.pk or scope.supervises_service(case.service_id):
        return
    if scope.handles_service(case.service_id) and case.agent_id is None:
        return
    raise _not_allowed()


def case_start(*, actor: User, case_id: int) -> Case:
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        _handler_check(scope, case, actor)
        case.status = next_status(case.status, "start")
        if case.agent_id is None and scope.handles_service(case.service_id):
            case.agent = actor
        _touch(case, "status", "agent")
        _event(case, Kind.STARTED, actor, service=case.service, public=True)
        audit_record(
            actor=actor,
            action="case.started",
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number},
        )
    return case


def case_comment(*, actor: User, case_id: int, text: str) -> CaseEvent:
    """An internal note on the timeline, for the services that read the case."""
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not (scope.can_route or scope.handles_service(case.service_id) or case.agent_id == actor.pk):
            raise _not_allowed()
        body = _reason(text, "text")
        event = _event(case, Kind.NOTE, actor, service=case.service, text=body)
        audit_record(
            actor=actor,
            action="case.noted",
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number},
        )
    return event


def case_close(*, actor: User, case_id: int) -> Case:
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not (scope.can_route or scope.handles_service(case.service_id)):
            raise _not_allowed()
        case.status = next_status(case.status, "close")
        case.closed_at, case.remind_on, case.remind_point = now(), None, ""
        _touch(case, "status", "closed_at", "remind_on", "remind_point")
        _event(case, Kind.CLOSED, actor, service=case.service, public=True)
        audit_record(
            actor=actor,
            action="case.closed",
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number},
        )
    return case


# ---------------------------------------------------------------- letters: answers, rejections, requests


@dataclass(frozen=True)
class LetterText:
    body_ar: str = ""
    body_fr: str = ""
    recourse_ar: str = ""
    recourse_fr: str = ""


def _check_text(text: LetterText) -> None:
    for field in ("body_ar", "body_fr", "recourse_ar", "recourse_fr"):
        if len(getattr(text, field)) > BODY_MAX:
            raise ActionRefused("text_too_long", _("The text is too long."), field=field)


def _register_letter(
    *,
    actor: User,
    administration: Administration,
    addressee: Sender,
    subject: str,
    service: Service | None,
    request: Correspondence | None,
    channel: str,
    confidential: bool,
    decision: str,
    text: LetterText,
    items: list[dict[str, str]],
    signer: dict[str, str],
    attachment: bytes | None = None,
    attachment_name: str = "",
) -> tuple[Registration, bytes]:
    """Register a sealed letter in the outgoing register and record it for verification.

    The letter carries its own outgoing number, so it is rendered and sealed while the
    register's number is held (a few milliseconds); an attached PDF is sealed before.
    Returns the registration and the letter's bytes.
    """
    annex_reason = f"Annexe {request.number}" if request is not None else "Annexe"
    sealed_attachment = letters.seal(attachment, administration, annex_reason) if attachment else None
    token = new_verification_token()
    made: list[bytes] = []

    def make_files(outgoing: Correspondence) -> list[tuple[str, bytes]]:
        data = letters.letter_data(
            outgoing=outgoing,
            request=request,
            service=service,
            decision=decision,
            body_ar=text.body_ar,
            body_fr=text.body_fr,
            items=items,
            recourse_ar=text.recourse_ar,
            recourse_fr=text.recourse_fr,
            signature=signer,
            token=token,
        )
        made.append(letters.letter_pdf(data, administration))
        files = [(f"{outgoing.number}.pdf", made[-1])]
        if sealed_attachment is not None:
            files.append((attachment_name, sealed_attachment))
        return files

    registration = correspondence_register(
        actor=actor,
        administration=administration,
        direction=Direction.OUTGOING,
        channel=channel,
        sender=addressee,
        subject=subject,
        recipient_service=service,
        confidential=confidential,
        in_reply_to=request,
        make_files=make_files,
    )
    outgoing = registration.correspondence
    sealed_document_record(
        correspondence=outgoing,
        kind=SealedDocument.Kind.LETTER,
        token=token,
        sha256=registration.attachments[0].blob_id,
        issued_at=outgoing.registered_at,
    )
    return registration, made[-1]


LETTER_DECISIONS: dict[str, str] = {
    Reply.Kind.ANSWER: "answer",
    Reply.Kind.REJECTION: "rejection",
    Reply.Kind.COMPLETION: "completion",
}


def _send_letter(
    *,
    actor: User,
    case: Case,
    kind: str,
    text: LetterText,
    items: list[dict[str, str]],
    template: LetterTemplate | None,
    attachment: bytes | None,
    attachment_name: str,
) -> Reply:
    """Send the depositor a sealed letter about ``case``; return its reply row."""
    request = case.correspondence
    registration, _letter = _register_letter(
        actor=actor,
        administration=case.administration,
        addressee=Sender(
            kind=request.sender_kind,
            name=request.sender_name,
            identifier=request.sender_identifier,
            email=request.sender_email,
            address=request.sender_address,
            account=request.sender_account,
        ),
        subject=request.subject,
        service=case.service,
        request=request,
        channel=Channel.ONLINE if request.sender_account_id else Channel.COUNTER,
        confidential=request.confidential,
        decision=LETTER_DECISIONS[kind],
        text=text,
        items=items,
        signer={"name": actor.full_name, "title_ar": "", "title_fr": ""},
        attachment=attachment,
        attachment_name=attachment_name,
    )
    outgoing = registration.correspondence
    return Reply.objects.create(
        case=case,
        kind=kind,
        outgoing=outgoing,
        template=template,
        items=items,
        created_at=outgoing.registered_at,
        created_by=actor,
    )


def case_reply(
    *,
    actor: User,
    case_id: int,
    text: LetterText,
    template: LetterTemplate | None = None,
    attachment: bytes | None = None,
    attachment_name: str = "",
    reject: bool = False,
) -> Reply:
    """Answer the request (or reject it, with reasons and the route of recourse).

    The letter is registered in the outgoing register, sealed, linked to the request, and
    delivered to the depositor's space with an e-mail.
    """
    _check_text(text)
    if reject and not text.body_ar.strip() and not text.body_fr.strip():
        raise ActionRefused("reason_required", _("Give the reasons of the rejection."), field="body_ar")
    if not reject and not (text.body_ar.strip() or text.body_fr.strip() or attachment):
        raise ActionRefused("reply_empty", _("Write the answer or attach it as a PDF file."), field="body_ar")
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        _handler_check(scope, case, actor)
        if template is not None and template.administration_id != case.administration_id:
            raise ActionRefused(
                "unknown_template", _("Choose a letter template of this administration."), field="template"
            )
        case.status = next_status(case.status, "reject" if reject else "answer")
        reply = _send_letter(
            actor=actor,
            case=case,
            kind=Reply.Kind.REJECTION if reject else Reply.Kind.ANSWER,
            text=text,
            items=[],
            template=template,
            attachment=attachment,
            attachment_name=attachment_name,
        )
        case.answered_at, case.suspended_on, case.remind_on, case.remind_point = now(), None, None, ""
        if case.agent_id is None and scope.handles_service(case.service_id):
            case.agent = actor
        _touch(case, "status", "answered_at", "suspended_on", "remind_on", "remind_point", "agent")
        _event(
            case,
            Kind.REJECTED if reject else Kind.ANSWERED,
            actor,
            service=case.service,
            public=True,
            data={"reply_id": reply.pk, "number": reply.outgoing.number},
        )
        audit_record(
            actor=actor,
            action="case.rejected" if reject else "case.answered",
            obj=case,
            administration=case.administration,
            subject_user=case.correspondence.sender_account,
            data={"number": case.correspondence.number, "reply": reply.outgoing.number},
        )
    return reply


def case_request_completion(
    *, actor: User, case_id: int, document_ids: Sequence[int], text: LetterText = LetterText()
) -> Reply:
    """Ask the depositor, once, for documents of the procedure's catalogue; the clock stops.

    Only documents the catalogue lists can be asked for, and none that another
    administration holds (law 55-19).
    """
    _check_text(text)
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        _handler_check(scope, case, actor)
        if case.completion_requested:
            raise ActionRefused(
                "completion_already_requested",
                _("The file may be completed only once, and it was already requested."),
                status=409,
            )
        case.status = next_status(case.status, "request_completion")
        if case.procedure is None:
            raise ActionRefused(
                "no_catalogue",
                _("Only documents of a procedure's catalogue can be requested, and this request names no procedure."),
                field="documents",
            )
        catalogue = {d.pk: d for d in case.procedure.documents.all()}
        wanted = list(dict.fromkeys(document_ids))
        if not wanted:
            raise ActionRefused("documents_required", _("Choose the missing documents."), field="documents")
        unknown = [i for i in wanted if i not in catalogue]
        if unknown:
            raise ActionRefused(
                "document_not_in_catalogue",
                _("Only documents listed in the procedure's catalogue can be requested."),
                field="documents",
            )
        held = [catalogue[i] for i in wanted if catalogue[i].held_elsewhere]
        if held:
            raise ActionRefused(
                "document_held_elsewhere",
                _("%(document)s is held by another administration: it cannot be asked of the depositor.")
                % {"document": held[0].name_fr},
                field="documents",
            )
        items = [{"id": str(i), "name_ar": catalogue[i].name_ar, "name_fr": catalogue[i].name_fr} for i in wanted]
        reply = _send_letter(
            actor=actor,
            case=case,
            kind=Reply.Kind.COMPLETION,
            text=text,
            items=items,
            template=None,
            attachment=None,
            attachment_name="",
        )
        case.completion_requested = True
        case.suspended_on = local_date(now())
        case.remind_on, case.remind_point = None, ""
        _touch(case, "status", "completion_requested", "suspended_on", "remind_on", "remind_point")
        _event(
            case,
            Kind.COMPLETION_REQUESTED,
            actor,
            service=case.service,
            public=True,
            data={"reply_id": reply.pk, "number": reply.outgoing.number, "items": items},
        )
        audit_record(
            actor=actor,
            action="case.completion_requested",
            obj=case,
            administration=case.administration,
            subject_user=case.correspondence.sender_account,
            data={"number": case.correspondence.number, "items": [i["name_fr"] for i in items]},
        )
    return reply


def case_complete(
    *,
    actor: User | None,
    case_id: int,
    files: Sequence[CheckedFile],
    note: str = "",
    channel: str = Channel.ONLINE,
) -> Registration:
    """The depositor sends the missing documents: registered as incoming mail linked to the
    request (with its own receipt); the clock resumes with the suspended days added.

    ``actor`` is the depositor (online) or the clerk who received the papers at the counter.
    """
    if not files:
        raise ActionRefused("files_required", _("Attach the documents that were requested."), field="attachments")
    if len(note) > BODY_MAX:
        raise ActionRefused("text_too_long", _("The text is too long."), field="body")
    with transaction.atomic():
        case = _locked_case(case_id)
        request = case.correspondence
        if channel == Channel.ONLINE:
            if actor is None or request.sender_account_id != actor.pk:
                raise _not_found()
        else:
            scope = _scope(actor, case) if actor is not None else None
            if scope is None or not (scope.can_route or scope.handles_service(case.service_id)):
                raise _not_allowed()
        case.status = next_status(case.status, "complete")
        calendar = calendar_for(case.administration)
        today = local_date(now())
        suspended = calendar.suspended_days(case.delay_kind, case.suspended_on or today, today)
        case.suspended_days += suspended
        case.due_on = calendar.due_date(case.registered_on, case.delay_days, case.delay_kind, case.suspended_days)
        case.suspended_on = None
        sender = (
            Sender.of_account(request.sender_account)
            if channel == Channel.ONLINE and request.sender_account is not None
            else Sender(
                kind=request.sender_kind,
                name=request.sender_name,
                identifier=request.sender_identifier,
                email=request.sender_email,
                address=request.sender_address,
                account=request.sender_account,
            )
        )
        registration = correspondence_register(
            actor=actor,
            administration=case.administration,
            channel=channel,
            sender=sender,
            subject=_("Completion of %(number)s") % {"number": request.number},
            body=note,
            files=files,
            recipient_service=case.service,
            confidential=request.confidential,
            in_reply_to=request,
        )
        _schedule_reminders(case, calendar, after=today)
        _touch(case, "status", "suspended_days", "due_on", "suspended_on", "remind_on", "remind_point")
        _event(
            case,
            Kind.COMPLETED,
            actor,
            service=case.service,
            public=True,
            data={
                "number": registration.correspondence.number,
                "suspended_days": suspended,
                "due_on": case.due_on.isoformat(),
            },
        )
        audit_record(
            actor=actor,
            action="case.completed",
            obj=case,
            administration=case.administration,
            subject_user=request.sender_account,
            data={"number": request.number, "completion": registration.correspondence.number},
        )
    return registration


# ---------------------------------------------------------------- silence-acceptance


def silence_acceptance_on(case: Case, today: date) -> date | None:
    """The day silence became acceptance, if it did: a running request past its due date."""
    if case.silence_rule != SilenceRule.ACCEPTANCE or case.due_on is None:
        return None
    if case.status not in RUNNING_STATUSES:
        return None
    accepted_on = case.due_on + timedelta(days=1)
    return accepted_on if accepted_on <= today else None


def attestation_issue(*, actor: User | None, case_id: int) -> SealedDocument:
    """Issue (once) the sealed attestation of silence-acceptance of an unanswered request."""
    with transaction.atomic():
        case = _locked_case(case_id)
        request = case.correspondence
        existing = SealedDocument.objects.filter(correspondence=request, kind=SealedDocument.Kind.ATTESTATION).first()
        if existing is not None:
            return existing
        moment = now()
        accepted_on = silence_acceptance_on(case, local_date(moment))
        if accepted_on is None or case.due_on is None:
            raise ActionRefused(
                "no_silence_acceptance",
                _("Silence has not become acceptance for this request."),
                status=409,
            )
        procedure = case.procedure
        token = new_verification_token()
        data = letters.attestation_data(
            request=request,
            procedure={
                "code": procedure.code if procedure else "",
                "name_ar": procedure.name_ar if procedure else "",
                "name_fr": procedure.name_fr if procedure else "",
                "legal_basis": procedure.legal_basis if procedure else "",
            },
            delay_days=case.delay_days,
            delay_kind=case.delay_kind,
            suspended_days=case.suspended_days,
            due_on=case.due_on,
            accepted_on=accepted_on,
            issued_local=moment.astimezone(LOCAL_ZONE),
            token=token,
        )
        document = sealed_document_record(
            correspondence=request,
            kind=SealedDocument.Kind.ATTESTATION,
            token=token,
            issued_at=moment,
            pdf=letters.attestation_pdf(data, case.administration),
            pages=1,
        )
        _event(case, Kind.ATTESTATION, actor, public=False, data={"accepted_on": accepted_on.isoformat()})
        audit_record(
            actor=actor,
            action="case.attestation_issued",
            obj=case,
            administration=case.administration,
            subject_user=request.sender_account,
            data={"number": request.number, "accepted_on": accepted_on.isoformat()},
        )
    return document


# ---------------------------------------------------------------- reminders schedule


def _schedule_reminders(case: Case, calendar: BusinessCalendar, *, after: date | None = None) -> None:
    from workflow.reminders import next_reminder, sent_points

    point = next_reminder(case, calendar, sent=() if after is None else sent_points(case))
    case.remind_on, case.remind_point = (point[1], point[0]) if point else (None, "")


# ---------------------------------------------------------------- internal notes


def internal_note_send(
    *,
    actor: User,
    administration: Administration,
    from_service: Service | None,
    to_service: Service | None,
    subject: str,
    text: LetterText,
) -> Registration:
    """A note from one service to another of the same administration (central ↔ decentralised).

    The same machinery as mail: a sealed note registered in the outgoing register, then in the
    incoming register, where its case is assigned to the receiving service.
    """
    sender_service = _service_of(administration, from_service, "from_service")
    target = _service_of(administration, to_service, "to_service")
    if sender_service.pk == target.pk:
        raise ActionRefused("same_service", _("Choose another service than the sender."), field="to_service")
    scope = scope_of(actor, administration)
    if not (scope.can_route or scope.handles_service(sender_service.pk)):
        raise _not_allowed()
    _check_text(text)
    if not (text.body_ar.strip() or text.body_fr.strip()):
        raise ActionRefused("reply_empty", _("Write the note."), field="body_ar")
    from documents.intake import bytes_upload, check_files

    with transaction.atomic():
        note, letter = _register_letter(
            actor=actor,
            administration=administration,
            addressee=Sender(kind="administration", name=f"{target.name_ar} / {target.name_fr}"),
            subject=subject,
            service=sender_service,
            request=None,
            channel=Channel.INTERNAL,
            confidential=False,
            decision="note",
            text=text,
            items=[],
            signer={"name": actor.full_name, "title_ar": sender_service.name_ar, "title_fr": sender_service.name_fr},
        )
        outgoing = note.correspondence
        received = request_register(
            actor=actor,
            administration=administration,
            channel=Channel.INTERNAL,
            sender=Sender(kind="administration", name=f"{sender_service.name_ar} / {sender_service.name_fr}"),
            subject=subject,
            body=text.body_ar or text.body_fr,
            files=check_files([bytes_upload(letter, f"{outgoing.number}.pdf")]),
            recipient_service=target,
            in_reply_to=outgoing,
        )
        audit_record(
            actor=actor,
            action="note.sent",
            obj=outgoing,
            administration=administration,
            data={"number": outgoing.number, "received_as": received.correspondence.number, "to": target.code},
        )
    return received
