"""A database for the real processes these tests start (``serve``, ``make run``), of the kind the
suite runs on, migrated once per session and handed to each test as a copy of its own."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker

from operations.testing import MANAGE, ROOT, StackData, demo_environment


def _postgres_url(name: str) -> str:
    config = connection.settings_dict
    credentials = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    return f"postgres://{credentials}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{name}"


@pytest.fixture(scope="session")
def migrated_database(
    tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    migrated_template: tuple[str, str] | None,
) -> Iterator[str]:
    """SQLite: the path of a migrated database file. PostgreSQL: the name of a migrated
    database on the suite's server, the template of each test's own (dropped at the end). The
    run's migrated template when it has one (``migrated_template``), else migrated here."""
    if migrated_template is not None and migrated_template[0] == connection.vendor.replace("postgresql", "postgres"):
        yield migrated_template[1]
        return
    if connection.vendor == "sqlite":
        data_dir = tmp_path_factory.mktemp("migrated")
        subprocess.run([*MANAGE, "migrate", "-v0"], env=demo_environment(data_dir), check=True, cwd=ROOT, timeout=600)
        yield str(data_dir / "wasl.sqlite3")
        return
    name = f"wasl_stack_{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        environment = {**demo_environment(tmp_path_factory.mktemp("migrate")), "WASL_DATABASE_URL": _postgres_url(name)}
        subprocess.run([*MANAGE, "migrate", "-v0"], env=environment, check=True, cwd=ROOT, timeout=600)
        yield name
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def stack_data(migrated_database: str, tmp_path: Path, django_db_blocker: DjangoDbBlocker) -> Iterator[StackData]:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    if connection.vendor == "sqlite":
        shutil.copy(migrated_database, data_dir / "wasl.sqlite3")
        yield StackData(data_dir, {})
        return
    name = f"wasl_stack_{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_database}"')
    try:
        yield StackData(data_dir, {"WASL_DATABASE_URL": _postgres_url(name)})
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database(django_db_blocker: DjangoDbBlocker) -> Iterator[dict[str, str]]:
    """An empty database of the kind the suite runs on, as the environment names it: nothing on
    SQLite (a new file in the data directory), a new database on PostgreSQL (dropped at the end)."""
    if connection.vendor == "sqlite":
        yield {}
        return
    name = f"wasl_empty_{uuid.uuid4().hex[:10]}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"WASL_DATABASE_URL": _postgres_url(name)}
    finally:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
