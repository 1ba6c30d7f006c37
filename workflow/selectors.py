"""Reads of the processing desk: inboxes and their counts, a case's timeline, the catalogue.

Visibility: the mail office (clerks, administrators), auditors and members attached to no
service see every case of the administration; a member attached to services sees the cases
of those services and of the services under them, the cases given to them, and the cases
sent to them in copy. Confidential cases stay hidden from roles that may not read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ObjectDoesNotExist
from django.db import connection
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from core.errors import NotFound
from registry.models import Correspondence, SealedDocument
from tenancy.access import Scope
from tenancy.models import Administration, Service, User
from tenancy.permissions import Action
from workflow.calendar import BusinessCalendar
from workflow.models import (
    DONE_Q,
    HANDLING_Q,
    RUNNING_Q,
    RUNNING_STATUSES,
    CalendarDay,
    Case,
    CaseCopy,
    CaseEvent,
    LetterTemplate,
    Notification,
    Procedure,
    Reply,
    RoutingRule,
    Status,
)

BOXES = ("to_assign", "in_progress", "due_soon", "overdue", "in_copy", "done")
SORTS = {
    "due": ("due_on", "pk"),
    "-due": ("-due_on", "-pk"),
    "registered": ("registered_on", "pk"),
    "-registered": ("-registered_on", "-pk"),
}


def _sees_everything(scope: Scope) -> bool:
    return scope.may(Action.READ_EVERY_CASE) or scope.handles is None


def visible_cases(scope: Scope, *, with_copies: bool = True, service_id: int | None = None) -> QuerySet[Case]:
    """The cases ``scope`` may read; ``with_copies=False`` leaves out those only sent in copy
    (the inboxes list them in their own box, and the condition keeps the other boxes' queries
    on their indexes)."""
    if not scope.may(Action.READ):
        return Case.objects.none()
    if service_id is not None:
        # One service asked for (callers pass only services of this administration): all of it
        # when the user handles it, else only what is theirs. No administration filter: it
        # would keep the counts off their index-only scans.
        if service_id not in scope.service_ids:
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
    if not scope.may(Action.READ_CONFIDENTIAL):
        cases = cases.filter(Q(confidential=False) | Q(agent=scope.user))
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
        return _copied_to_own_services(scope)
    return DONE_Q


def _copied_to_own_services(scope: Scope) -> Q:
    # A subquery, not a join: a case sent in copy to two of the user's services is listed once.
    return Q(Exists(CaseCopy.objects.filter(case=OuterRef("pk"), service_id__in=scope.own_services or ())))


def _copies(scope: Scope, *, service_id: int | None, mine: bool) -> QuerySet[Case]:
    """The cases sent in copy to the user's own services: all visible to them (a copy is how they
    reach them), confidential ones kept to those who may read them or were given them. Copies
    go to services, for information, never to a person: "only mine" has none."""
    if mine or not (scope.may(Action.READ) and scope.own_services):
        return Case.objects.none()
    cases = _confidential(scope, Case.objects.filter(_copied_to_own_services(scope)))
    if service_id is not None:
        cases = cases.filter(service_id=service_id) if service_id in scope.service_ids else Case.objects.none()
    return cases


def _copies_counted(scope: Scope, *, service_id: int | None, mine: bool) -> QuerySet[Any]:
    """The copies box's cases as its count reads them: from the copies alone (their own index)
    unless the count depends on the case's current agent or service."""
    if mine or service_id is not None or not (scope.may(Action.READ) and scope.own_services):
        return _copies(scope, service_id=service_id, mine=mine).values("pk")
    copies = CaseCopy.objects.filter(service_id__in=scope.own_services).order_by()
    if scope.may(Action.READ_CONFIDENTIAL):
        return copies.values("case_id").distinct()
    # Confidential cases only when given to the user by name: the few confidential copies are
    # joined to their case, the others are counted from their index. UNION: each case once.
    given = copies.filter(confidential=True, case__agent=scope.user).values("case_id")
    return copies.filter(confidential=False).values("case_id").union(given)


def _inbox_base(scope: Scope, *, with_copies: bool, service_id: int | None, mine: bool) -> QuerySet[Case]:
    if mine and scope.may(Action.READ):
        # The cases given to the user: always visible to them (confidential ones included), so
        # none of the visibility conditions is needed, and each box reads the agent's own index.
        cases = Case.objects.filter(agent=scope.user, administration=scope.administration)
        if service_id is not None:
            cases = cases.filter(service_id=service_id) if service_id in scope.service_ids else Case.objects.none()
        return cases
    return visible_cases(scope, with_copies=with_copies, service_id=service_id)


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
    """The cases of one inbox box, in the order asked; ``inbox_rows`` reads a page of them."""
    if box == "in_copy":
        cases = _copies(scope, service_id=service_id, mine=mine)
    else:
        cases = _inbox_base(scope, with_copies=False, service_id=service_id, mine=mine)
        cases = cases.filter(box_filter(box, scope, today, soon))
    if procedure_id is not None:
        cases = cases.filter(procedure_id=procedure_id)
    return cases.order_by(*SORTS.get(sort, SORTS["due"]))


