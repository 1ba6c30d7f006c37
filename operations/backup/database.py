"""The database's part of a backup: a consistent snapshot taken while the service runs, and its restore.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the whole database in
one step, inside one read transaction, so the copy is the database as of one commit; in WAL
mode writers go on meanwhile. PostgreSQL: ``pg_dump`` in its custom format, which reads
everything in one repeatable-read transaction; ``pg_restore`` loads it into an empty database.
The PostgreSQL programs are found on the PATH, else in ``/usr/lib/postgresql/*/bin`` (newest
first), as ``scripts/with-postgres`` finds the server's.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connections, transaction

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
MEMBER = {SQLITE: "database/wasl.sqlite3", POSTGRESQL: "database/wasl.pgdump"}


class DatabaseBackupError(Exception):
    """The database could not be copied or restored; the message says why."""


class ProgramMissing(DatabaseBackupError):
    """A PostgreSQL client program (pg_dump, pg_restore) is not installed."""


def _settings() -> dict[str, Any]:
    # The connection's own settings: under the test runner they name the test database.
    return connections["default"].settings_dict


def engine() -> str:
    vendor = connections["default"].vendor
    if vendor not in (SQLITE, POSTGRESQL):
        raise DatabaseBackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


def sqlite_path() -> Path:
    return Path(_settings()["NAME"])


@dataclass
class Snapshot:
    """The database copied as of one instant, and the rows of one column as that copy holds them."""

    path: Path
    started_at: datetime  # no later than the instant copied: what committed before is in it
    finished_at: datetime
    names: set[str]


def snapshot(directory: Path, *, names_of: tuple[str, str]) -> Snapshot:
    """Copy the database, as of one instant, to a new file in ``directory``.

    ``names_of`` is a (table, column): its values as of the same instant come back in ``names``
    (the stored files the copy names).
    """
    table, column = names_of
    if engine() == SQLITE:
        source_path = sqlite_path()
        if not source_path.exists():
            raise DatabaseBackupError(f"The database {source_path} does not exist.")
        target = directory / "wasl.sqlite3"
        source = sqlite3.connect(source_path, timeout=60)
        copy = sqlite3.connect(target)
        try:
            started_at = datetime.now(UTC)
            source.backup(copy)  # every page in one step: one read transaction, one consistent state
            finished_at = datetime.now(UTC)
            problem = copy.execute("PRAGMA quick_check").fetchone()[0]
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            names = {row[0] for row in copy.execute(f'SELECT "{column}" FROM "{table}"')}  # noqa: S608 (model names)
        finally:
            copy.close()
            source.close()
        if problem != "ok":
            raise DatabaseBackupError(f"The copy of the database fails SQLite's check: {problem}")
        return Snapshot(target, started_at, finished_at, names)
    # pg_dump reads in a transaction of its own; to know what its copy holds, it is given this
    # transaction's snapshot (pg_export_snapshot), and the names are read in the same one.
    target = directory / "wasl.pgdump"
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        started_at = datetime.now(UTC)
        cursor.execute("SELECT pg_export_snapshot()")
        exported = cursor.fetchone()[0]
        _run_pg("pg_dump", "--format=custom", f"--snapshot={exported}", f"--file={target}")
        finished_at = datetime.now(UTC)
        cursor.execute(f'SELECT "{column}" FROM "{table}"')  # noqa: S608 (model names)
        names = {row[0] for row in cursor.fetchall()}
    return Snapshot(target, started_at, finished_at, names)


def check_snapshot(path: Path, database_engine: str) -> str | None:
    """What is wrong with a snapshot file taken from an archive, or None when it reads back."""
    if database_engine == SQLITE:
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                result = db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            return f"not a readable SQLite database ({exc})"
        return None if result == "ok" else f"SQLite's check fails: {result}"
    try:
        _run_pg("pg_restore", "--list", str(path), connect=False)
    except ProgramMissing:
        raise
    except DatabaseBackupError as exc:
        return str(exc)
    return None


def is_empty() -> bool:
    """Whether the configured database holds no table yet."""
    if engine() == SQLITE:
        path = sqlite_path()
        if not path.exists() or path.stat().st_size == 0:
            return True
        with closing(sqlite3.connect(path)) as db:
            return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        row = cursor.fetchone()
    return bool(row and row[0] == 0)


def restore(snapshot_path: Path, *, replace: bool, aside_suffix: str) -> str | None:
    """Make the configured database the snapshot's copy.

    With ``replace`` an existing SQLite file is renamed with ``aside_suffix`` (returned), and a
    PostgreSQL database has the snapshot's tables dropped and recreated.
    """
    connections.close_all()
    if engine() == SQLITE:
        target = sqlite_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        moved = None
        if replace and target.exists():
            moved = f"{target}{aside_suffix}"
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{target}{suffix}").exists():
                    os.replace(f"{target}{suffix}", f"{moved}{suffix}")
        temporary = target.with_name(target.name + ".restoring")
        shutil.copyfile(snapshot_path, temporary)
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, target)
        return moved
    clean = ["--clean", "--if-exists"] if replace else []
    _run_pg(
        "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", *clean, str(snapshot_path)
    )
    return None


def pg_program(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)],
    )
    if candidates:
        return str(candidates[-1])
    raise ProgramMissing(
        f"{name} was not found (PATH, /usr/lib/postgresql/*/bin); install PostgreSQL's client programs: "
        "apt-get install postgresql-client"
    )


def _run_pg(program: str, *arguments: str, connect: bool = True) -> None:
    environment = dict(os.environ)
    command = [pg_program(program), *arguments]
    if connect:
        config = _settings()
        # The password goes through the environment, never the command line others can read.
        for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
            if config.get(key):
                environment[variable] = str(config[key])
        sslmode = (config.get("OPTIONS") or {}).get("sslmode")
        if sslmode:
            environment["PGSSLMODE"] = str(sslmode)
        command.insert(1, f"--dbname={config['NAME']}")
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DatabaseBackupError(f"{program} failed: {result.stderr.strip() or result.returncode}")
