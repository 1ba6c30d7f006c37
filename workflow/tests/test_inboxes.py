"""Who sees what in the inboxes, and that every box's count is the number of cases it lists.

The counts are computed apart from the lists (in parts, in one statement, capped), so each
scope's counts are checked against its lists, and both against the visibility rules written
out case by case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import date, timedelta
from typing import TypedDict

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, DjangoDbBlocker

from core.testing import Clock
from tenancy.access import Scope, scope_for_staff, scope_of
from tenancy.models import Administration, Membership, Service, User
from tenancy.testing import make_citizen, make_commune, make_service, make_staff
from tests.once import built_for_the_module
from workflow import selectors as wf
from workflow import services
from workflow.models import Case, CaseCopy, Status
from workflow.testing import deposit

Role = Membership.Role
TODAY = date(2026, 11, 23)  # a Monday
SOON = date(2026, 11, 30)


class World(TypedDict):
    commune: Administration
    cases: dict[str, int]
    services: dict[str, Service]
    users: dict[str, User]


class Built(TypedDict):
    commune: int
    citizen: int
    cases: dict[str, int]
    services: dict[str, int]
    users: dict[str, int]


@pytest.fixture(scope="module")
def built(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Built]:
    """The world of these tests, built once for the module in a transaction rolled back at its
    end; each test runs in a savepoint of it and reads its own copies of the objects."""
    with built_for_the_module(django_db_blocker):
        commune, citizen = make_commune(), make_citizen()
        world = _build(commune, citizen)
        yield {
            "commune": commune.pk,
            "citizen": citizen.pk,
            "cases": world["cases"],
            "services": {key: service.pk for key, service in world["services"].items()},
            "users": {key: user.pk for key, user in world["users"].items()},
        }


@pytest.fixture
def commune(built: Built, db: None) -> Administration:
    return Administration.objects.get(pk=built["commune"])


@pytest.fixture
def citizen(built: Built, db: None) -> User:
    return User.objects.get(pk=built["citizen"])


@pytest.fixture
def world(built: Built, commune: Administration) -> World:
    return {
        "commune": commune,
        "cases": dict(built["cases"]),
        "services": {key: Service.objects.get(pk=pk) for key, pk in built["services"].items()},
        "users": {key: User.objects.get(pk=pk) for key, pk in built["users"].items()},
    }


def _build(commune: Administration, citizen: User) -> World:
    """A directorate (DIR) with two services under it (URB, ECO) and a service beside it (OTH);
    cases of every kind spread over them."""
    directorate = make_service(commune, "DIR", name_fr="Direction")
    urb = make_service(commune, "URB", name_fr="Urbanisme", parent=directorate)
    eco = make_service(commune, "ECO", name_fr="Économie", parent=directorate)
    other = make_service(commune, "OTH", name_fr="Autre")
    director = make_staff(commune, Role.HEAD, "director@commune.ma")
    Membership.objects.filter(user=director).update(service=directorate)
    agent = make_staff(commune, Role.AGENT, "urb.agent@commune.ma")
    Membership.objects.filter(user=agent).update(service=urb)
    colleague = make_staff(commune, Role.AGENT, "urb.colleague@commune.ma")
    Membership.objects.filter(user=colleague).update(service=urb)

    def case(
        label: str,
        *,
        status: str,
        service: Service | None = None,
        agent: User | None = None,
        due: int = 0,
        confidential: bool = False,
    ) -> int:
        c = deposit(commune, citizen, subject=label, confidential=confidential).correspondence
        Case.objects.filter(pk=c.pk).update(
            status=status, service=service, agent=agent, due_on=TODAY + timedelta(days=due)
        )
        return c.pk

    cases = {
        "new": case("new", status=Status.REGISTERED, due=40),
        "urb-mine": case("urb-mine", status=Status.IN_PROGRESS, service=urb, agent=agent, due=3),
        "urb-colleague": case("urb-colleague", status=Status.ASSIGNED, service=urb, agent=colleague, due=-2),
        "urb-late": case("urb-late", status=Status.ASSIGNED, service=urb, due=-5),
        "urb-secret": case("urb-secret", status=Status.ASSIGNED, service=urb, due=10, confidential=True),
        "urb-secret-mine": case(
            "urb-secret-mine", status=Status.IN_PROGRESS, service=urb, agent=agent, due=20, confidential=True
        ),
        "urb-done": case("urb-done", status=Status.ANSWERED, service=urb, agent=agent, due=-30),
        "eco": case("eco", status=Status.AWAITING_COMPLETION, service=eco, due=15),
        "oth": case("oth", status=Status.IN_PROGRESS, service=other, due=1),
        # Given by name to URB's agent while in another service (moved after it was given).
        "oth-given": case("oth-given", status=Status.IN_PROGRESS, service=other, agent=agent, due=-1),
        "oth-copied": case("oth-copied", status=Status.ASSIGNED, service=other, due=30),
    }
    CaseCopy.objects.create(case_id=cases["oth-copied"], service=urb, added_at=timezone.now())
    return {
        "commune": commune,
        "cases": cases,
        "services": {"dir": directorate, "urb": urb, "eco": eco, "oth": other},
        "users": {"director": director, "agent": agent},
    }


BOX_OF = {  # each case's box, from its status and due date (TODAY)
    "new": {"to_assign"},
    "urb-mine": {"in_progress", "due_soon"},
    "urb-colleague": {"in_progress", "overdue"},
    "urb-late": {"in_progress", "overdue"},
    "urb-secret": {"in_progress"},
    "urb-secret-mine": {"in_progress"},
    "urb-done": {"done"},
    "eco": {"in_progress"},
    "oth": {"in_progress", "due_soon"},
    "oth-given": {"in_progress", "overdue"},
    "oth-copied": {"in_progress"},
}
ALL = set(BOX_OF)

# What each person may read (the rules of workflow.selectors, written out).
VISIBLE = {
    "clerk": ALL,
    # a head: the cases of their service and those under it, confidential ones included
    "director": {name for name in ALL if name.startswith(("urb", "eco"))},
    # an agent: their service's cases but the confidential ones not given to them, and what
    # was given to them by name anywhere
    "agent": {"urb-mine", "urb-colleague", "urb-late", "urb-secret-mine", "urb-done", "oth-given"},
}


def _names(world: World, pks: Iterable[int]) -> set[str]:
    by_pk = {pk: name for name, pk in world["cases"].items()}
    return {by_pk[pk] for pk in pks}


def _scope(world: World, who: str, clerk: User) -> Scope:
    user = clerk if who == "clerk" else world["users"][who]
    return scope_of(user, world["commune"])


@pytest.mark.parametrize("who", ["clerk", "director", "agent"])
@pytest.mark.parametrize("mine", [False, True])
def test_each_box_lists_what_the_rules_allow_and_counts_what_it_lists(
    world: World, clerk: User, who: str, mine: bool
) -> None:
    scope = _scope(world, who, clerk)
    me = scope.user
    mine_names = {n for n, pk in world["cases"].items() if Case.objects.get(pk=pk).agent_id == me.pk}
    counts = wf.box_counts(scope, today=TODAY, soon=SOON, mine=mine)
    for box in ("to_assign", "in_progress", "due_soon", "overdue", "done"):
        listed = _names(world, wf.inbox(scope, box, today=TODAY, soon=SOON, mine=mine).values_list("pk", flat=True))
        expected = {name for name in VISIBLE[who] if box in BOX_OF[name]}
        if mine:
            expected = {name for name in ALL if box in BOX_OF[name]} & mine_names
        assert listed == expected, (who, box)
        assert counts[box] == len(listed), (who, box)


def test_a_service_filter_narrows_the_lists_and_the_counts_alike(world: World, clerk: User) -> None:
    urb = world["services"]["urb"]
    agent = scope_of(world["users"]["agent"], world["commune"])
    counts = wf.box_counts(agent, today=TODAY, soon=SOON, service_id=urb.pk)
    listed = _names(
        world, wf.inbox(agent, "in_progress", today=TODAY, soon=SOON, service_id=urb.pk).values_list("pk", flat=True)
    )
    assert listed == {"urb-mine", "urb-colleague", "urb-late", "urb-secret-mine"}
    assert counts["in_progress"] == 4
    # The agent's own boxes within one service: only URB's, not the case given elsewhere.
    mine = wf.inbox(agent, "in_progress", today=TODAY, soon=SOON, service_id=urb.pk, mine=True)
    assert _names(world, mine.values_list("pk", flat=True)) == {"urb-mine", "urb-secret-mine"}
    other = world["services"]["oth"]
    assert _names(
        world, wf.inbox(agent, "in_progress", today=TODAY, soon=SOON, service_id=other.pk).values_list("pk", flat=True)
    ) == {"oth-given"}


def test_copies_are_listed_once_in_their_own_box_and_counted_as_listed(
    world: World, citizen: User, clerk: User
) -> None:
    # A confidential case of another service, sent in copy to URB: not for an agent's eyes.
    secret = deposit(world["commune"], citizen, subject="secret-copy", confidential=True).correspondence
    services.case_assign(
        actor=clerk, case_id=secret.pk, service=world["services"]["oth"], copies=[world["services"]["urb"]]
    )
    assert CaseCopy.objects.get(case_id=secret.pk).confidential  # the copy knows, for the counts
    agent = scope_of(world["users"]["agent"], world["commune"])
    listed = list(wf.inbox(agent, "in_copy", today=TODAY, soon=SOON).values_list("pk", flat=True))
    assert listed == [world["cases"]["oth-copied"]]
    assert wf.box_counts(agent, today=TODAY, soon=SOON)["in_copy"] == 1
    assert wf.box_counts(agent, today=TODAY, soon=SOON, mine=True)["in_copy"] == 0
    # Given to the agent by name, the confidential copy is theirs to see, and counted.
    Case.objects.filter(pk=secret.pk).update(agent=world["users"]["agent"])
    seen = set(wf.inbox(agent, "in_copy", today=TODAY, soon=SOON).values_list("pk", flat=True))
    assert seen == {world["cases"]["oth-copied"], secret.pk}
    assert wf.box_counts(agent, today=TODAY, soon=SOON)["in_copy"] == 2
    # Copies go to services, not to a person: "only mine" never shows them.
    assert wf.box_counts(agent, today=TODAY, soon=SOON, mine=True)["in_copy"] == 0
    assert not wf.inbox(agent, "in_copy", today=TODAY, soon=SOON, mine=True).exists()
    Case.objects.filter(pk=secret.pk).update(agent=None)
    # Someone with two services of their own (agent in URB, head of ECO), both sent the same
    # case in copy, sees it once; as a head they may read the confidential one.
    double = make_staff(world["commune"], Role.AGENT, "double@commune.ma")
    Membership.objects.filter(user=double).update(service=world["services"]["urb"])
    Membership.objects.create(
        user=double, administration=world["commune"], role=Role.HEAD, service=world["services"]["eco"]
    )
    CaseCopy.objects.create(
        case_id=world["cases"]["oth-copied"], service=world["services"]["eco"], added_at=timezone.now()
    )
    scope = scope_of(double, world["commune"])
    assert scope.own_services == {world["services"]["urb"].pk, world["services"]["eco"].pk}
    listed = list(wf.inbox(scope, "in_copy", today=TODAY, soon=SOON).values_list("pk", flat=True))
    assert sorted(listed) == sorted([world["cases"]["oth-copied"], secret.pk])
    assert wf.box_counts(scope, today=TODAY, soon=SOON)["in_copy"] == 2


def test_counts_stop_at_the_cap(world: World, clerk: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wf, "COUNT_CAP", 2)
    counts = wf.box_counts(scope_of(clerk, world["commune"]), today=TODAY, soon=SOON)
    assert counts["in_progress"] == 3  # "2+": one more than the cap, never the whole box
    assert counts["to_assign"] == 1 and counts["in_copy"] == 0


def test_another_administrations_service_lists_and_counts_nothing(
    world: World, clerk: User, elsewhere: Administration
) -> None:
    theirs = make_service(elsewhere, "URB")
    scope = scope_of(clerk, world["commune"])
    assert not wf.inbox(scope, "in_progress", today=TODAY, soon=SOON, service_id=theirs.pk).exists()
    counts = wf.box_counts(scope, today=TODAY, soon=SOON, service_id=theirs.pk, mine=True)
    assert set(counts.values()) == {0}


def test_a_staff_scope_is_read_in_one_membership_query(
    world: World, clerk: User, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(2):  # the memberships (with the administration), the services
        scope = scope_for_staff(world["users"]["director"], world["commune"].code)
    assert scope.handles == {s.pk for key, s in world["services"].items() if key != "oth"}
    assert [s.code for s in scope.services] == ["DIR", "ECO", "OTH", "SG", "URB"]


def test_the_inbox_page_lists_one_page_of_rows_in_order_and_pages_on(
    world: World, clerk: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desk import processing

    monkeypatch.setattr(processing, "PAGE_SIZE", 4)
    client = Client(headers={"Accept-Language": "fr"})  # the page in French
    client.force_login(clerk)
    code = world["commune"].code
    with mock_today():
        first = client.get(f"/desk/{code}/inbox/?box=in_progress&sort=due").content.decode()
        second = client.get(f"/desk/{code}/inbox/?box=in_progress&sort=due&page=2").content.decode()
        third = client.get(f"/desk/{code}/inbox/?box=in_progress&page=3").content.decode()
    # The four soonest due: urb-late (-5), urb-colleague (-2), oth-given (-1), oth (+1).
    order = [first.find(f"<td><bdi>{name}") for name in ("urb-late", "urb-colleague", "oth-given", "oth<")]
    assert -1 not in order and order == sorted(order), order
    assert "9 courriers" in first and "1 / 3" in first
    assert "urb-mine" not in first and "<td><bdi>urb-mine" in second and "urb-late" not in second
    assert "<td><bdi>oth-copied" in third and "<td><bdi>urb-mine" not in third
    # Each row says how late or how near, and a suspended clock says so.
    assert "5 jours de retard" in first and "1 jour restant" in first and "3 jours restants" in second
    assert "Délai suspendu" in second and "Délai suspendu" not in first
    # The confidential case is marked; the service is named.
    assert "Confidentiel" in second and "Confidentiel" not in first and "Urbanisme" in first


def mock_today() -> AbstractContextManager[Clock]:
    from core.testing import clock_at

    return clock_at("2026-11-23 10:00")


def test_only_mine_stays_within_the_administration_and_its_services(
    world: World, elsewhere: Administration, citizen: User
) -> None:
    """A person working for two administrations sees, in each, only what was given to them there."""
    agent = world["users"]["agent"]
    theirs = make_service(elsewhere, "URB")
    Membership.objects.create(user=agent, administration=elsewhere, role=Role.AGENT, service=theirs)
    there = deposit(elsewhere, citizen, subject="there").correspondence
    Case.objects.filter(pk=there.pk).update(status=Status.IN_PROGRESS, service=theirs, agent=agent, due_on=TODAY)
    here = scope_of(agent, world["commune"])
    listed = set(wf.inbox(here, "in_progress", today=TODAY, soon=SOON, mine=True).values_list("pk", flat=True))
    assert there.pk not in listed and _names(world, listed) == {"urb-mine", "urb-secret-mine", "oth-given"}
    assert wf.box_counts(here, today=TODAY, soon=SOON, mine=True)["in_progress"] == 3
    # Naming the other administration's service changes nothing: it is not one of ours.
    assert not wf.inbox(here, "in_progress", today=TODAY, soon=SOON, service_id=theirs.pk, mine=True).exists()
    assert wf.box_counts(here, today=TODAY, soon=SOON, service_id=theirs.pk, mine=True)["in_progress"] == 0
    there_scope = scope_of(agent, elsewhere)
    assert list(
        wf.inbox(there_scope, "in_progress", today=TODAY, soon=SOON, mine=True).values_list("pk", flat=True)
    ) == [there.pk]


def test_a_case_keeps_its_correspondences_confidentiality(world: World) -> None:
    """The inboxes read confidentiality from the case: it must be the correspondence's."""
    pairs = Case.objects.values_list("confidential", "correspondence__confidential")
    assert all(ours == theirs for ours, theirs in pairs)
    assert sum(ours for ours, _ in pairs) == 2