# What an inbox row shows; the service and the procedure are named from lists the page has
# already loaded.
ROW_FIELDS = (
    "pk",
    "status",
    "service_id",
    "procedure_id",
    "due_on",
    "silence_rule",
    "correspondence__number",
    "correspondence__subject",
    "correspondence__sender_name",
    "confidential",
    "agent__full_name",
)


def inbox_rows(ids: list[int]) -> list[dict[str, Any]]:
    """The cases ``ids`` (one page of an inbox, chosen and ordered on the cases' own indexes),
    in that order, as the values their rows show: the page is picked before anything is joined."""
    found = {row["pk"]: row for row in Case.objects.filter(pk__in=ids).values(*ROW_FIELDS)}
    return [found[pk] for pk in ids if pk in found]


def cases_in_order(ids: list[int]) -> list[Case]:
    """The cases ``ids``, in that order, with their correspondence, service, agent and procedure."""
    found = Case.objects.select_related("correspondence", "service", "agent", "procedure").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def procedure_choices(administration: Administration) -> list[Procedure]:
    """The administration's procedures, open or not, for filters."""
    return list(
        Procedure.objects.filter(administration=administration)
        .only("id", "code", "name_ar", "name_fr", "name_zgh", "is_active")
        .order_by("code")
    )


# Counts stop here ("1000+"): each box is counted on its own index, and never by reading a
# whole register; beyond this a number says nothing a clerk can use.
COUNT_CAP = 1000


def capped_count(cases: QuerySet[Case]) -> int:
    return cases.order_by()[: COUNT_CAP + 1].count()


def capped_counts(parts: dict[str, QuerySet[Any]]) -> dict[str, int]:
    """Several counts, each stopping at ``COUNT_CAP`` + 1, in one statement: a page's boxes are
    counted in one round trip, each count still reading its own index."""
    counts = dict.fromkeys(parts, 0)
    selects: list[str] = []
    params: list[Any] = []
    names: list[str] = []
    for name, queryset in parts.items():
        try:
            sql, values = queryset.order_by()[: COUNT_CAP + 1].query.sql_with_params()
        except EmptyResultSet:
            continue  # nothing can match: 0
        selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")  # noqa: S608 - SQL compiled by Django, values as parameters
        params.extend(values)
        names.append(name)
    if selects:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(selects), params)
            counts.update(zip(names, cursor.fetchone(), strict=True))
    return counts


def _count_parts(scope: Scope, *, service_id: int | None, mine: bool) -> list[QuerySet[Case]]:
    """What the counts cover, as disjoint parts that each read one index: the cases within the
    user's reach that they may see there, and apart, those given to them by name that the first
    part leaves out (elsewhere, or confidential). Counted as one condition with an OR,
    PostgreSQL would read every matching row instead of stopping at the cap."""
    if mine:
        return [_inbox_base(scope, with_copies=False, service_id=service_id, mine=True)]
    if service_id is not None:
        if service_id not in scope.service_ids:
            return [Case.objects.none()]
        if not (_sees_everything(scope) or scope.handles_service(service_id)):
            # Someone else's service: only what was given to them there.
            return [Case.objects.filter(service_id=service_id, agent=scope.user)]
        reach = Q(service_id=service_id)
    elif _sees_everything(scope):
        reach = Q(administration=scope.administration)
    else:
        reach = Q(service_id__in=scope.handles or ())
    may_read_confidential = bool(scope.may(Action.READ_CONFIDENTIAL))
    if not may_read_confidential:
        reach &= Q(confidential=False)
    elif service_id is not None or _sees_everything(scope):
        return [Case.objects.filter(reach)]  # nothing given to them lies outside
    given = Case.objects.filter(agent=scope.user, administration=scope.administration)
    if service_id is not None:
        given = given.filter(service_id=service_id)
    return [Case.objects.filter(reach), given.exclude(reach)]


def box_counts(
    scope: Scope, *, today: date, soon: date, service_id: int | None = None, mine: bool = False
) -> dict[str, int]:
    """The number of cases in each box, up to ``COUNT_CAP`` + 1, in one statement; each is the
    number of cases its list shows."""
    parts = _count_parts(scope, service_id=service_id, mine=mine)
    boxes: dict[str, QuerySet[Any]] = {}
    for box in ("to_assign", "in_progress", "due_soon", "overdue", "done"):
        condition = box_filter(box, scope, today, soon)
        ids = [part.filter(condition).order_by().values("pk") for part in parts]
        boxes[box] = ids[0].union(*ids[1:], all=True) if len(ids) > 1 else ids[0]
    # The user's own services belong to this administration: no join needed to count.
    boxes["in_copy"] = _copies_counted(scope, service_id=service_id, mine=mine)
    return capped_counts(boxes)


