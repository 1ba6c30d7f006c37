"""Make a backup while the service runs.

The order of the copy is what makes it consistent without stopping anything:

1. the configuration in effect (secrets left out);
2. ``FILES_DIR/anchors/``: anchors are appended *after* the database commits what they
   anchor, so every anchor copied now names something the snapshot below holds. The files
   stay share-locked until the snapshot is taken, so that no checkpoint is appended and then
   marked anchored in the database in between (the copy would lack what the snapshot says
   the file holds);
3. the database, as of one instant (:mod:`operations.backup.database`);
4. the PKI, under its directory lock: seals, the key-encryption key and CRL entries are
   written *before* the database rows that rely on them, so copied after the snapshot they
   cover everything it holds (a seal or a revocation younger than the snapshot is harmless);
5. the rest of ``FILES_DIR`` (not ``tmp/``): files are written before the database commits
   the rows naming them, so every file the snapshot names is there.

Of the stored files, the archive keeps those the snapshot names and those written before it
began; a file younger than the snapshot that it does not name is left out. Such a file can be
a receipt or a letter sealed since, stating a log entry the snapshot does not hold: restored,
it would read as a log cut short. (A file older than the snapshot states only what had
committed before it was sealed, hence before the snapshot.) Older files that nothing names
are kept: some are evidence (a sealed document whose row is gone), the others are swept.

Stored files whose bytes no longer hash to their name, and files the database names that are
missing from ``FILES_DIR``, are reported: the archive is still written (a backup with a known
hole is better than none) and the command fails so that somebody looks.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from operations.backup import database
from operations.backup.archive import FORMAT, ArchiveWriter, checksum_path, is_compressed
from operations.backup.verify import backup_verify

NAME = re.compile(r"^wasl-backup-\d{8}T\d{6}Z(-\d+)?\.(tar|tar\.gz)$")
CONTENT_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")
NOT_STORED = "(secret: not in the backup)"


@dataclass
class BackupResult:
    path: Path
    sha256: str
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def redact(name: str, value: str) -> str:
    """A setting as the backup keeps it: secrets left out, passwords removed from URLs."""
    if SECRET_NAME.search(name):
        return NOT_STORED
    if "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def configuration() -> dict[str, Any]:
    """The ``WASL_*`` variables in effect (None: the default) and what they resolved to."""
    from wasl.env import DECLARED

    names = sorted(DECLARED | {n for n in os.environ if n.startswith("WASL_")})
    return {
        "environment": {n: (redact(n, os.environ[n]) if n in os.environ else None) for n in names},
        "resolved": {
            "DATA_DIR": str(settings.DATA_DIR),
            "FILES_DIR": str(settings.FILES_DIR),
            "PKI_DIR": str(settings.PKI_DIR),
            "DATABASE": database.engine(),
            "PUBLIC_URL": settings.PUBLIC_URL,
            "INSTALLATION_NAME": settings.INSTALLATION_NAME,
            "DEMO": settings.DEMO,
        },
        "note": (
            "Secrets (WASL_SECRET_KEY, passwords) are never written to a backup: keep them apart, "
            "and set them again on the machine you restore to."
        ),
    }


def _destination(output: Path | None) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if output is None or output.is_dir():
        directory = output or Path(settings.BACKUP_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"wasl-backup-{stamp}.tar"
        n = 1
        while path.exists():
            n += 1
            path = directory / f"wasl-backup-{stamp}-{n}.tar"
        return path
    if not (output.name.endswith(".tar") or is_compressed(output)):
        raise ValueError(f"{output}: name the archive *.tar (or *.tar.gz to compress it), or give a directory.")
    if output.exists():
        raise ValueError(f"{output} exists already; a backup never overwrites one.")
    output.parent.mkdir(parents=True, exist_ok=True)
    return output


def _walk(base: Path, *, skip_top: tuple[str, ...] = ()) -> Iterator[Path]:
    """Regular files under ``base``, sorted, without the top-level directories in ``skip_top``."""
    for directory, subdirectories, files in os.walk(base):
        here = Path(directory)
        if here == base:
            subdirectories[:] = [d for d in subdirectories if d not in skip_top]
        subdirectories.sort()
        for name in sorted(files):
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield path


def _written_since(path: Path, instant: float) -> bool:
    try:
        return path.stat().st_mtime >= instant
    except FileNotFoundError:
        return True  # gone: nothing to copy


def _applied_migrations() -> list[list[str]]:
    return sorted([app, name] for app, name in MigrationRecorder(connections["default"]).applied_migrations())


def backup_create(
    *, output: Path | None = None, keep: int | None = None, say: Callable[[str], None] = lambda _: None
) -> BackupResult:
    """Write a backup archive and verify it; with ``keep``, remove all but the newest ``keep`` of its directory."""
    from documents.models import Blob
    from trust.pki import LOCK_FILE, pki_directory_locked

    path = _destination(output)
    files_dir, pki_dir = Path(settings.FILES_DIR), Path(settings.PKI_DIR)
    engine = database.engine()
    writer = ArchiveWriter(path)
    problems: list[str] = []
    try:
        started_at = _now()
        writer.add_bytes("config/settings.json", json.dumps(configuration(), indent=1).encode())

        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".wasl-backup-") as scratch:
            with ExitStack() as held:
                anchors = 0
                for anchor in _walk(files_dir / "anchors"):
                    # Shared-locked until the snapshot is taken: the appender (registry.anchors
                    # locks a file exclusively) waits, so no checkpoint is written to an anchor
                    # file, and marked anchored in the database, between this copy and the snapshot.
                    source = held.enter_context(open(anchor, "rb"))
                    fcntl.flock(source.fileno(), fcntl.LOCK_SH)
                    data, mtime = source.read(), os.fstat(source.fileno()).st_mtime
                    name = f"files/{anchor.relative_to(files_dir).as_posix()}"
                    writer.add_bytes(name, data, mode=0o640, mtime=mtime)
                    anchors += 1
                say(f"anchors: {anchors} files")
                snapshot = database.snapshot(Path(scratch), names_of=(Blob._meta.db_table, "sha256"))
            writer.add_file(database.MEMBER[engine], snapshot.path)
            say(f"database ({engine}): {snapshot.path.stat().st_size} bytes, as of {snapshot.started_at.isoformat()}")
        named = snapshot.names  # the stored files the snapshot names
        snapshot_began = snapshot.started_at.timestamp()
        migrations = _applied_migrations()

        pki_files = 0
        if pki_dir.is_dir():
            with pki_directory_locked(pki_dir):
                for item in _walk(pki_dir):
                    if item.name == LOCK_FILE and item.parent == pki_dir:
                        continue
                    if writer.add_file(f"pki/{item.relative_to(pki_dir).as_posix()}", item) is not None:
                        pki_files += 1
        if pki_files == 0:
            problems.append(
                f"{pki_dir} holds no PKI: the backup has none, receipts could not be sealed after a restore."
            )
        say(f"pki: {pki_files} files")

        archived: set[str] = set()
        stored = younger = 0
        for item in _walk(files_dir, skip_top=("tmp", "anchors")):
            relative = item.relative_to(files_dir).as_posix()
            content = CONTENT_NAME.match(relative)
            if content and content.group(1) not in named and _written_since(item, snapshot_began):
                # Younger than the snapshot and named by nothing in it: a receipt sealed since
                # states a log entry the snapshot lacks, which would read as a truncated log.
                younger += 1
                continue
            digest = writer.add_file(f"files/{relative}", item)
            if digest is None:
                continue  # an orphan removed by the sweep meanwhile
            stored += 1
            if content:
                archived.add(content.group(1))
                if digest != content.group(1):
                    problems.append(f"{item} does not hash to its name: the stored file is damaged.")
        missing = sorted(named - archived)
        problems += [
            f"{files_dir / s[:2] / s[2:4] / s} is named by the database but missing from the file store."
            for s in missing[:20]
        ]
        if len(missing) > 20:
            problems.append(f"… and {len(missing) - 20} more files named by the database are missing from it.")
        say(f"files: {stored} files ({younger} younger than the snapshot left out)")

        manifest = {
            "format": FORMAT,
            "started_at": started_at,
            "finished_at": _now(),
            "snapshot_started_at": snapshot.started_at.isoformat(timespec="microseconds"),
            "snapshot_finished_at": snapshot.finished_at.isoformat(timespec="microseconds"),
            "database": {"engine": engine, "member": database.MEMBER[engine], "migrations": migrations},
            "counts": {
                "anchors": anchors,
                "pki": pki_files,
                "files": stored,
                "named_by_database": len(named),
                "younger_left_out": younger,
            },
            "problems": problems,
        }
        digest = writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise
    verified = backup_verify(path)
    result = BackupResult(path, digest, verified.manifest, problems)
    if keep is not None:
        result.removed = rotate(path.parent, keep)
    return result


def rotate(directory: Path, keep: int) -> list[Path]:
    """Remove the oldest backups of ``directory`` (by their names' time) beyond the newest ``keep``."""
    archives = sorted((p for p in directory.iterdir() if NAME.match(p.name)), key=lambda p: p.name)
    removed = archives[: max(0, len(archives) - max(keep, 1))]
    for old in removed:
        old.unlink()
        checksum_path(old).unlink(missing_ok=True)
    return removed
