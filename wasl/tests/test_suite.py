"""The suite collects every app's tests: an app missing from pytest's testpaths is never run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pytest_django import DjangoDbBlocker

from conftest import proven_by_the_postgres_run, proven_by_the_sqlite_run, reaches_database

ROOT = Path(__file__).resolve().parents[2]


def test_every_directory_with_tests_is_collected() -> None:
    testpaths = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"])
    top_level = [
        d
        for d in ROOT.iterdir()
        if d.is_dir() and not d.name.startswith(".") and d.name not in ("var", "bench", "node_modules")
    ]
    with_tests = {d.name for d in top_level if next(d.glob("**/test_*.py"), None) is not None}
    assert with_tests - testpaths == set()


# Which tests the PostgreSQL run of `make test` leaves to the SQLite run (conftest.py): those that
# cannot reach the database. A test that unblocks the database itself reaches it (the production
# path did, and for a while ran in neither run).


def test_a_test_that_unblocks_the_database_itself_reaches_it(
    request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker
) -> None:
    assert reaches_database(request.node)


@pytest.mark.django_db
def test_a_test_marked_for_the_database_reaches_it(request: pytest.FixtureRequest) -> None:
    assert reaches_database(request.node)


def test_a_test_with_no_way_to_the_database_does_not_reach_it(request: pytest.FixtureRequest) -> None:
    assert not reaches_database(request.node)


@pytest.mark.database_incidental
def test_a_test_whose_database_is_incidental_is_left_to_the_postgres_run(
    request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker
) -> None:
    assert reaches_database(request.node)
    assert proven_by_the_postgres_run(request.node) and not proven_by_the_sqlite_run(request.node)


@pytest.mark.own_installations
def test_a_test_with_installations_of_its_own_is_left_to_the_sqlite_run(
    request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker
) -> None:
    assert reaches_database(request.node)  # only its mark leaves it to the SQLite run
    assert proven_by_the_sqlite_run(request.node) and not proven_by_the_postgres_run(request.node)


def test_a_test_that_reaches_the_database_runs_on_both(
    request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker
) -> None:
    assert not proven_by_the_sqlite_run(request.node) and not proven_by_the_postgres_run(request.node)