def case_for(scope: Scope, case_id: int, *, for_update: bool = False) -> Case:
    """A case of the scope's administration its user may read (``visible_cases``: their reach
    in the services tree, confidential ones only to roles that may read them or to their agent);
    NotFound otherwise. ``for_update`` locks its row until the end of the caller's transaction."""
    cases = visible_cases(scope).select_related("correspondence", "service", "agent", "procedure")
    if for_update:
        cases = cases.select_for_update(of=("self",))
    case = cases.filter(pk=case_id).first()
    if case is None:
        raise NotFound
    return case


def case_administration(case_id: int) -> Administration:
    """The administration case ``case_id`` belongs to (NotFound when there is no such case): what
    a request naming a case by its id alone (the API) builds the caller's scope in, before
    ``case_for`` checks their access."""
    case = Case.objects.select_related("administration").filter(pk=case_id).first()
    if case is None:
        raise NotFound
    return case.administration


def case_of(correspondence: Correspondence) -> Case | None:
    """The case of a correspondence already read (with its access checked), or None: with its
    service, agent and procedure."""
    return Case.objects.filter(pk=correspondence.pk).select_related("service", "agent", "procedure").first()


def replies_of(case: Case) -> QuerySet[Reply]:
    """The replies of ``case`` (answers, rejections, requests for completion), oldest first,
    each with its letter and ``being_sealed``: whether its letter is still being made
    (registry.sealed), so that a page offers no download that would answer 202."""
    pending = SealedDocument.objects.filter(
        correspondence=OuterRef("outgoing_id"), kind=SealedDocument.Kind.LETTER, blob__isnull=True
    )
    return (
        Reply.objects.filter(case=case)
        .select_related("outgoing")
        .annotate(being_sealed=Exists(pending))
        .order_by("created_at")
    )


def requested_items(case: Case) -> list[dict[str, str]]:
    """What the latest request for completion of ``case`` asked the depositor for."""
    reply = Reply.objects.filter(case=case, kind=Reply.Kind.COMPLETION).order_by("-created_at").first()
    return list(reply.items) if reply is not None else []


def attestation_of(correspondence_id: int) -> SealedDocument | None:
    """The attestation of silence issued for a request, if any (law 55-19)."""
    return SealedDocument.objects.filter(
        correspondence_id=correspondence_id, kind=SealedDocument.Kind.ATTESTATION
    ).first()


def replies_by_letter(outgoing_ids: list[int]) -> dict[int, Reply]:
    """The reply (answer, rejection, request for completion) each of these outgoing letters is,
    by letter id; a letter that is no reply of a case is absent. One statement."""
    return {r.outgoing_id: r for r in Reply.objects.filter(outgoing_id__in=outgoing_ids)}


def service_in_charge(correspondence: Correspondence) -> Service | None:
    """The service a letter is with, the one rule every page applies: the service in charge of
    its case when it has one (routing moves it, and sending it back leaves none), otherwise the
    service named when it was registered (an outgoing letter's service, an imported letter's).
    ``recipient_service`` itself never changes: it is a registered fact, in the register log.
    Load ``case__service`` with the letters (one query for a list)."""
    try:
        case = correspondence.case
    except ObjectDoesNotExist:
        return correspondence.recipient_service
    return case.service


def timeline(case: Case, *, public_only: bool = False) -> QuerySet[CaseEvent]:
    events = CaseEvent.objects.filter(case=case).select_related("actor", "service").order_by("at", "id")
    return events.filter(public=True) if public_only else events


def catalogue(administration: Administration, *, only_open: bool = True) -> QuerySet[Procedure]:
    procedures = Procedure.objects.filter(administration=administration)
    if only_open:
        procedures = procedures.filter(is_active=True)
    return procedures.select_related("service").prefetch_related("documents").order_by("code")


# The catalogue's rows, one administration's, by id: NotFound for another administration's.


def procedure_for(administration: Administration, procedure_id: int) -> Procedure:
    return _one(Procedure.objects.filter(pk=procedure_id, administration=administration))


def procedure_code_taken(administration: Administration, code: str, *, other_than: int | None = None) -> bool:
    """Whether another procedure of ``administration`` has ``code``."""
    return Procedure.objects.filter(administration=administration, code=code).exclude(pk__in=[other_than]).exists()


