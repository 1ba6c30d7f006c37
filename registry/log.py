"""The register log: an append-only chain of entries per administration, linked by SHA-256.

Appending locks the administration's :class:`RegisterLogHead`, so entries get consecutive
positions and each one names the hash of the one before it. Checkpoints seal the head hash
with the administration's seal and a timestamp; :func:`verify_chain` re-reads everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from core.canonical import canonical_json
from registry.models import Correspondence, RegisterCheckpoint, RegisterLogEntry, RegisterLogHead
from tenancy.models import Administration


def genesis_hash(administration: Administration) -> str:
    return hashlib.sha256(f"wasl register log of {administration.code}".encode()).hexdigest()


def chain_hash(previous_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{previous_hash}\n{payload}".encode()).hexdigest()


def _locked_head(administration: Administration) -> RegisterLogHead:
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
    head = _locked_head(administration)
    rows = []
    position, previous = head.last_position, head.last_hash
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
    created = RegisterLogEntry.objects.bulk_create(rows, batch_size=1000)
    head.last_position, head.last_hash = position, previous
    head.save(update_fields=["last_position", "last_hash"])
    return created


def checkpoint_statement(administration: Administration, position: int, head_hash: str, at: datetime) -> str:
    return canonical_json(
        {
            "administration": administration.code,
            "position": position,
            "head_hash": head_hash,
            "created_at": at.isoformat(timespec="microseconds"),
        }
    )


@dataclass(frozen=True)
class Break:
    administration: str
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.position}" if self.position is not None else "log"
        return f"{self.administration}: {where}: {self.problem}"


def verify_chain(
    administration: Administration,
    *,
    expected_facts: Callable[[int], dict[str, Any] | None],
    verify_seal: Callable[[bytes, bytes], bool],
    batch_size: int = 2000,
) -> Break | None:
    """Walk one administration's log; return the first break, or None when all holds.

    ``expected_facts(correspondence_id)`` rebuilds a registration's facts from the live
    rows, so an edit to a registered fact is caught even when the log itself is intact.
    ``verify_seal(statement, seal)`` checks a checkpoint's seal.
    """
    code = administration.code
    previous = genesis_hash(administration)
    expected_position = 1
    hashes: dict[int, str] = {}
    for entry in _entries(administration, batch_size):
        if entry.position != expected_position:
            problem = "an entry is missing" if entry.position > expected_position else "an entry is out of order"
            return Break(code, expected_position, problem)
        if entry.previous_hash != previous:
            return Break(code, entry.position, "does not link to the entry before it (inserted or reordered)")
        if chain_hash(entry.previous_hash, entry.payload) != entry.entry_hash:
            return Break(code, entry.position, "its recorded facts were changed (hash mismatch)")
        if entry.correspondence_id is not None and entry.action == "registered":
            recorded = json.loads(entry.payload)["facts"]
            if recorded != expected_facts(entry.correspondence_id):
                return Break(code, entry.position, "the registered correspondence no longer matches the log")
        hashes[entry.position] = entry.entry_hash
        previous = entry.entry_hash
        expected_position += 1
    last = expected_position - 1
    head = RegisterLogHead.objects.filter(administration=administration).first()
    if head is not None and (head.last_position != last or head.last_hash != previous):
        return Break(code, last + 1 if head.last_position > last else last, "the log ends before its recorded head")
    for checkpoint in RegisterCheckpoint.objects.filter(administration=administration).order_by("position"):
        statement = checkpoint_statement(
            administration, checkpoint.position, checkpoint.head_hash, checkpoint.created_at
        )
        if statement != checkpoint.statement or not verify_seal(statement.encode(), bytes(checkpoint.seal)):
            return Break(code, checkpoint.position, "a checkpoint's seal does not verify")
        actual = hashes.get(checkpoint.position) if checkpoint.position else genesis_hash(administration)
        if actual != checkpoint.head_hash:
            return Break(code, checkpoint.position, "differs from the sealed checkpoint (history rewritten)")
    unlogged = (
        Correspondence.objects.filter(administration=administration)
        .exclude(log_entries__action="registered")
        .values_list("number", flat=True)
        .first()
    )
    if unlogged is not None:
        return Break(code, None, f"correspondence {unlogged} has no registration entry")
    return None


def _entries(administration: Administration, batch_size: int) -> Iterator[RegisterLogEntry]:
    after = 0
    while True:
        batch = list(
            RegisterLogEntry.objects.filter(administration=administration, position__gt=after).order_by("position")[
                :batch_size
            ]
        )
        if not batch:
            return
        yield from batch
        after = batch[-1].position
