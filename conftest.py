"""Fixtures shared by every app's tests.

``commune`` is the administration under test; ``elsewhere`` is another one, whose
``outsider`` (a clerk there) and ``outsider_citizen`` must be denied everything of ours.
``signed_in(user)`` is a test client signed in as ``user``; ``clock`` stops the application clock
(``core.testing.clock_at`` for a given moment). Every test starts with an empty cache, so the
rate limits (counted in the cache) of one test never throttle another.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _pytest.mark.expression import Expression
from _pytest.nodeid import coerce_node_id
from _pytest.unittest import TestCaseFunction
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from pytest_django import Settings

from core.testing import Clock, clock_at
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_citizen, make_commune, make_staff, make_user

Role = Membership.Role

# Tests that need one of these costly session fixtures run in one xdist worker (``--dist
# loadgroup``), so that only one worker pays for it: Chromium, two real installations. (The tests
# of real processes need a migrated database, but that is a copy of the run's template: any
# worker makes one at no cost, so they spread over the workers.)
GROUP_OF_FIXTURE = {"playwright": "browser", "pair": "installations"}


# What brings a test to the suite's database besides the ``django_db`` mark: pytest-django's
# fixtures, and the test or any fixture of ours that unblocks the database itself
# (``django_db_blocker``, which pytest-django's own autouse fixtures also ask for).
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_setup",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def reaches_database(item: pytest.Item) -> bool:
    """Whether ``item`` can use the suite's database. A test that cannot is refused any query by
    pytest-django (it fails, on every database), so one that says False here proves the same on
    SQLite and on PostgreSQL. Anything this cannot read (a unittest case, another kind of item)
    counts as reaching it."""
    if not isinstance(item, pytest.Function) or isinstance(item, TestCaseFunction):
        return True
    if item.get_closest_marker("django_db"):
        return True
    names = set(item.fixturenames)
    if names & DATABASE_FIXTURES or "django_db_blocker" in item._fixtureinfo.argnames:
        return True
    definitions = item._fixtureinfo.name2fixturedefs
    return any(
        "django_db_blocker" in definition.argnames and not definition.func.__module__.startswith("pytest_django")
        for name in names
        for definition in definitions.get(name, ())
    )


def proven_by_the_sqlite_run(item: pytest.Item) -> bool:
    """Whether the SQLite run proves all that ``item`` proves, so that the PostgreSQL run of a
    plan with both leaves it out: its processes run on SQLite whatever the suite's database
    (``own_installations``), or it cannot reach the database at all."""
    return bool(item.get_closest_marker("own_installations") or not reaches_database(item))


def proven_by_the_postgres_run(item: pytest.Item) -> bool:
    """Whether the PostgreSQL run proves all that ``item`` proves, so that the SQLite run of a
    plan with both leaves it out: real processes whose supervision or proxies the kind of
    database does not change (``database_incidental``). They run where the other run's
    installations are not, so that the two runs end together."""
    return bool(item.get_closest_marker("database_incidental"))


def _name_group(item: pytest.Item, group: str) -> None:
    """What pytest-xdist (3.8) does for an ``xdist_group`` mark, done so that pytest 9.2 sees it:
    the group's name appended to the test's id, which ``--dist loadgroup`` reads to send a group's
    tests to one worker. xdist sets ``item._nodeid``, which pytest 9.2 no longer reads (the id is
    ``item._id``): without this every worker started its own Chromium, pair of installations and
    migrated database."""
    if "@" not in item.nodeid.rpartition("]")[2]:
        item._id = coerce_node_id(f"{item.nodeid}@{group}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the tests of a costly fixture (above). In a plan that runs both databases
    (``scripts/test``), each run leaves out what the other proves: the PostgreSQL run, the tests
    of ``proven_by_the_sqlite_run``; the SQLite run, those of ``proven_by_the_postgres_run``. The
    production path and the start-up checks run on both."""
    on_postgres = not _on_sqlite()
    plan = os.environ.get("WASL_TEST_DATABASES", "").split()
    both = "sqlite" in plan and "postgres" in plan
    proven_elsewhere = proven_by_the_sqlite_run if on_postgres else proven_by_the_postgres_run
    grouped = config.pluginmanager.hasplugin("xdist")  # else (-p no:xdist) nothing to group
    kept, left_out = [], []
    for item in items:
        if both and proven_elsewhere(item):
            left_out.append(item)
            continue
        kept.append(item)
        if not grouped:
            continue
        fixtures = getattr(item, "fixturenames", ())
        for fixture, group in GROUP_OF_FIXTURE.items():
            if fixture in fixtures:
                item.add_marker(pytest.mark.xdist_group(group))
                _name_group(item, group)
                break
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Generator[None, object, object]:
    """A test function that ``-m`` leaves out whatever marks its parameters add is not expanded
    into tests at all: the fast lane (``-m "not slow and not browser"``) does not pay for the
    seconds schemathesis takes to build the cases of the slow API fuzz tests. Anything else is
    collected as usual (and ``-m`` deselects it as usual). A wrapper, and the outermost one:
    schemathesis's own wrapper replaces whatever a plain hook answers with its collector."""
    made = yield
    return [] if _left_out_by_markexpr(collector, name, obj) else made


