"""The outbox: e-mail kept in files when no SMTP server is configured.

Without ``WASL_EMAIL_HOST``, every message Wasl sends (sign-up and password links, invitations,
receipts with their PDF, reminders) is written whole, as the ``.eml`` file an SMTP server would
have received, into ``settings.EMAIL_OUTBOX_DIR``. Platform administrators read it in /admin/
(core.admin): the text decoded, links whole, attachments downloadable as files.

- **Several processes write at once** (the web server's workers, the task worker): each message
  is written to a temporary file of the directory, flushed to disk, then renamed to its name,
  so a reader sees a whole message or none. Names are unique without any lock: the UTC time to
  the microsecond and 64 random bits (``20261207T041802123456-9f86d081884c7d65.eml``); sorted,
  they are in the order the messages were kept.
- **Bounded**: the worker removes messages older than ``settings.EMAIL_OUTBOX_DAYS`` every hour
  (:func:`outbox_prune`), and temporary files a writer left behind when it died.
- **Private**: the directory is mode 0700 and each file 0600; they hold links that sign people in.
- **Untrusted when read**: a file is parsed as mail from anywhere would be. Only names of the
  form above are read, so a key from a URL never reaches another file, and only regular files
  are opened, without following a symbolic link: an entry that is anything else (a link, a
  directory, a pipe) or that this process may not read (a file root wrote running manage.py) is
  left out as if it were not there, and the rest of the outbox still shows.
"""

from __future__ import annotations

import contextlib
import email.policy
import os
import re
import secrets
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from core.text import one_line

KEY = re.compile(r"^(?P<stamp>\d{8}T\d{12})-[0-9a-f]{16}$")
SUFFIX = ".eml"
TEMPORARY_PREFIX = ".tmp-"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
# For the list, a file is read only up to the end of its headers (a few kB; at most this much),
# so a long list or a search stays quick however large the attachments.
HEADER_BYTES = 64 * 1024
CHUNK = 4096


def outbox_dir() -> Path:
    return Path(settings.EMAIL_OUTBOX_DIR)


def outbox_write(raw: bytes, *, now: datetime | None = None) -> Path:
    """Keep one message (its bytes as sent on the wire) in the outbox; return its file."""
    directory = outbox_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    key = f"{moment.strftime(STAMP_FORMAT)}-{secrets.token_hex(8)}"
    # mkstemp creates the file with mode 0600.
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(raw)
            stream.flush()
            os.fsync(stream.fileno())
        final = directory / f"{key}{SUFFIX}"
        os.replace(temporary, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return final


def _path(key: str) -> Path | None:
    return outbox_dir() / f"{key}{SUFFIX}" if KEY.match(key) else None


# A link is not followed, and a pipe does not block the opening (it is then refused as not a
# regular file).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _open(key: str) -> BinaryIO | None:
    """The message file of ``key`` opened for reading, or None when there is no readable regular
    file by that name (see the module's docstring)."""
    path = _path(key)
    if path is None:
        return None
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError:  # absent (pruned meanwhile), a link, not readable by this process
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            return None
        return os.fdopen(descriptor, "rb")
    except OSError:
        os.close(descriptor)
        return None


def _read(key: str) -> bytes | None:
    stream = _open(key)
    if stream is None:
        return None
    try:
        with stream:
            return stream.read()
    except OSError:
        return None


def _stamp(key: str) -> datetime:
    match = KEY.match(key)
    assert match is not None
    return datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)


def outbox_keys() -> list[str]:
    """The keys of the messages in the outbox, newest first."""
    try:
        names = [entry.name for entry in os.scandir(outbox_dir()) if entry.name.endswith(SUFFIX)]
    except FileNotFoundError:
        return []
    keys = [name.removesuffix(SUFFIX) for name in names]
    return sorted((key for key in keys if KEY.match(key)), reverse=True)


def shown(text: str | None) -> str:
    """A header value as a page shows it: on one line, without control characters. Directional
    controls stay (the page isolates the value, core.bidi)."""
    return one_line(str(text or ""))


def _header(message: Message, name: str) -> str:
    try:
        return shown(message.get(name, ""))
    except (ValueError, TypeError, IndexError, AttributeError):
        # A malformed header the default policy cannot decode: its raw text.
        raw = message.get_all(name, failobj=[""])
        return shown(str(raw[0]) if raw else "")


@dataclass(frozen=True)
class OutboxEntry:
    """One message as the list shows it."""

    key: str
    kept_at: datetime
    sender: str
    to: str
    subject: str
    size: int


