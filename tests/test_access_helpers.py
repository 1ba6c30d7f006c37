"""The one access helper of each kind of object, ``<kind>_for(scope, id, *, for_update=False)``:
what a reader gets, what an outsider and a role that may not read it get (NotFound, never a
"forbidden" that says it exists), and the row lock ``for_update`` takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.errors import NotFound
from exchange.selectors import document_request_for
from parapheur.models import Folder, StepKind
from parapheur.selectors import folder_for
from parapheur.services import StepSpec, folder_submit
from parapheur.testing import document
from registry.models import Correspondence
from registry.selectors import correspondence_for
from registry.testing import counter_mail
from tenancy.access import scope_of
from tenancy.models import Administration, User
from workflow.selectors import case_for
from workflow.testing import deposit


@pytest.fixture
def letter(commune: Administration, clerk: User) -> Correspondence:
    return counter_mail(commune, clerk, "Secret subject", confidential=True)


def test_a_correspondence_is_read_by_its_staff_and_the_reading_audited(
    commune: Administration, clerk: User, letter: Correspondence
) -> None:
    from audit.models import AuditEvent

    assert correspondence_for(scope_of(clerk, commune), letter.pk) == letter
    assert AuditEvent.objects.filter(action="correspondence.viewed", object_id=str(letter.pk)).exists()


def test_a_confidential_correspondence_is_not_found_by_an_auditor_nor_an_agent(
    commune: Administration, letter: Correspondence, auditor: User, agent: User
) -> None:
    for user in (auditor, agent):
        with pytest.raises(NotFound):
            correspondence_for(scope_of(user, commune), letter.pk)


def test_an_outsider_finds_nothing_even_naming_our_administration(
    commune: Administration, elsewhere: Administration, letter: Correspondence, outsider: User
) -> None:
    with pytest.raises(NotFound):
        correspondence_for(scope_of(outsider, elsewhere), letter.pk)
    with pytest.raises(NotFound):
        correspondence_for(scope_of(outsider, commune), letter.pk)


def test_a_case_is_read_within_one_s_reach_only(
    commune: Administration, citizen: User, clerk: User, auditor: User, outsider: User, elsewhere: Administration
) -> None:
    case_id = deposit(commune, citizen).correspondence.pk
    assert case_for(scope_of(clerk, commune), case_id).pk == case_id
    assert case_for(scope_of(auditor, commune), case_id).pk == case_id
    for scope in (scope_of(outsider, elsewhere), scope_of(outsider, commune)):
        with pytest.raises(NotFound):
            case_for(scope, case_id)


def test_a_confidential_case_is_not_found_by_an_auditor(
    commune: Administration, citizen: User, auditor: User, clerk: User
) -> None:
    case_id = deposit(commune, citizen, confidential=True).correspondence.pk
    assert case_for(scope_of(clerk, commune), case_id).pk == case_id
    with pytest.raises(NotFound):
        case_for(scope_of(auditor, commune), case_id)


def test_unknown_ids_are_not_found(commune: Administration, clerk: User) -> None:
    scope = scope_of(clerk, commune)
    for find_by_number in (correspondence_for, case_for, folder_for):
        with pytest.raises(NotFound):
            find_by_number(scope, 10**9)
    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        with pytest.raises(NotFound):
            document_request_for(scope, missing)


def _folder(commune: Administration, clerk: User, head: User) -> Folder:
    steps = [StepSpec(kind=StepKind.VISA, people=(head.pk,))]
    return folder_submit(
        actor=clerk, administration=commune, title="Décision", document=document(), document_name="d.pdf", steps=steps
    )


def test_a_folder_is_read_by_its_people_and_the_roles_that_read_every_folder(
    commune: Administration,
    clerk: User,
    head: User,
    agent: User,
    auditor: User,
    commune_admin: User,
    outsider: User,
    elsewhere: Administration,
) -> None:
    folder = _folder(commune, clerk, head)
    for user in (clerk, head, auditor, commune_admin):
        assert folder_for(scope_of(user, commune), folder.pk) == folder
    for scope in (scope_of(agent, commune), scope_of(outsider, elsewhere), scope_of(outsider, commune)):
        with pytest.raises(NotFound):
            folder_for(scope, folder.pk)


@pytest.mark.parametrize("kind", ["correspondence", "case", "folder"])
def test_for_update_locks_the_row_on_postgresql(
    kind: str, commune: Administration, citizen: User, clerk: User, head: User
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: its write lock is the whole database")
    find: Callable[..., Any] = {"correspondence": correspondence_for, "case": case_for, "folder": folder_for}[kind]
    pk = _folder(commune, clerk, head).pk if kind == "folder" else deposit(commune, citizen).correspondence.pk
    scope = scope_of(clerk, commune)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        find(scope, pk, for_update=True)
    assert any(" FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        find(scope, pk)
    assert not any(" FOR UPDATE" in q["sql"] for q in queries.captured_queries)
