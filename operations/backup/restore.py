"""Bring a backup up on this installation's (empty) data directory and database, then check it.

The archive is verified whole before anything is written. An installation that already holds
data is refused unless ``replace`` is given; then what is replaced is moved aside (SQLite
file, PKI directory, file store, renamed ``*.before-restore-<time>``: the old files must not
be swept as orphans of the restored database), except a PostgreSQL
database, whose tables the archive holds are dropped and recreated. A running ``serve`` on
the data directory is refused: restoring under a live service would mix two states.

After the copy: migrations this code has and the archive's database lacks are applied, every
stored file the database names must be present with its size, and ``verify_register`` must pass
(without asking pinned peers: see ``docs/operations.md``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from operations.backup import database
from operations.backup.archive import MANIFEST, BackupInvalid, hash_stream, read_members
from operations.backup.create import SECRET_NAME, redact
from operations.backup.verify import backup_verify
from operations.supervisor import RunDirectory

_WHERE_IT_LIVES = ("WASL_DATA_DIR", "WASL_FILES_DIR", "WASL_PKI_DIR", "WASL_DATABASE_URL", "WASL_BACKUP_DIR")


class RestoreRefused(Exception):
    """The restore was not started; the message says why and what to do."""


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    moved_aside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _holds_files(directory: Path, *, ignore: tuple[str, ...]) -> bool:
    if not directory.is_dir():
        return False
    for _, subdirectories, files in os.walk(directory):
        subdirectories[:] = [d for d in subdirectories if d not in ignore]
        if any(name not in ignore for name in files):
            return True
    return False


def _move_aside(path: Path, suffix: str) -> str | None:
    if not path.exists():
        return None
    target = f"{path}{suffix}"
    os.replace(path, target)
    return target


def _write(
    stream: Any, target: Path, *, mode: int, expected: tuple[str, int], name: str, mtime: float | None = None
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".restoring-")
    try:
        with os.fdopen(fd, "wb") as out:
            found = hash_stream(stream, copy_to=out)
            out.flush()
            os.fsync(out.fileno())
        if found != expected:
            raise BackupInvalid(f"{name} changed since the archive was verified.")
        os.chmod(temporary, mode & 0o777 or 0o600)
        if mtime is not None:  # the sweep's grace period and the next backup read it
            os.utime(temporary, (mtime, mtime))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _configuration_differences(archived: dict[str, Any]) -> list[str]:
    """What differs from the settings in effect where the backup was made (never a secret's value)."""

    def shown(value: str | None) -> str:
        return "unset (the default)" if value is None else repr(value)

    notes = []
    for name, value in sorted((archived.get("environment") or {}).items()):
        here = os.environ.get(name)
        if SECRET_NAME.search(name):
            if value is not None and here is None:
                notes.append(f"{name} was set where the backup was made: set it here too (it is not in the backup).")
            continue
        if name in _WHERE_IT_LIVES:
            continue  # restoring elsewhere is the point
        here_kept = None if here is None else redact(name, here)
        if value != here_kept:
            notes.append(f"{name} was {shown(value)} where the backup was made, here it is {shown(here_kept)}.")
    return notes


def _refuse_unknown_migrations(manifest: dict[str, Any]) -> None:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    archived = {tuple(m) for m in manifest["database"].get("migrations", [])}
    unknown = sorted(f"{app}.{name}" for app, name in archived - known)
    if unknown:
        raise RestoreRefused(
            "The archive's database was migrated by a newer Wasl (migrations unknown here: "
            + ", ".join(unknown[:5])
            + "). Install that version of Wasl, then restore."
        )


def backup_restore(
    archive: Path, *, replace: bool = False, say: Callable[[str], None] = lambda _: None
) -> RestoreResult:
    """Restore ``archive`` here; the returned problems are what the checks after the copy found."""
    run = RunDirectory(Path(settings.DATA_DIR) / "run")
    if not run.acquire():
        raise RestoreRefused(
            f"Wasl is being served from {settings.DATA_DIR} (serve pid {run.holder() or '?'}): stop it first (make stop)."
        )
    try:
        return _restore(archive, replace=replace, say=say)
    finally:
        run.release()


def _restore(archive: Path, *, replace: bool, say: Callable[[str], None]) -> RestoreResult:
    files_dir, pki_dir = Path(settings.FILES_DIR), Path(settings.PKI_DIR)
    engine = database.engine()
    occupied = []
    if not database.is_empty():
        occupied.append("the database")
    if _holds_files(files_dir, ignore=("tmp",)):
        occupied.append(str(files_dir))
    if _holds_files(pki_dir, ignore=(".lock",)):
        occupied.append(str(pki_dir))
    if occupied and not replace:
        raise RestoreRefused(
            f"Not empty: {', '.join(occupied)}. Restore into an empty data directory and database, "
            "or pass --force to replace them (what is replaced is moved aside, not deleted)."
        )
    verified = backup_verify(archive)  # whole, before anything is written
    manifest = verified.manifest
    say(f"verified: {verified.members} members, SHA-256 {verified.sha256}")
    if manifest["database"]["engine"] != engine:
        raise RestoreRefused(
            f"The archive holds a {manifest['database']['engine']} database and this installation uses {engine} "
            "(WASL_DATABASE_URL): restore it into the same kind of database."
        )
    _refuse_unknown_migrations(manifest)

    result = RestoreResult(manifest, notes=list(verified.notes))
    suffix = f".before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    if replace:
        for path in (pki_dir, files_dir):
            if _holds_files(path, ignore=(".lock",)):
                try:
                    moved = _move_aside(path, suffix)
                except OSError as exc:
                    raise RestoreRefused(f"{path} cannot be moved aside ({exc.strerror}): empty it first.") from exc
                if moved:
                    result.moved_aside.append(moved)
    expected = {m["name"]: (m["sha256"], int(m["size"])) for m in manifest["members"]}
    counts = {"pki": 0, "files": 0}
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".wasl-restore-") as scratch:
        snapshot = Path(scratch) / "snapshot"
        for member in read_members(archive):
            if member.name == MANIFEST:
                continue
            top, _, rest = member.name.partition("/")
            if top == "config":
                archived = json.loads(member.stream.read())
                result.notes += _configuration_differences(archived)
                continue
            if top == "database":
                _write(member.stream, snapshot, mode=0o600, expected=expected[member.name], name=member.name)
                continue
            base = pki_dir if top == "pki" else files_dir
            if top == "pki":
                base.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write(
                member.stream,
                base / rest,
                mode=member.info.mode,
                expected=expected[member.name],
                name=member.name,
                mtime=member.info.mtime,
            )
            counts[top] += 1
        say(f"pki: {counts['pki']} files, files: {counts['files']} files")
        moved = database.restore(snapshot, replace=replace, aside_suffix=suffix)
        if moved:
            result.moved_aside.append(moved)
        say(f"database ({engine}): restored")
    os.sync()
    result.problems += _check(say)
    return result


def _check(say: Callable[[str], None]) -> list[str]:
    from documents.models import Blob
    from documents.storage import path_for

    connections.close_all()
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        say(f"applying {len(plan)} migrations this version of Wasl adds")
        call_command("migrate", interactive=False, verbosity=0)
    problems = []
    missing = 0
    for sha256, size in Blob.objects.values_list("sha256", "size").iterator(chunk_size=2000):
        path = path_for(sha256)
        if not path.is_file() or path.stat().st_size != size:
            missing += 1
            if missing <= 20:
                problems.append(f"{path}: named by the database, missing or of the wrong size.")
    say(f"stored files named by the database: {Blob.objects.count()}, missing: {missing}")
    out = io.StringIO()
    try:
        # Not against pinned peers: they keep the checkpoints made since the backup, which a
        # restored copy lacks by nature; `verify_register` asks them when run by hand.
        call_command("verify_register", no_peers=True, stdout=out, stderr=out)
    except CommandError as exc:
        problems.append(f"verify_register: {exc}")
    else:
        say(out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else "verify_register: ok")
    return problems
