"""Check a backup archive: every member against the manifest, the archive against its ``.sha256``,
and the database snapshot by reading it back (SQLite's ``quick_check``, ``pg_restore --list``)."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from operations.backup import database
from operations.backup.archive import (
    FORMAT,
    MANIFEST,
    BackupInvalid,
    checksum_path,
    hash_stream,
    safe_name,
)

CONTENT_MEMBER = re.compile(r"^files/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})$")


@dataclass
class Verified:
    manifest: dict[str, Any]
    sha256: str
    members: int
    notes: list[str] = field(default_factory=list)


class _Counting:
    """Reads a file, hashing every byte, for the archive's own digest."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def _listing(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def backup_verify(path: Path) -> Verified:
    """Check the archive at ``path``; raise :class:`BackupInvalid` naming what is wrong."""
    if not path.is_file():
        raise BackupInvalid(f"{path} does not exist.")
    seen: dict[str, tuple[str, int]] = {}
    manifest_bytes: bytes | None = None
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wasl-verify-") as scratch, open(path, "rb") as raw:
        counting = _Counting(raw)
        snapshot: Path | None = None
        try:
            with tarfile.open(fileobj=counting, mode="r|*") as tar:  # type: ignore[call-overload]
                for info in tar:
                    if info.isdir():
                        continue
                    if manifest_bytes is not None:
                        raise BackupInvalid(f"{info.name!r} follows the manifest, which must come last.")
                    if not info.isfile():
                        raise BackupInvalid(f"The archive holds {info.name!r}, which is not a regular file.")
                    stream = tar.extractfile(info)
                    assert stream is not None
                    if info.name == MANIFEST:
                        manifest_bytes = stream.read()
                        continue
                    safe_name(info.name)
                    if info.name in seen:
                        raise BackupInvalid(f"{info.name!r} is in the archive twice.")
                    if info.name.startswith("database/"):
                        snapshot = Path(scratch) / Path(info.name).name
                        with open(snapshot, "wb") as out:
                            seen[info.name] = hash_stream(stream, copy_to=out)
                    else:
                        seen[info.name] = hash_stream(stream)
            while counting.read(1024 * 1024):  # the zero blocks after the last member count too
                pass
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupInvalid(f"{path} is not a complete archive: {exc}") from exc
        if manifest_bytes is None:
            raise BackupInvalid(f"{path} has no {MANIFEST}: the archive is incomplete.")
        try:
            manifest = json.loads(manifest_bytes)
            listed = {m["name"]: (m["sha256"], int(m["size"])) for m in manifest["members"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupInvalid(f"{MANIFEST} cannot be read: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise BackupInvalid(f"{path} is not a {FORMAT} archive (format {manifest.get('format')!r}).")
        missing = sorted(set(listed) - set(seen))
        if missing:
            raise BackupInvalid(f"Members listed in the manifest are missing: {_listing(missing)}.")
        extra = sorted(set(seen) - set(listed))
        if extra:
            raise BackupInvalid(f"Members not listed in the manifest: {_listing(extra)}.")
        differ = sorted(name for name in listed if listed[name] != seen[name])
        if differ:
            raise BackupInvalid(f"Members whose bytes differ from the manifest's SHA-256: {_listing(differ)}.")
        damaged = sorted(n for n in seen if (m := CONTENT_MEMBER.match(n)) and m.group(1) != seen[n][0])
        if damaged:
            notes.append(f"Stored files that were already damaged when backed up: {_listing(damaged)}.")
        engine = manifest.get("database", {}).get("engine")
        member = database.MEMBER.get(engine or "")
        if member is None or member not in seen or snapshot is None:
            raise BackupInvalid(f"{path} holds no database snapshot.")
        try:
            problem = database.check_snapshot(snapshot, engine)
        except database.ProgramMissing as exc:
            notes.append(f"The database snapshot was not read back: {exc}")
            problem = None
        if problem:
            raise BackupInvalid(f"The database snapshot does not read back: {problem}")
    digest = counting.digest.hexdigest()
    sidecar = checksum_path(path)
    if sidecar.exists():
        recorded = sidecar.read_text().split()[:1]
        if recorded != [digest]:
            raise BackupInvalid(f"The archive's SHA-256 ({digest}) is not the one in {sidecar.name}.")
    else:
        notes.append(f"No {sidecar.name} beside the archive: its own SHA-256 is {digest}.")
    return Verified(manifest, digest, len(seen), notes)
