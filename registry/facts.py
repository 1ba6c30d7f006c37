"""The registered facts of a correspondence, as the register log records them.

The same function builds the facts when a registration is logged and when the log is
verified, so any later edit of a registered fact makes the two differ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from core.canonical import sha256_hex
from registry.models import Attachment, Correspondence, Direction, RegisterLogEntry


def _party(c: Correspondence, role: str) -> dict[str, Any]:
    return {
        "account_id": getattr(c, f"{role}_account_id"),
        "kind": getattr(c, f"{role}_kind"),
        "name": getattr(c, f"{role}_name"),
        "identifier": getattr(c, f"{role}_identifier"),
        "email": getattr(c, f"{role}_email"),
        "address": getattr(c, f"{role}_address"),
    }


EMPTY_PARTY = {"account_id": None, "kind": "", "name": "", "identifier": "", "email": "", "address": ""}


def registration_facts(correspondence: Correspondence, attachments: Sequence[Attachment]) -> dict[str, Any]:
    """The facts a registration records: an incoming letter's sender under ``sender``, an
    outgoing letter's addressee under ``addressee``. The other party is recorded too whenever
    its fields are not empty (they never are, unless someone edited the row), so that an edit
    to any of them differs from the log."""
    c = correspondence
    facts: dict[str, Any] = {
        "number": c.number,
        "direction": c.direction,
        "year": c.year,
        "sequence": c.sequence,
        "channel": c.channel,
        "registered_at": c.registered_at.isoformat(timespec="microseconds"),
        "administration_id": c.administration_id,
    }
    main, other = ("addressee", "sender") if c.direction == Direction.OUTGOING else ("sender", "addressee")
    facts[main] = _party(c, main)
    if _party(c, other) != EMPTY_PARTY:
        facts[other] = _party(c, other)
    facts.update(
        {
            "recipient_service_id": c.recipient_service_id,
            "subject": c.subject,
            "body_sha256": sha256_hex(c.body),
            "confidential": c.confidential,
            "attachments": [{"position": a.position, "filename": a.filename, "sha256": a.blob_id} for a in attachments],
        }
    )
    # Facts added with the processing desk are recorded only when present, so entries logged
    # before them still verify.
    if c.in_reply_to_id is not None:
        facts["in_reply_to_id"] = c.in_reply_to_id
    if c.terms:
        facts["terms"] = c.terms
    return facts


def recorded_facts(recorded: dict[str, Any]) -> dict[str, Any]:
    """The facts a log entry recorded, in the words :func:`registration_facts` uses now.

    Before outgoing letters had addressee fields, an outgoing letter's addressee was kept in
    its sender fields and recorded under ``sender``: such an entry (outgoing, ``sender``, no
    ``addressee``) names its addressee. Only the key is read anew; every value must still
    match the live row, and the entry's hash covers the text as it was written.
    """
    if recorded.get("direction") == Direction.OUTGOING and "sender" in recorded and "addressee" not in recorded:
        recorded = dict(recorded)
        recorded["addressee"] = recorded.pop("sender")
    return recorded


def sealed_facts(correspondence: Correspondence, attachment: Attachment) -> dict[str, Any]:
    """The facts of a letter attached after its registration (``sealed`` entries, see
    :mod:`registry.sealed`): which correspondence, which attachment, which file."""
    return {
        "number": correspondence.number,
        "attachment": {"position": attachment.position, "filename": attachment.filename, "sha256": attachment.blob_id},
    }


def sealed_after(correspondence_ids: Sequence[int]) -> dict[int, dict[int, dict[str, Any]]]:
    """The attachments the register log says were sealed after these registrations, as their
    ``sealed`` entries recorded them: correspondence id → position → facts (one statement)."""
    found: dict[int, dict[int, dict[str, Any]]] = {}
    for correspondence_id, payload in RegisterLogEntry.objects.filter(
        action="sealed", correspondence_id__in=correspondence_ids
    ).values_list("correspondence_id", "payload"):
        facts = json.loads(payload)["facts"]
        found.setdefault(correspondence_id, {})[int(facts["attachment"]["position"])] = facts
    return found


def facts_from_database(correspondence_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The facts of these registrations as the live rows say now (three statements for any
    number). A letter attached after its registration is left out: its own entry records it."""
    if not correspondence_ids:
        return {}
    later = sealed_after(correspondence_ids)
    attachments: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(correspondence_id__in=correspondence_ids).order_by("position"):
        if attachment.position in later.get(attachment.correspondence_id, {}):
            continue
        attachments.setdefault(attachment.correspondence_id, []).append(attachment)
    return {
        c.pk: registration_facts(c, attachments.get(c.pk, []))
        for c in Correspondence.objects.filter(pk__in=correspondence_ids)
    }
