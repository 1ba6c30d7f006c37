"""The backup archive: a tar file whose last member, ``MANIFEST.json``, lists every other member's SHA-256.

Writing streams each member once, hashing it on the way, and writes the manifest last, when
every digest is known. The archive is written under a ``.partial`` name and renamed when
complete, so a crash never leaves something that looks like a backup; beside it,
``<archive>.sha256`` holds the archive's own digest in ``sha256sum`` format, so a copy
elsewhere can be checked without Wasl (``sha256sum -c``).

Reading checks member names before anything is written: only regular files and directories,
relative paths under the four known tops, nothing that climbs out.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

FORMAT = "wasl-backup/1"
MANIFEST = "MANIFEST.json"
TOPS = ("config", "pki", "files", "database")
CHUNK = 1024 * 1024


class BackupInvalid(Exception):
    """The archive is not a complete, intact Wasl backup; the message says what is wrong."""


def is_compressed(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


class _HashingWriter(io.RawIOBase):
    """A write-only file that hashes what goes through it to ``target``."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.target.write(view)
        return len(view)


class _HashingReader:
    """Reads ``source``, hashing what is read (tarfile refuses a file that became shorter)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


@dataclass
class ArchiveWriter:
    """Write a backup archive at ``path``: add members, then :meth:`finish` with the manifest."""

    path: Path
    members: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.partial = self.path.with_name(self.path.name + ".partial")
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # keys and personal data inside
        self._file = os.fdopen(fd, "wb")
        self._hashing = _HashingWriter(self._file)
        buffered = io.BufferedWriter(self._hashing, buffer_size=CHUNK)
        self._buffered = buffered
        self._tar = tarfile.open(  # noqa: SIM115 (closed by finish() or abort())
            fileobj=buffered, mode="w|gz" if is_compressed(self.path) else "w|", format=tarfile.PAX_FORMAT
        )
        self._names: set[str] = set()

    def _info(self, name: str, size: int, mode: int, mtime: float | None) -> tarfile.TarInfo:
        if name in self._names:
            raise ValueError(f"{name} is already in the archive")
        self._names.add(name)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = mode & 0o777
        info.mtime = int(mtime if mtime is not None else time.time())
        return info

    def add_bytes(self, name: str, data: bytes, *, mode: int = 0o600, mtime: float | None = None) -> None:
        self._tar.addfile(self._info(name, len(data), mode, mtime), io.BytesIO(data))
        self.members.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})

    def add_file(self, name: str, path: Path) -> str | None:
        """Add the file at ``path``; return its SHA-256, or None when it vanished before it was read."""
        try:
            source = open(path, "rb")  # noqa: SIM115 (closed below, after tarfile has read it)
        except FileNotFoundError:
            return None
        with source:
            stat = os.fstat(source.fileno())
            reader = _HashingReader(source)
            self._tar.addfile(self._info(name, stat.st_size, stat.st_mode, stat.st_mtime), reader)
        digest = reader.digest.hexdigest()
        self.members.append({"name": name, "size": stat.st_size, "sha256": digest})
        return digest

    def finish(self, manifest: dict[str, Any]) -> str:
        """Write the manifest, close, make it durable and give it its name; return the archive's SHA-256."""
        body = json.dumps({**manifest, "members": self.members}, indent=1, ensure_ascii=False).encode()
        info = self._info(MANIFEST, len(body), 0o600, None)
        self._tar.addfile(info, io.BytesIO(body))
        self._tar.close()
        self._buffered.flush()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = self._hashing.digest.hexdigest()
        os.replace(self.partial, self.path)
        sidecar = checksum_path(self.path)
        sidecar.write_text(f"{digest}  {self.path.name}\n")
        _fsync_directory(self.path.parent)
        return digest

    def abort(self) -> None:
        try:
            self._tar.close()
            self._file.close()
        except (OSError, ValueError, tarfile.TarError):
            pass
        self.partial.unlink(missing_ok=True)


def checksum_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def safe_name(name: str) -> PurePosixPath:
    """The member's path, refused unless it is relative, under a known top, and climbs nowhere."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] not in TOPS or "\\" in name:
        raise BackupInvalid(f"The archive holds a member with a path Wasl does not write: {name!r}")
    return path


@dataclass
class Member:
    name: str
    info: tarfile.TarInfo
    stream: IO[bytes]


def read_members(path: Path) -> Iterator[Member]:
    """Every regular-file member in archive order (the manifest included); directories are skipped."""
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for info in tar:
                if info.isdir():
                    continue
                if not info.isfile():
                    raise BackupInvalid(f"The archive holds {info.name!r}, which is not a regular file.")
                if info.name != MANIFEST:
                    safe_name(info.name)
                stream = tar.extractfile(info)
                assert stream is not None
                yield Member(info.name, info, stream)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupInvalid(f"{path} is not a readable archive: {exc}") from exc


def hash_stream(stream: IO[bytes], *, copy_to: IO[bytes] | None = None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return digest.hexdigest(), size


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hash_stream(f)[0]
