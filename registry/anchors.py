"""Anchors: what the register log held, kept where a database rewrite cannot reach it.

Whoever can write the database can rewrite the register log and recompute its hashes. Three
kinds of witness keep the older state, and :mod:`registry.integrity` compares the log with them:

- **sealed documents**: every receipt carries its registration's log entry (position and hash),
  and every sealed letter or attestation the log's head when it was sealed, in the signature
  dictionary of its seal (``/WaslAnchor``, covered by the seal). The receipt holder keeps it; the
  public verification compares it with the log as it is now.
- **the anchor file** of each administration, ``FILES_DIR/anchors/<CODE>.jsonl``: every sealed
  checkpoint (its statement and seal), appended after the checkpoint commits and never rewritten.
- **pinned peer installations**, which keep the checkpoints sent to them and give them back on
  request (``exchange.anchors``, registered as a witness at start-up).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext

from core.canonical import canonical_json, sha256_hex
from registry.models import RegisterLogEntry, RegisterLogHead
from tenancy.models import Administration

logger = logging.getLogger(__name__)
ANCHOR_VERSION = 1


@dataclass(frozen=True)
class Anchor:
    """What a sealed document states about its administration's register log: the entry at
    ``position`` had the hash ``entry_hash``. ``number`` is the correspondence the document
    belongs to (a receipt: the one whose registration is that entry)."""

    administration: str
    position: int
    entry_hash: str
    number: str = ""

    def text(self) -> str:
        return canonical_json(
            {
                "v": ANCHOR_VERSION,
                "administration": self.administration,
                "position": self.position,
                "hash": self.entry_hash,
                "number": self.number,
            }
        )

    @classmethod
    def parse(cls, text: str) -> Anchor | None:
        """The anchor a document carries, or None when it carries none we can read."""
        if not text or len(text) > 1000:
            return None
        try:
            data = json.loads(text)
            anchor = cls(
                administration=str(data["administration"]),
                position=int(data["position"]),
                entry_hash=str(data["hash"]),
                number=str(data.get("number", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if data.get("v") != ANCHOR_VERSION or anchor.position < 0 or len(anchor.entry_hash) != 64:
            return None
        return anchor


def entry_anchor(administration: Administration, entry: RegisterLogEntry, number: str) -> Anchor:
    """The anchor of a receipt: the log entry of its correspondence's registration."""
    return Anchor(administration.code, int(entry.position), entry.entry_hash, number)


def head_anchor(administration: Administration, number: str) -> Anchor:
    """The anchor of a letter or attestation sealed now: the log's committed head (the genesis
    hash at position 0 for an empty log). Reads without a lock: the head may move on at once,
    the entry it names stays as it was."""
    from registry.log import genesis_hash

    head = RegisterLogHead.objects.filter(administration=administration).first()
    if head is None or head.last_position == 0:
        return Anchor(administration.code, 0, genesis_hash(administration), number)
    return Anchor(administration.code, int(head.last_position), head.last_hash, number)


_ANCHOR_IN_PDF = re.compile(rb"/WaslAnchor\s*\(((?:[^()\\]|\\.){1,1000})\)")


def anchor_in_pdf(data: bytes) -> Anchor | None:
    """The last register-log anchor written in a sealed PDF's bytes (trust.pdf_update writes it
    as a literal string), without validating the seal: for reading many files fast."""
    found = None
    for match in _ANCHOR_IN_PDF.finditer(data):
        found = match.group(1)
    if found is None:
        return None
    return Anchor.parse(_pdf_literal(found).decode("latin-1"))


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _pdf_literal(raw: bytes) -> bytes:
    """The bytes of a PDF literal string's body: backslash escapes, octal ones included."""

    def unescape(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8) & 0xFF])
        return _ESCAPES.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", unescape, raw, flags=re.DOTALL)


# What comparing an anchor with the log can find.
HOLDS = ""
ENTRY_MISSING = "entry_missing"  # the log has no entry at that position any more
ENTRY_CHANGED = "entry_changed"  # the entry there has another hash: history was rewritten
OTHER_CORRESPONDENCE = "other_correspondence"  # a receipt's entry registers something else


def anchor_problem(anchor: Anchor, administration: Administration, *, receipt_of: int | None = None) -> str:
    """Compare ``anchor`` with the log as it is now: HOLDS (""), or what differs.

    ``receipt_of``: the anchor is a receipt's, whose entry must be the registration of that
    correspondence (id)."""
    from registry.log import genesis_hash

    if anchor.position == 0:
        return HOLDS if anchor.entry_hash == genesis_hash(administration) else ENTRY_CHANGED
    entry = (
        RegisterLogEntry.objects.filter(administration=administration, position=anchor.position)
        .only("entry_hash", "correspondence_id", "action")
        .first()
    )
    if entry is None:
        return ENTRY_MISSING
    if entry.entry_hash != anchor.entry_hash:
        return ENTRY_CHANGED
    if receipt_of is not None and (entry.action != "registered" or entry.correspondence_id != receipt_of):
        return OTHER_CORRESPONDENCE
    return HOLDS


# -- the anchor file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchoredCheckpoint:
    """A sealed checkpoint as a witness kept it: its statement (canonical JSON) and its seal."""

    statement: str
    seal: bytes
    source: str  # who kept it, as a report names it: the anchor file, a peer installation

    @property
    def facts(self) -> dict[str, object]:
        return dict(json.loads(self.statement))

    @property
    def statement_hash(self) -> str:
        return sha256_hex(self.statement)


def anchor_path(code: str) -> Path:
    if not code or "/" in code or code.startswith("."):
        raise ValueError("not an administration code")
    return Path(settings.FILES_DIR) / "anchors" / f"{code}.jsonl"


def anchor_file_append(code: str, records: Iterable[tuple[str, bytes]]) -> int:
    """Append checkpoints (statement, seal) to the administration's anchor file, each on a line
    of its own, under an exclusive lock, then fsync; return how many lines were written.
    The file is only ever appended to: opened with O_APPEND, never truncated or rewritten."""
    lines = [
        canonical_json({"statement": statement, "seal": base64.b64encode(seal).decode()}) + "\n"
        for statement, seal in records
    ]
    if not lines:
        return 0
    path = anchor_path(code)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = "".join(lines).encode()
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(lines)


def anchor_file_read(code: str) -> Iterator[AnchoredCheckpoint]:
    """The checkpoints in the administration's anchor file, in the order written. A line that
    cannot be read (a torn last line after a crash) is skipped with a warning."""
    path = anchor_path(code)
    if not path.exists():
        return
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                record = json.loads(raw)
                yield AnchoredCheckpoint(
                    statement=str(record["statement"]),
                    seal=base64.b64decode(record["seal"], validate=True),
                    source=gettext("the anchor file"),
                )
            except (ValueError, KeyError, TypeError, binascii.Error):
                logger.warning("anchor file of %s: line %d cannot be read", code, number)


# Other keepers of sealed checkpoints (pinned peers), registered by the apps that talk to them.
# A witness is called with an administration and yields, for each keeper it asks, the keeper's
# name and what it keeps of that administration, or WitnessUnavailable when it cannot be asked.
WitnessAnswer = tuple[str, "list[AnchoredCheckpoint] | WitnessUnavailable"]
Witness = Callable[[Administration], Iterable[WitnessAnswer]]
WITNESSES: dict[str, Witness] = {}


class WitnessUnavailable(Exception):
    """A keeper could not be asked now (a peer down): reported, not a break."""


def witness_register(name: str, witness: Witness) -> None:
    WITNESSES[name] = witness