@functools.cache
def _compiled(expression: str) -> Expression:
    return Expression.compile(expression)


def _left_out_by_markexpr(collector: pytest.Collector, name: str, obj: object) -> bool:
    expression = collector.config.option.markexpr
    if not expression or not callable(obj) or not name.startswith("test"):
        return False
    certain = {mark.name for mark in getattr(obj, "pytestmark", [])}
    for node in collector.listchain():
        certain |= {mark.name for mark in node.iter_markers()}
    compiled = _compiled(expression)
    free = sorted(set(re.findall(r"\b\w+\b", expression)) - {"and", "or", "not"} - certain)
    for values in itertools.product((False, True), repeat=len(free)):
        chosen = certain | {mark for mark, value in zip(free, values, strict=True) if value}
        if compiled.evaluate(lambda mark, /, chosen=chosen, **_: mark in chosen):
            return False
    return True


# With xdist, the test database is migrated once per run, by a process the controller starts as
# soon as it is configured, into a template: a file on SQLite, a database of the suite's server
# on PostgreSQL. Each worker's test database is a copy of it; so are the databases the tests of
# real processes and real installations start from (``migrated_template``). The template is kept
# between runs while no migration changes (``_kept_template``).
_MIGRATE_TEMPLATE = """
import os, subprocess, sys, traceback
kind, target, ready, kept = sys.argv[1:5]
try:
    if kind == "postgres":
        import psycopg
        from operations.testing import postgres_program
        with psycopg.connect(os.environ["WASL_TEMPLATE_SERVER"], autocommit=True) as server:
            server.execute(f'CREATE DATABASE "{target}"')
        if kept and os.path.exists(kept):
            subprocess.run(
                [postgres_program("pg_restore"), "--no-owner", "--exit-on-error", "-d", os.environ["WASL_DATABASE_URL"], kept],
                check=True,
            )
            open(ready, "w").close()
            sys.exit(0)
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    if kind == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    if kind == "sqlite":
        os.replace(target + ".building", target)
    if kept:
        import glob, shutil
        for old in glob.glob(os.path.join(os.path.dirname(kept), kind + "-*")):
            if old != kept and not old.endswith(".building"):
                os.remove(old)
        if kind == "sqlite":
            shutil.copyfile(target, kept + ".building")
        else:
            subprocess.run(
                [postgres_program("pg_dump"), "--format=custom", "--no-owner", "-f", kept + ".building",
                 os.environ["WASL_DATABASE_URL"]],
                check=True,
            )
        os.replace(kept + ".building", kept)
    open(ready, "w").close()
except SystemExit:
    raise
except BaseException:
    traceback.print_exc()
    open(ready + ".failed", "w").close()
    raise
"""
_template_process: list[subprocess.Popen[bytes]] = []


