"""Reads of the processing desk: inboxes and their counts, a case's timeline, the catalogue.

Visibility: the mail office (clerks, administrators), auditors and members attached to no
service see every case of the administration; a member attached to services sees the cases
of those services and of the services under them, the cases given to them, and the cases
sent to them in copy. Confidential cases stay hidden from roles that may not read them.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.errors import NotFound
from registry.models import SealedDocument
from registry.selectors import CONFIDENTIAL_ROLES
from tenancy.models import Administration, Membership, Service
from workflow.access import Scope
from workflow.calendar import BusinessCalendar
from workflow.models import (
    DONE_Q,
    HANDLING_Q,
    RUNNING_Q,
    Case,
    CaseCopy,
    CaseEvent,
    Procedure,
    Reply,
    Status,
)

Role = Membership.Role
BOXES = ("to_assign", "in_progress", "due_soon", "overdue", "in_copy", "done")
SORTS = {
    "due": ("due_on", "pk"),
    "-due": ("-due_on", "-pk"),
    "registered": ("registered_on", "pk"),
    "-registered": ("-registered_on", "-pk"),
}


def _sees_everything(scope: Scope) -> bool:
    return scope.can_route or Role.AUDITOR in scope.roles or scope.handles is None


def visible_cases(scope: Scope, *, with_copies: bool = True, service_id: int | None = None) -> QuerySet[Case]:
    """The cases ``scope`` may read; ``with_copies=False`` leaves out those only sent in copy
    (the inboxes list them in their own box, and the condition keeps the other boxes' queries
    on their indexes)."""
    if not scope.can_read:
        return Case.objects.none()
    if service_id is not None:
        # One service asked for (callers pass only services of this administration): all of it
        # when the user handles it, else only what is theirs. No administration filter: it
        # would keep the counts off their index-only scans.
        if not Service.objects.filter(pk=service_id, administration=scope.administration).exists():
            return Case.objects.none()  # never another administration's service
        cases = Case.objects.filter(service_id=service_id)
        if _sees_everything(scope) or (scope.handles_service(service_id) and not with_copies):
            return _confidential(scope, cases)
    else:
        cases = Case.objects.filter(administration=scope.administration)
    if not _sees_everything(scope):
        mine = Q(service_id__in=scope.handles or ()) | Q(agent=scope.user)
        if with_copies:
            mine = mine | Q(Exists(CaseCopy.objects.filter(case=OuterRef("pk"), service_id__in=scope.handles or ())))
        cases = cases.filter(mine)
    return _confidential(scope, cases)


def _confidential(scope: Scope, cases: QuerySet[Case]) -> QuerySet[Case]:
    if not scope.roles & CONFIDENTIAL_ROLES:
        cases = cases.filter(Q(correspondence__confidential=False) | Q(agent=scope.user))
    return cases


def due_soon_limit(calendar: BusinessCalendar, today: date) -> date:
    return calendar.add_working_days(today, settings.DUE_SOON_DAYS)


def box_filter(box: str, scope: Scope, today: date, soon: date) -> Q:
    if box == "to_assign":
        return Q(status=Status.REGISTERED)
    if box == "in_progress":
        return HANDLING_Q
    if box == "due_soon":
        return RUNNING_Q & Q(due_on__gte=today, due_on__lte=soon)
    if box == "overdue":
        return RUNNING_Q & Q(due_on__lt=today)
    if box == "in_copy":
        return Q(copies__service_id__in=scope.own_services or ())
    return DONE_Q


def inbox(
    scope: Scope,
    box: str,
    *,
    today: date,
    soon: date,
    service_id: int | None = None,
    mine: bool = False,
    procedure_id: int | None = None,
    sort: str = "due",
) -> QuerySet[Case]:
    cases = visible_cases(scope, with_copies=box == "in_copy", service_id=service_id).filter(
        box_filter(box, scope, today, soon)
    )
    if mine:
        cases = cases.filter(agent=scope.user)
    if procedure_id is not None:
        cases = cases.filter(procedure_id=procedure_id)
    order = SORTS.get(sort, SORTS["due"])
    cases = cases.select_related("correspondence", "service", "agent", "procedure").order_by(*order)
    return cases.distinct() if box == "in_copy" else cases


# Counts stop here ("1000+"): each box is counted on its own index, and never by reading a
# whole register; beyond this a number says nothing a clerk can use.
COUNT_CAP = 1000


def capped_count(cases: QuerySet[Case]) -> int:
    return cases.order_by()[: COUNT_CAP + 1].count()


def box_counts(
    scope: Scope, *, today: date, soon: date, service_id: int | None = None, mine: bool = False
) -> dict[str, int]:
    """The number of cases in each box, up to ``COUNT_CAP`` + 1, one short query per box."""
    cases = visible_cases(scope, with_copies=False, service_id=service_id)
    if mine:
        cases = cases.filter(agent=scope.user)
    counts = {
        box: capped_count(cases.filter(box_filter(box, scope, today, soon)))
        for box in ("to_assign", "in_progress", "due_soon", "overdue", "done")
    }
    # The user's own services belong to this administration: no join needed to count.
    copies = CaseCopy.objects.filter(service_id__in=scope.own_services).order_by()
    counts["in_copy"] = copies[: COUNT_CAP + 1].count() if scope.own_services else 0
    return counts


def case_for_staff(scope: Scope, case_id: int) -> Case:
    case = (
        visible_cases(scope)
        .select_related("correspondence", "service", "agent", "procedure")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound
    return case


def timeline(case: Case, *, public_only: bool = False) -> QuerySet[CaseEvent]:
    events = CaseEvent.objects.filter(case=case).select_related("actor", "service").order_by("at", "id")
    return events.filter(public=True) if public_only else events


def catalogue(administration: Administration, *, only_open: bool = True) -> QuerySet[Procedure]:
    procedures = Procedure.objects.filter(administration=administration)
    if only_open:
        procedures = procedures.filter(is_active=True)
    return procedures.select_related("service").prefetch_related("documents").order_by("code")


def reply_letter(case_id: int, reply_id: int) -> tuple[Reply, SealedDocument]:
    """A sealed letter sent about case ``case_id`` (the caller has checked who may read it)."""
    reply = Reply.objects.filter(pk=reply_id, case_id=case_id).select_related("outgoing").first()
    document = (
        SealedDocument.objects.filter(correspondence_id=reply.outgoing_id, kind=SealedDocument.Kind.LETTER).first()
        if reply is not None
        else None
    )
    if reply is None or document is None:
        raise NotFound
    return reply, document
