"""The access log: every access to a person's data by an administration other than the one they
wrote to (a document asked of its holder, delivered, refused, read), which the person sees in
their space. Append-only: each entry names the hash of the one before it, so removing or
changing one breaks the chain (:func:`access_log_verify`)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from core.canonical import canonical_json
from exchange.models import AccessLogEntry, AccessLogHead, DocumentRequest
from tenancy.models import Administration, User

GENESIS = hashlib.sha256(b"wasl access log").hexdigest()


def _hash(previous: str, payload: str) -> str:
    return hashlib.sha256(f"{previous}\n{payload}".encode()).hexdigest()


def _locked_head() -> AccessLogHead:
    head = AccessLogHead.objects.select_for_update().order_by("pk").first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            AccessLogHead.objects.create(pk=1, last_hash=GENESIS)
    except IntegrityError:
        pass  # created meanwhile by another transaction
    return AccessLogHead.objects.select_for_update().get(pk=1)


def access_record(
    *,
    action: str,
    administration: Administration | None,
    national_id: str,
    citizen: User | None,
    actor: User | None,
    at: datetime,
    administration_name: str = "",
    actor_name: str = "",
    facts: dict[str, Any],
    request: DocumentRequest | None = None,
) -> AccessLogEntry:
    """Append one access. Runs inside the transaction that makes the access."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("access_record must run inside a transaction")
    head = _locked_head()
    position = head.last_position + 1
    actor_name = actor.full_name if actor is not None else actor_name
    if administration is not None:
        administration_name = administration.name_fr
    payload = canonical_json(
        {
            "position": position,
            "at": at.isoformat(),
            "action": action,
            "national_id": national_id,
            "administration": administration.code if administration is not None else "",
            "administration_name": administration_name,
            "actor": actor_name,
            "facts": facts,
        }
    )
    entry_hash = _hash(head.last_hash, payload)
    entry = AccessLogEntry.objects.create(
        position=position,
        at=at,
        national_id=national_id,
        citizen=citizen,
        action=action,
        administration=administration,
        administration_name=administration_name,
        actor_name=actor_name,
        payload=payload,
        previous_hash=head.last_hash,
        entry_hash=entry_hash,
        request=request,
    )
    head.last_position, head.last_hash = position, entry_hash
    head.save(update_fields=["last_position", "last_hash"])
    return entry


def access_log_verify() -> int | None:
    """The position of the first entry that breaks the chain, or ``None`` if it is whole."""
    previous, expected = GENESIS, 1
    for entry in AccessLogEntry.objects.order_by("position").iterator(chunk_size=2000):
        if entry.position != expected or entry.previous_hash != previous:
            return expected
        if _hash(previous, entry.payload) != entry.entry_hash:
            return entry.position
        previous, expected = entry.entry_hash, expected + 1
    head = AccessLogHead.objects.first()
    if head is not None and (head.last_position != expected - 1 or head.last_hash != previous):
        return expected
    return None


def accesses_of(user: User) -> QuerySet[AccessLogEntry]:
    """What the person sees: the accesses to their data, by account or national ID."""
    condition = Q(citizen=user)
    if user.national_id:
        condition |= Q(national_id=user.national_id)
    return AccessLogEntry.objects.filter(condition).select_related("administration").order_by("-position")