def _on_sqlite() -> bool:
    return bool(django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3")


def _server_url(database: str) -> str:
    """The suite's PostgreSQL server (WASL_DATABASE_URL), naming ``database`` instead."""
    return urlsplit(os.environ["WASL_DATABASE_URL"])._replace(path=f"/{database}").geturl()


def _kept_template(kind: str) -> Path | None:
    """Where a checkout keeps its migrated template between runs (``var/test-cache/``): the
    SQLite file, or a ``pg_dump`` of the PostgreSQL database (the suite's server is new in each
    run), named after what makes it: every migration file, Django's version and the script
    above. A run whose migrations are unchanged copies or restores it instead of migrating
    again; any change to a migration (or a fresh clone, as in CI) migrates from an empty
    database. None when WASL_TEST_KEEP_TEMPLATE=0."""
    if os.environ.get("WASL_TEST_KEEP_TEMPLATE", "1") == "0":
        return None
    import hashlib

    import django

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{django.__version__}\0{_MIGRATE_TEMPLATE}".encode())
    for path in sorted(root.glob("*/migrations/*.py")):
        digest.update(f"\0{path.relative_to(root)}\0".encode() + path.read_bytes())
    directory = root / "var" / "test-cache"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{kind}-{digest.hexdigest()[:20]}.{'sqlite3' if kind == 'sqlite' else 'dump'}"


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return  # an xdist worker, or a run without xdist
    if config.getvalue("reuse_db") or "WASL_TEST_RUN_DIR" not in os.environ:
        return
    run = os.environ["WASL_TEST_RUN_DIR"]
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "wasl.test_settings"}
    if _on_sqlite():
        kind, target = "sqlite", os.path.join(run, "template.sqlite3")
        environment["WASL_DATABASE_URL"] = f"sqlite:///{target}.building"
    elif "WASL_DATABASE_URL" in os.environ:
        kind, target = "postgres", f"wasl_template_{os.getpid()}"
        environment["WASL_TEMPLATE_SERVER"] = os.environ["WASL_DATABASE_URL"]
        environment["WASL_DATABASE_URL"] = _server_url(target)
    else:
        return
    ready = os.path.join(run, "template.ready")
    kept = _kept_template(kind)
    if kind == "sqlite" and kept is not None and kept.exists():
        target = str(kept)
        Path(ready).touch()
    else:
        with open(ready + ".log", "wb") as log:
            _template_process.append(
                subprocess.Popen(
                    [sys.executable, "-c", _MIGRATE_TEMPLATE, kind, target, ready, str(kept or "")],
                    env=environment,
                    stderr=log,
                )
            )
    # Read by the workers, started after this.
    os.environ.update(WASL_TEST_TEMPLATE_DB=target, WASL_TEST_TEMPLATE_KIND=kind, WASL_TEST_TEMPLATE_READY=ready)


def pytest_unconfigure(config: pytest.Config) -> None:
    for process in _template_process:
        process.wait()
    if _template_process and os.environ.get("WASL_TEST_TEMPLATE_KIND") == "postgres":
        # The workers keep their databases (a copy of the template each): drop them, and the
        # template, whatever connection a thread of theirs left open.
        import psycopg

        prefix = (
            django_settings.DATABASES["default"]["TEST"].get("NAME")
            or "test_" + django_settings.DATABASES["default"]["NAME"]
        )
        with psycopg.connect(os.environ["WASL_DATABASE_URL"], autocommit=True) as server:
            names = [
                row[0]
                for row in server.execute(
                    "SELECT datname FROM pg_database WHERE datname = %s OR starts_with(datname, %s)",
                    [os.environ["WASL_TEST_TEMPLATE_DB"], prefix + "_gw"],
                )
            ]
            for name in names:
                server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_template_wait() -> tuple[str, str] | None:
    """The kind (``sqlite``, ``postgres``) and place (a file, a database name) of this run's
    migrated template, once it is ready; None in a run without one."""
    ready = os.environ.get("WASL_TEST_TEMPLATE_READY")
    if not ready:
        return None
    deadline = time.monotonic() + 900
    while not os.path.exists(ready):
        if os.path.exists(ready + ".failed") or time.monotonic() > deadline:
            with open(ready + ".log", encoding="utf-8", errors="replace") as log:
                pytest.fail(f"The migration of the test database failed:\n{log.read()}")
        time.sleep(0.1)
    return os.environ["WASL_TEST_TEMPLATE_KIND"], os.environ["WASL_TEST_TEMPLATE_DB"]


