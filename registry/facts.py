"""The registered facts of a correspondence, as the register log records them.

The same function builds the facts when a registration is logged and when the log is
verified, so any later edit of a registered fact makes the two differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.canonical import sha256_hex
from registry.models import Attachment, Correspondence


def registration_facts(correspondence: Correspondence, attachments: Sequence[Attachment]) -> dict[str, Any]:
    c = correspondence
    facts: dict[str, Any] = {
        "number": c.number,
        "direction": c.direction,
        "year": c.year,
        "sequence": c.sequence,
        "channel": c.channel,
        "registered_at": c.registered_at.isoformat(timespec="microseconds"),
        "administration_id": c.administration_id,
        "sender": {
            "account_id": c.sender_account_id,
            "kind": c.sender_kind,
            "name": c.sender_name,
            "identifier": c.sender_identifier,
            "email": c.sender_email,
            "address": c.sender_address,
        },
        "recipient_service_id": c.recipient_service_id,
        "subject": c.subject,
        "body_sha256": sha256_hex(c.body),
        "confidential": c.confidential,
        "attachments": [{"position": a.position, "filename": a.filename, "sha256": a.blob_id} for a in attachments],
    }
    # Facts added with the processing desk are recorded only when present, so entries logged
    # before them still verify.
    if c.in_reply_to_id is not None:
        facts["in_reply_to_id"] = c.in_reply_to_id
    if c.terms:
        facts["terms"] = c.terms
    return facts


def facts_from_database(correspondence_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The facts of these registrations as the live rows say now (two statements for any number)."""
    if not correspondence_ids:
        return {}
    attachments: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(correspondence_id__in=correspondence_ids).order_by("position"):
        attachments.setdefault(attachment.correspondence_id, []).append(attachment)
    return {
        c.pk: registration_facts(c, attachments.get(c.pk, []))
        for c in Correspondence.objects.filter(pk__in=correspondence_ids)
    }
