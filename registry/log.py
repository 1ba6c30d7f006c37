"""The register log: an append-only chain of entries per administration, linked by SHA-256.

Appending locks the administration's :class:`RegisterLogHead`, so entries get consecutive
positions and each one names the hash of the one before it. Checkpoints seal the head hash
with the administration's seal and a timestamp (:mod:`registry.checkpoints`); :func:`walk_chain`
re-reads the chain, and :mod:`registry.integrity` compares it with its anchors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from core.canonical import canonical_json
from core.rows import Statement
from registry.facts import recorded_facts, sealed_facts
from registry.models import Attachment, Correspondence, RegisterLogEntry, RegisterLogHead
from tenancy.models import Administration

LogHead = tuple[int, int, str]  # a head's id, last position and last hash, read with its row locked


def genesis_hash(administration: Administration) -> str:
    return hashlib.sha256(f"wasl register log of {administration.code}".encode()).hexdigest()


def chain_hash(previous_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{previous_hash}\n{payload}".encode()).hexdigest()


def locked_head(administration: Administration) -> RegisterLogHead:
    head = RegisterLogHead.objects.select_for_update().filter(administration=administration).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            RegisterLogHead.objects.create(administration=administration, last_hash=genesis_hash(administration))
    except IntegrityError:
        pass  # created concurrently by another transaction
    return RegisterLogHead.objects.select_for_update().get(administration=administration)


def log_append(
    *,
    administration: Administration,
    action: str,
    facts: dict[str, Any],
    recorded_at: datetime,
    correspondence_id: int | None = None,
) -> RegisterLogEntry:
    """Append one entry. Must run inside the transaction that makes the recorded change."""
    (entry,) = log_append_many(
        administration=administration, action=action, entries=[(correspondence_id, facts)], recorded_at=recorded_at
    )
    return entry


def log_append_many(
    *,
    administration: Administration,
    action: str,
    entries: Sequence[tuple[int | None, dict[str, Any]]],
    recorded_at: datetime,
) -> list[RegisterLogEntry]:
    """Append one entry per (correspondence id, facts), in order, each chained to the one
    before it, in one insert (one entry for a registration, thousands for an import). Must run
    inside the transaction that makes the recorded change; takes the log head's lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the register log is appended to inside a transaction only")
    if not entries:
        return []
    head = locked_head(administration)
    rows = _chained(administration, action, entries, recorded_at, head.last_position, head.last_hash)
    created = RegisterLogEntry.objects.bulk_create(rows, batch_size=1000)
    head.last_position, head.last_hash = rows[-1].position, rows[-1].entry_hash
    head.save(update_fields=["last_position", "last_hash"])
    return created


def log_append_prepared(
    *,
    administration: Administration,
    action: str,
    entries: Sequence[tuple[int | None, dict[str, Any]]],
    recorded_at: datetime,
    ids: Sequence[int],
    head: LogHead,
) -> tuple[list[RegisterLogEntry], Statement]:
    """As :func:`log_append_many`, for a caller that writes the rows itself with others of its
    transaction (:mod:`core.rows`) and holds the log head's lock already (``head``, as
    :func:`locked_head_values` reads it): the entries, with the primary keys ``ids``, and the
    statement that moves the head to the last of them. Both must be written in this
    transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the register log is appended to inside a transaction only")
    head_id, position, previous = head
    rows = _chained(administration, action, entries, recorded_at, position, previous)
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
    quote = connection.ops.quote_name
    table = quote(RegisterLogHead._meta.db_table)
    move = Statement(
        f"UPDATE {table} SET {quote('last_position')} = %s, {quote('last_hash')} = %s WHERE {quote('id')} = %s",  # noqa: S608
        [rows[-1].position, rows[-1].entry_hash, head_id],
    )
    return rows, move


def locked_head_values(administration: Administration) -> LogHead:
    """The head's id, last position and last hash, its row locked (created if missing)."""
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('id')}, {quote('last_position')}, {quote('last_hash')} "  # noqa: S608
            f"FROM {quote(RegisterLogHead._meta.db_table)} WHERE {quote('administration_id')} = %s{lock}",
            [administration.pk],
        )
        row = cursor.fetchone()
    if row is not None:
        return int(row[0]), int(row[1]), str(row[2])
    head = locked_head(administration)
    return head.pk, head.last_position, head.last_hash


def _chained(
    administration: Administration,
    action: str,
    entries: Sequence[tuple[int | None, dict[str, Any]]],
    recorded_at: datetime,
    position: int,
    previous: str,
) -> list[RegisterLogEntry]:
    """The entries following ``position`` and ``previous`` (the head's), each chained to the
    one before it."""
    rows = []
    for correspondence_id, facts in entries:
        position += 1
        payload = canonical_json({"action": action, "position": position, "facts": facts})
        entry_hash = chain_hash(previous, payload)
        rows.append(
            RegisterLogEntry(
                administration=administration,
                position=position,
                action=action,
                correspondence_id=correspondence_id,
                recorded_at=recorded_at,
                payload=payload,
                previous_hash=previous,
                entry_hash=entry_hash,
            )
        )
        previous = entry_hash
    return rows