def _entry(key: str) -> OutboxEntry | None:
    stream = _open(key)
    if stream is None:
        return None
    try:
        with stream:
            head = b""
            while len(head) < HEADER_BYTES and b"\n\n" not in head and b"\r\n\r\n" not in head:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                head += chunk
            size = os.fstat(stream.fileno()).st_size
    except OSError:
        return None
    headers = BytesParser(policy=email.policy.default).parsebytes(head, headersonly=True)
    return OutboxEntry(
        key=key,
        kept_at=_stamp(key),
        sender=_header(headers, "From"),
        to=", ".join(part for part in (_header(headers, "To"), _header(headers, "Cc")) if part),
        subject=_header(headers, "Subject"),
        size=size,
    )


def outbox_entries(*, query: str = "", offset: int = 0, limit: int = 100) -> tuple[list[OutboxEntry], int]:
    """A page of the outbox, newest first, and how many messages match in all. ``query`` keeps
    the messages whose recipients or subject contain it (case-insensitive)."""
    keys = outbox_keys()
    needle = query.strip().casefold()
    if not needle:
        page = [entry for key in keys[offset : offset + limit] if (entry := _entry(key)) is not None]
        return page, len(keys)
    matching = [
        entry
        for key in keys
        if (entry := _entry(key)) is not None and (needle in entry.to.casefold() or needle in entry.subject.casefold())
    ]
    return matching[offset : offset + limit], len(matching)


@dataclass(frozen=True)
class OutboxPart:
    """An attachment (or an alternative the page does not show as text)."""

    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class OutboxMessage:
    entry: OutboxEntry
    date: str
    reply_to: str
    text: str | None
    html: str | None
    parts: list[OutboxPart]


def _leaves(message: Message) -> Iterator[tuple[int, Message]]:
    """Every non-multipart part of a message, numbered in the order of ``walk()``."""
    for index, part in enumerate(message.walk()):
        if not part.is_multipart():
            yield index, part


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError, KeyError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def part_filename(part: Message, index: int) -> str:
    """A part's file name, made safe to offer for download: its base name without control,
    directional or path characters, or ``part-N`` with an extension for its type."""
    name = (part.get_filename() or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")[:150]
    if name:
        return name
    extension = {"application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html"}.get(
        part.get_content_type(), ".bin"
    )
    return f"part-{index}{extension}"


def _parse(key: str) -> EmailMessage | None:
    data = _read(key)
    if data is None:
        return None
    parsed = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def outbox_message(key: str) -> OutboxMessage | None:
    """A message of the outbox as its page shows it, or None when there is none by that key."""
    entry = _entry(key)
    parsed = _parse(key)
    if entry is None or parsed is None:
        return None
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    parts = [
        OutboxPart(
            index=index,
            filename=part_filename(part, index),
            content_type=part.get_content_type(),
            size=len(_payload(part)),
        )
        for index, part in _leaves(parsed)
        if part is not text_part and part is not html_part
    ]
    return OutboxMessage(
        entry=entry,
        date=_header(parsed, "Date"),
        reply_to=_header(parsed, "Reply-To"),
        text=_content(text_part) if text_part is not None else None,
        html=_content(html_part) if html_part is not None else None,
        parts=parts,
    )


def outbox_part(key: str, index: int) -> tuple[str, str, bytes] | None:
    """The file name, type and decoded bytes of part ``index`` of a message, or None."""
    parsed = _parse(key)
    if parsed is None:
        return None
    for number, part in _leaves(parsed):
        if number == index:
            return part_filename(part, index), part.get_content_type(), _payload(part)
    return None


def outbox_raw(key: str) -> bytes | None:
    """The whole message as it was kept (for a mail program)."""
    return _read(key)


def outbox_prune(*, now: datetime | None = None) -> int:
    """Remove the messages older than ``settings.EMAIL_OUTBOX_DAYS``, and temporary files older
    than an hour (their writer died); return how many messages were removed."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = moment - timedelta(days=settings.EMAIL_OUTBOX_DAYS)
    removed = 0
    for key in outbox_keys():
        if _stamp(key) < cutoff:
            with contextlib.suppress(FileNotFoundError):
                (outbox_dir() / f"{key}{SUFFIX}").unlink()
                removed += 1
    try:
        leftovers = [entry for entry in os.scandir(outbox_dir()) if entry.name.startswith(TEMPORARY_PREFIX)]
    except FileNotFoundError:
        return removed
    for entry in leftovers:
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < (moment - timedelta(hours=1)).timestamp():
                os.unlink(entry.path)
    return removed