@pytest.fixture(scope="session")
def migrated_template() -> tuple[str, str] | None:
    """This run's migrated template (``migrated_template_wait``), for the tests that start real
    processes or installations on a migrated database of their own."""
    return migrated_template_wait()


@pytest.fixture(scope="session")
def django_db_keepdb(request: pytest.FixtureRequest, django_db_modify_db_settings: None) -> bool:
    """pytest-django's: keep the test database when --reuse-db is given; and in an xdist worker,
    start from a copy of the controller's migrated template (kept: the controller drops it, or it
    goes with the run's directory)."""
    if request.config.getvalue("reuse_db"):
        return True
    if not hasattr(request.config, "workerinput"):
        return False
    template = migrated_template_wait()
    if template is None:
        return False
    kind, place = template
    name = django_settings.DATABASES["default"]["TEST"]["NAME"]
    if kind == "sqlite":
        shutil.copyfile(place, name)
        return True
    import psycopg

    with psycopg.connect(os.environ["WASL_DATABASE_URL"], autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{place}"')
    return True


@pytest.fixture(autouse=True)
def _files_of_this_test(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> None:
    """Each test stores its files apart: the database is rolled back after every test, and the
    files (anchor files of the register logs above all) must not outlive the rows they go with."""
    settings.FILES_DIR = tmp_path_factory.mktemp("files")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """The rate limits are counted in the cache: each test starts with none used."""
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the default language (Arabic): a language left active in the thread by
    the test before (a request through LocaleMiddleware leaves its own) does not carry over."""
    translation.deactivate()


@pytest.fixture
def signed_in() -> Callable[..., Client]:
    """``signed_in(user)``: a new test client signed in as ``user`` (a session made directly, not
    the sign-in form), asking for pages in ``language`` when given (``signed_in(user, "fr")``),
    else in the default language (Arabic)."""

    def client_of(user: User, language: str | None = None) -> Client:
        client = Client(headers={"Accept-Language": language}) if language else Client()
        client.force_login(user)
        return client

    return client_of


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The application clock stopped at the current time (to the second) for the whole test;
    ``clock.advance(seconds)`` moves it."""
    with clock_at() as stopped:
        yield stopped


@pytest.fixture
def commune(db: None) -> Administration:
    return make_commune()


@pytest.fixture
def elsewhere(db: None) -> Administration:
    return make_administration("PROVINCE-AUTRE", kind=Administration.Kind.PROVINCE, name_fr="Province Autre")


@pytest.fixture
def citizen(db: None) -> User:
    return make_citizen()


@pytest.fixture
def outsider_citizen(db: None) -> User:
    return make_user("other.citizen@example.ma", full_name="Youssef Amrani")


@pytest.fixture
def clerk(commune: Administration) -> User:
    return make_staff(commune, Role.CLERK, "clerk@commune.ma", full_name="Clerk Test")


@pytest.fixture
def agent(commune: Administration) -> User:
    return make_staff(commune, Role.AGENT, "agent@commune.ma")


@pytest.fixture
def head(commune: Administration) -> User:
    return make_staff(commune, Role.HEAD, "head@commune.ma")


@pytest.fixture
def signatory(commune: Administration) -> User:
    return make_staff(commune, Role.SIGNATORY, "signatory@commune.ma")


@pytest.fixture
def commune_admin(commune: Administration) -> User:
    return make_staff(commune, Role.ADMIN, "admin@commune.ma")


@pytest.fixture
def auditor(commune: Administration) -> User:
    return make_staff(commune, Role.AUDITOR, "auditor@commune.ma")


@pytest.fixture
def outsider(elsewhere: Administration) -> User:
    """Staff of another administration, with every role there."""
    user = make_staff(elsewhere, Role.CLERK, "outsider@province.ma")
    for role in (Role.ADMIN, Role.AUDITOR, Role.HEAD, Role.SIGNATORY):
        Membership.objects.create(user=user, administration=elsewhere, role=role)
    return user


@pytest.fixture
def outbox(settings: Settings, tmp_path: Path) -> Path:
    """Outgoing e-mail kept in an outbox of this test's own, as an installation without SMTP keeps it."""
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.MAILERS = {"default": {"BACKEND": "core.mail.OutboxEmailBackend"}}
    return tmp_path / "outbox"