def checkpoint_statement(
    administration: Administration, position: int, head_hash: str, at: datetime, previous: str = ""
) -> str:
    """What a checkpoint seals. ``previous``: the SHA-256 of the administration's previous
    checkpoint statement (absent from the first one, and from those made before chaining)."""
    facts: dict[str, Any] = {
        "administration": administration.code,
        "position": position,
        "head_hash": head_hash,
        "created_at": at.isoformat(timespec="microseconds"),
    }
    if previous:
        facts["previous"] = previous
    return canonical_json(facts)


@dataclass(frozen=True)
class Break:
    administration: str
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = _("entry #%(position)d") % {"position": self.position} if self.position is not None else _("log")
        return f"{self.administration}: {where}: {self.problem}"


@dataclass
class ChainWalk:
    """What walking one administration's log found: the first break (None when the whole chain
    holds), the hash of every entry up to it, and where each correspondence was registered."""

    broken: Break | None
    hashes: dict[int, str] = field(default_factory=dict)  # position -> entry hash
    registrations: dict[int, int] = field(default_factory=dict)  # correspondence id -> position
    last_position: int = 0

    def hash_at(self, administration: Administration, position: int) -> str | None:
        return genesis_hash(administration) if position == 0 else self.hashes.get(position)


def walk_chain(
    administration: Administration,
    *,
    facts_of: Callable[[Sequence[int]], dict[int, dict[str, Any]]],
    batch_size: int = 2000,
) -> ChainWalk:
    """Walk one administration's log from its start, checking positions, links and hashes.

    ``facts_of(correspondence_ids)`` rebuilds registrations' facts from the live rows (one
    batch at a time), so an edit to a registered fact is caught even when the log is intact.
    """
    code = administration.code
    walk = ChainWalk(broken=None)
    previous = genesis_hash(administration)
    expected_position = 1
    for batch in _batches(administration, batch_size):
        live = facts_of([e.correspondence_id for e in batch if e.correspondence_id and e.action == "registered"])
        attached = _sealed_attachments(
            [e.correspondence_id for e in batch if e.correspondence_id and e.action == "sealed"]
        )
        for entry in batch:
            if entry.position != expected_position:
                problem = (
                    _("an entry is missing") if entry.position > expected_position else _("an entry is out of order")
                )
                walk.broken = Break(code, expected_position, problem)
                return walk
            if entry.previous_hash != previous:
                walk.broken = Break(
                    code, entry.position, _("does not link to the entry before it (inserted or reordered)")
                )
                return walk
            if chain_hash(entry.previous_hash, entry.payload) != entry.entry_hash:
                walk.broken = Break(code, entry.position, _("its recorded facts were changed (hash mismatch)"))
                return walk
            if entry.correspondence_id is not None and entry.action == "registered":
                recorded = recorded_facts(json.loads(entry.payload)["facts"])
                if recorded != live.get(entry.correspondence_id):
                    walk.broken = Break(
                        code, entry.position, _("the registered correspondence no longer matches the log")
                    )
                    return walk
                walk.registrations[entry.correspondence_id] = entry.position
            if entry.correspondence_id is not None and entry.action == "sealed":
                recorded = json.loads(entry.payload)["facts"]
                position = int(recorded["attachment"]["position"])
                if recorded != attached.get((entry.correspondence_id, position)):
                    walk.broken = Break(code, entry.position, _("the sealed letter no longer matches the log"))
                    return walk
            walk.hashes[entry.position] = entry.entry_hash
            walk.last_position = entry.position
            previous = entry.entry_hash
            expected_position += 1
    last = walk.last_position
    head = RegisterLogHead.objects.filter(administration=administration).first()
    if head is not None and (head.last_position != last or head.last_hash != previous):
        position = last + 1 if head.last_position > last else last
        walk.broken = Break(code, position, _("the log ends before its recorded head"))
        return walk
    unlogged = (
        Correspondence.objects.filter(administration=administration)
        .exclude(log_entries__action="registered")
        .values_list("number", flat=True)
        .first()
    )
    if unlogged is not None:
        walk.broken = Break(code, None, _("correspondence %(number)s has no registration entry") % {"number": unlogged})
    return walk


def _sealed_attachments(correspondence_ids: Sequence[int]) -> dict[tuple[int, int], dict[str, Any]]:
    """The facts of every attachment of these correspondences, as a ``sealed`` entry states them
    (one statement)."""
    if not correspondence_ids:
        return {}
    return {
        (a.correspondence_id, a.position): sealed_facts(a.correspondence, a)
        for a in Attachment.objects.filter(correspondence_id__in=correspondence_ids).select_related("correspondence")
    }


def _batches(administration: Administration, batch_size: int) -> Iterator[list[RegisterLogEntry]]:
    after = 0
    while True:
        batch = list(
            RegisterLogEntry.objects.filter(administration=administration, position__gt=after).order_by("position")[
                :batch_size
            ]
        )
        if not batch:
            return
        yield batch
        after = batch[-1].position
