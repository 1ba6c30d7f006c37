"""Content-addressed file storage on the local file system.

A file lives at ``FILES_DIR/ab/cd/<sha256>``. Writes go to a temporary file in the same
directory and are renamed into place, so a reader never sees a half-written file and a
crash leaves at most a stray temporary file. Storing bytes that are already there is a
no-op. Files that nothing refers to (left by a request that failed before its transaction
committed; see :mod:`documents.references`) are removed by :func:`sweep_orphans`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings

CHUNK = 256 * 1024


def root() -> Path:
    return Path(settings.FILES_DIR)


def path_for(sha256: str) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return root() / sha256[:2] / sha256[2:4] / sha256


def store_bytes(data: bytes) -> str:
    """Store ``data`` and return its SHA-256."""
    return store_chunks([data])


def store_chunks(chunks: Iterable[bytes]) -> str:
    """Stream ``chunks`` to storage, hashing on the way; return the SHA-256."""
    directory = root() / "tmp"
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix="up-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha256 = digest.hexdigest()
        target = path_for(sha256)
        if target.exists():
            os.unlink(temp_name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp_name, 0o440)
            os.replace(temp_name, target)
            _fsync_directory(target.parent)  # the rename itself must survive a crash
        return sha256
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def exists(sha256: str) -> bool:
    return path_for(sha256).exists()


def read_bytes(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()


def open_file(sha256: str) -> Iterator[bytes]:
    with path_for(sha256).open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def discard(sha256: str) -> None:
    """Remove a file that nothing refers to (used when a request fails): the same bytes may be
    another row's file (:mod:`documents.references`)."""
    from documents.references import referenced

    if not referenced([sha256]):
        path_for(sha256).unlink(missing_ok=True)


def sweep_orphans(*, older_than_seconds: int = 3600) -> int:
    """Delete stored files that nothing refers to (no Blob row, no reader of
    :mod:`documents.references`) and that are older than the grace period.

    The grace period protects files of requests still in flight (stored, not yet committed).
    """
    from documents.references import referenced

    base = root()
    if not base.exists():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    candidates: list[Path] = []
    for path in base.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
        if path.stat().st_mtime < cutoff:
            candidates.append(path)
    for path in (base / "tmp").glob("up-*"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    for start in range(0, len(candidates), 500):
        batch = candidates[start : start + 500]
        known = referenced([p.name for p in batch])
        for path in batch:
            if path.name not in known and not _states_the_register(path):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


ANCHOR_MARK = b"/WaslAnchor"


def _states_the_register(path: Path) -> bool:
    """Whether the file is a sealed document stating an entry of a register log (a receipt or a
    letter; see registry.anchors). Such a file is evidence even when no row names it any more
    (the row may have been edited away): it is kept, and ``verify_register`` compares it with
    the log. The statement sits in the last signature, near the end of the file."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 2 * CHUNK))
            return ANCHOR_MARK in f.read()
    except OSError:
        return False
