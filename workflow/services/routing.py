"""Routing a case between services and people, and the steps that need no letter."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from registry.models import Correspondence
from tenancy.access import subtree
from tenancy.models import Service, User
from tenancy.permissions import Action, roles_who
from workflow.models import (
    Case,
    CaseCopy,
    CaseEvent,
    Notification,
)
from workflow.services.base import (
    REASON_MAX,
    ActionRefused,
    Kind,
    _event,
    _handler_check,
    _locked_case,
    _not_allowed,
    _reason,
    _scope,
    _service_of,
    _touch,
    case_move,
    may_give_to_agent,
    may_note,
    may_return,
    may_route,
)


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
        if not scope.may(Action.ROUTE) and not (may_route(scope, case) and scope.may_assign_to(target.pk)):
            raise _not_allowed()
        copy_targets = [_service_of(case.administration, s, "copies") for s in copies]
        case_move(case, "assign")
        previous = case.service
        case.service, case.agent = target, None
        _touch(case, "status", "service", "agent")
        _event(case, Kind.ASSIGNED, actor, service=target, public=True, text=note.strip()[:REASON_MAX])
        for copy in copy_targets:
            if copy.pk == target.pk:
                continue
            _, created = CaseCopy.objects.get_or_create(
                case=case, service=copy, defaults={"added_at": now(), "confidential": case.confidential}
            )
            if created:
                _event(case, Kind.COPIED, actor, service=copy)
        audit_record(
            actor=actor,
            action=AuditAction.CASE_ASSIGNED,
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


def case_send_back(*, actor: User, case_id: int, reason: str) -> Case:
    """The service in charge returns the case to the mail office, saying why."""
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not may_return(scope, case):
            raise _not_allowed()
        text = _reason(reason)
        case_move(case, "send_back")
        returned_by = case.service
        case.service, case.agent = None, None
        _touch(case, "status", "service", "agent")
        _event(case, Kind.SENT_BACK, actor, service=returned_by, text=text)
        audit_record(
            actor=actor,
            action=AuditAction.CASE_SENT_BACK,
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number, "reason": text},
        )
    return case


def agent_candidates(case: Case) -> list[User]:
    """Members who may be given the case: agents and heads of its service or the services under it."""
    if case.service_id is None:
        return []
    services = Service.objects.filter(administration_id=case.administration_id).only("id", "parent_id")
    ids = subtree(services, [case.service_id])
    users = User.objects.filter(
        memberships__administration_id=case.administration_id,
        memberships__is_active=True,
        memberships__role__in=roles_who(Action.HANDLE),
        memberships__service_id__in=ids,
        is_active=True,
    ).distinct()
    return list(users.order_by("full_name"))


def case_assign_agent(*, actor: User, case_id: int, agent: User | None) -> Case:
    """A head gives the case to one agent of the service."""
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not may_give_to_agent(scope, case):
            raise _not_allowed()
        case_move(case, "assign_agent")
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
            action=AuditAction.CASE_AGENT_ASSIGNED,
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number, "agent": agent.email},
        )
    return case


def case_start(*, actor: User, case_id: int) -> Case:
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        _handler_check(scope, case, actor)
        case_move(case, "start")
        if case.agent_id is None and scope.handles_service(case.service_id):
            case.agent = actor
        _touch(case, "status", "agent")
        _event(case, Kind.STARTED, actor, service=case.service, public=True)
        audit_record(
            actor=actor,
            action=AuditAction.CASE_STARTED,
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
        if not may_note(scope, case):
            raise _not_allowed()
        body = _reason(text, "text")
        event = _event(case, Kind.NOTE, actor, service=case.service, text=body)
        audit_record(
            actor=actor,
            action=AuditAction.CASE_NOTED,
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number},
        )
    return event


def case_close(*, actor: User, case_id: int) -> Case:
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        if not may_return(scope, case):
            raise _not_allowed()
        case_move(case, "close")
        case.closed_at, case.remind_on, case.remind_point = now(), None, ""
        _touch(case, "status", "closed_at", "remind_on", "remind_point")
        _event(case, Kind.CLOSED, actor, service=case.service, public=True)
        audit_record(
            actor=actor,
            action=AuditAction.CASE_CLOSED,
            obj=case,
            administration=case.administration,
            data={"number": case.correspondence.number},
        )
    return case