def letter_template_code_taken(administration: Administration, code: str, *, other_than: int | None = None) -> bool:
    """Whether another letter template of ``administration`` has ``code``."""
    clash = LetterTemplate.objects.filter(administration=administration, code=code)
    return clash.exclude(pk__in=[other_than]).exists()


def notifications_of(user: User) -> QuerySet[Notification]:
    """The person's notifications, newest first (the model's order)."""
    return Notification.objects.filter(user=user)


def calendar_days_of(administration: Administration, year: int) -> QuerySet[CalendarDay]:
    """The changes ``administration`` made to its calendar in ``year``, by day."""
    return CalendarDay.objects.filter(administration=administration, day__year=year).order_by("day")


def calendar_day_for(administration: Administration, day_id: int) -> CalendarDay:
    return _one(CalendarDay.objects.filter(pk=day_id, administration=administration))


def routing_rules_of(administration: Administration) -> QuerySet[RoutingRule]:
    return RoutingRule.objects.filter(administration=administration).select_related("service", "procedure")


def routing_rule_for(administration: Administration, rule_id: int) -> RoutingRule:
    return _one(RoutingRule.objects.filter(pk=rule_id, administration=administration))


def letter_templates_of(administration: Administration) -> QuerySet[LetterTemplate]:
    """Every letter template of ``administration``, by code."""
    return LetterTemplate.objects.filter(administration=administration).order_by("code")


def active_letter_templates(administration: Administration) -> list[LetterTemplate]:
    """The templates a letter may start from, by name."""
    return list(LetterTemplate.objects.filter(administration=administration, is_active=True).order_by("name"))


def letter_template_for(
    administration: Administration, template_id: int, *, only_active: bool = False
) -> LetterTemplate:
    templates = LetterTemplate.objects.filter(pk=template_id, administration=administration)
    return _one(templates.filter(is_active=True) if only_active else templates)


def letter_template_by_code(administration_id: int, code: str) -> LetterTemplate | None:
    """An active template of the administration, by its code (any case)."""
    return LetterTemplate.objects.filter(
        administration_id=administration_id, code=code.strip().upper(), is_active=True
    ).first()


def sealed_document_of(case: Case, token: str) -> SealedDocument:
    """The sealed document ``token`` of a case already read (its access checked); NotFound otherwise."""
    return _one(SealedDocument.objects.filter(token=token, correspondence_id=case.pk))


def _one[M: Model](rows: QuerySet[M]) -> M:
    found = rows.first()
    if found is None:
        raise NotFound
    return found


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


class Stage(StrEnum):
    """Where a case stands: its delay running, suspended until the depositor completes their
    file, or over (answered, closed or rejected)."""

    RUNNING = "running"
    SUSPENDED = "suspended"
    OVER = "over"


class NextStep(StrEnum):
    """Who must act next: the administration, the depositor (completing their file), or nobody."""

    ADMINISTRATION = "administration"
    DEPOSITOR = "depositor"
    NONE = ""


@dataclass(frozen=True)
class CaseSummary:
    """A case at a glance, the same for the desk, the depositor's pages, tracking and the API.

    ``days_left``: calendar days from today to the due date, 0 on it, negative once past it;
    None without a due date (a letter from an administration has none).
    """

    due_on: date | None
    days_left: int | None
    stage: Stage
    next_step: NextStep

    @property
    def running(self) -> bool:
        return self.stage == Stage.RUNNING

    @property
    def days_late(self) -> int:
        """Days past the due date (0 when not past it, or without one)."""
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def overdue(self) -> bool:
        """Past its due date while the administration still has to answer."""
        return self.running and self.days_late > 0


def case_summary(*, status: str, due_on: date | None, today: date) -> CaseSummary:
    """The summary of a case in ``status`` due on ``due_on``, seen on ``today`` (the local date).
    Takes the fields rather than the case, so that a list's rows read as values summarise too."""
    if status in RUNNING_STATUSES:
        stage, next_step = Stage.RUNNING, NextStep.ADMINISTRATION
    elif status == Status.AWAITING_COMPLETION:
        stage, next_step = Stage.SUSPENDED, NextStep.DEPOSITOR
    else:
        stage, next_step = Stage.OVER, NextStep.NONE
    days_left = (due_on - today).days if due_on is not None else None
    return CaseSummary(due_on=due_on, days_left=days_left, stage=stage, next_step=next_step)


def calendar_for(administration: Administration) -> BusinessCalendar:
    """The business calendar of ``administration``: the national one with its own days off and
    working days (one statement)."""
    days = list(CalendarDay.objects.filter(administration=administration).order_by().values_list("day", "is_working"))
    return BusinessCalendar(
        extra_days_off=frozenset(d for d, working in days if not working),
        extra_working_days=frozenset(d for d, working in days if working),
    )
