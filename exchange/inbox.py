"""Receiving an envelope from another installation: checked, registered once, acknowledged.

The request was signed by the peer's installation (checked against its pinned root by the view,
:mod:`exchange.views`). Here: the request is new (a replay is refused), the documents are those
the manifest fingerprints, the manifest is sealed by the administration it names, and the
recipient is ours. Then the letter is registered in the recipient's incoming register and the
envelope kept with its acknowledgement, in one transaction; the acknowledgement is sealed after
that commit (:mod:`exchange.acknowledgements`) and sent back in the answer. If it cannot be
sealed now, the answer says to try again (503, ``acknowledgement_pending``): the sender's retry
of the same envelope gets it, sealed meanwhile by this answer's retry or by the worker, never
registered twice.

The envelope id is the sender's idempotency key, with the same rules as the API's
``Idempotency-Key`` (:mod:`registry.idempotency`): an envelope id already kept, with the same
manifest, is answered as the first time (201 and the same acknowledgement, marked replayed) and
never registered twice; the same id with another manifest is a ``conflict``. A copy arriving while
the first is being registered waits for it and gets its answer (a machine, not a person, waits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from documents.intake import FileRejected, bytes_upload, check_files
from exchange.acknowledgements import acknowledgement_seal_safely
from exchange.lifecycle import envelope_move
from exchange.models import Envelope, InboxNonce, Peer
from exchange.protocol import CLOCK_SKEW, ProtocolError, load_root, seal_verdict
from registry.models import Channel, SenderKind
from registry.services import Party
from tenancy.models import Administration
from workflow.services import request_register

MANIFEST_VERSION = 1
PURGE_ONE_IN = 100  # nonces older than any acceptable date are purged once in this many requests


@dataclass(frozen=True)
class Answer:
    status: int
    data: dict[str, Any]
    replayed: bool = False  # the answer given before to the same envelope


def acknowledgement_text(facts: dict[str, str]) -> str:
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _parse(body: bytes) -> tuple[str, dict[str, Any], bytes, list[bytes]]:
    try:
        payload = json.loads(body)
        manifest_text = payload["manifest"]
        manifest = json.loads(manifest_text)
        seal = base64.b64decode(payload["seal"], validate=True)
        contents = [base64.b64decode(item, validate=True) for item in payload["documents"]]
        listed = manifest["documents"]
        if manifest.get("version") != MANIFEST_VERSION or len(listed) != len(contents):
            raise ValueError("manifest and documents disagree")
        for key in ("envelope", "to", "number", "subject", "body", "registered_at"):
            if not isinstance(manifest.get(key), str):
                raise ValueError(f"manifest without {key}")
        if not isinstance(manifest.get("from"), dict) or not isinstance(manifest["from"].get("code"), str):
            raise ValueError("manifest without its sender")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ProtocolError("tampered", f"unreadable envelope ({exc})") from None
    for item, content in zip(listed, contents, strict=True):
        if hashlib.sha256(content).hexdigest() != item.get("sha256") or len(content) != item.get("size"):
            raise ProtocolError("tampered", f"document {item.get('name')!r} does not match its fingerprint")
    return manifest_text, manifest, seal, contents


def remember_nonce(peer: Peer, nonce: str) -> None:
    """A request is accepted once; its nonce is kept while its date could still pass."""
    moment = now()
    try:
        with transaction.atomic():
            InboxNonce.objects.create(peer=peer, nonce=nonce, seen_at=moment)
    except IntegrityError:
        raise ProtocolError("replayed", "this request was already received") from None
    if secrets.randbelow(PURGE_ONE_IN) == 0:  # now and then, not on every request
        InboxNonce.objects.filter(seen_at__lt=moment - 2 * CLOCK_SKEW - timedelta(minutes=1)).delete()


def _kept(peer: Peer, envelope_id: str, manifest_text: str) -> Answer | None:
    envelope = next(iter(Envelope.objects.filter(pk=envelope_id)[:1]), None)
    if envelope is None:
        return None
    if envelope.peer_id != peer.pk or envelope.incoming_id is None:
        raise ProtocolError("conflict", "an envelope with this id is known here from elsewhere")
    if envelope.manifest != manifest_text:
        raise ProtocolError("conflict", "an envelope with this id was received with another manifest")
    return _acknowledged(envelope, replayed=True)


def _acknowledged(envelope: Envelope, *, replayed: bool = False) -> Answer:
    """The sealed acknowledgement of an envelope registered here, sealed now if it is still
    pending; the sender is told to try again if it cannot be."""
    if envelope.acknowledgement_pending:
        acknowledgement_seal_safely(envelope.pk)
        envelope.refresh_from_db(fields=["acknowledgement_seal", "acknowledgement_pending"])
        if envelope.acknowledgement_pending:
            raise ProtocolError("acknowledgement_pending", "registered; the acknowledgement is not sealed yet")
    return Answer(201, _acknowledgement(envelope), replayed=replayed)


def _acknowledgement(envelope: Envelope) -> dict[str, Any]:
    return {
        "acknowledgement": envelope.acknowledgement,
        "seal": base64.b64encode(bytes(envelope.acknowledgement_seal)).decode(),
    }


def envelope_receive(peer: Peer, nonce: str, body: bytes) -> Answer:
    """Register an envelope a peer sent (its request already authenticated)."""
    remember_nonce(peer, nonce)
    manifest_text, manifest, seal, contents = _parse(body)
    sender_code = manifest["from"]["code"]
    verdict = seal_verdict(manifest_text.encode(), seal, load_root(peer.ca_certificate))
    if not verdict.valid or verdict.signer_code != sender_code:
        raise ProtocolError("tampered", f"the manifest is not sealed by {sender_code} ({verdict.problem or 'signer'})")
    kept = _kept(peer, manifest["envelope"], manifest_text)
    if kept is not None:
        return kept
    recipient = Administration.objects.filter(code=manifest["to"], is_active=True).first()
    if recipient is None:
        raise ProtocolError("unknown_recipient", f"no administration {manifest['to']!r} here")
    try:
        files = check_files(
            [bytes_upload(content, item["name"]) for item, content in zip(manifest["documents"], contents, strict=True)]
        )
    except FileRejected as exc:
        raise ProtocolError("rejected_content", str(exc.message)) from None
    sender_name = str(manifest["from"].get("name_fr") or sender_code)[:200]
    try:
        # Durable: the register is released before the acknowledgement is sealed.
        with transaction.atomic(durable=True):
            registration = request_register(
                actor=None,
                administration=recipient,
                channel=Channel.EXCHANGE,
                sender=Party(kind=SenderKind.ADMINISTRATION, name=sender_name, identifier=f"{sender_code}@{peer.name}"),
                subject=manifest["subject"],
                body=manifest["body"],
                files=files,
            )
            incoming = registration.correspondence
            moment = now()
            envelope = Envelope.objects.create(
                id=manifest["envelope"],
                recipient=recipient,
                peer=peer,
                remote_code=sender_code,
                remote_name=sender_name,
                remote_name_ar=str(manifest["from"].get("name_ar") or "")[:200],
                remote_number=manifest["number"][:40],
                created_at=moment,
                next_attempt_at=moment,
                manifest=manifest_text,
                manifest_seal=seal,
            )
            envelope_move(
                envelope,
                Envelope.Status.DELIVERED,
                incoming=incoming,
                delivered_at=moment,
                attempts=1,
                acknowledgement=acknowledgement_text(
                    {
                        "envelope": manifest["envelope"],
                        "sender": sender_code,
                        "sender_number": manifest["number"],
                        "recipient": recipient.code,
                        "recipient_number": incoming.number,
                        "registered_at": incoming.registered_at.isoformat(),
                    }
                ),
                acknowledgement_pending=True,
            )
            audit_record(
                actor=None,
                action=AuditAction.EXCHANGE_DELIVERED,
                obj=envelope,
                administration=recipient,
                data={"from": f"{sender_code}@{peer.name}", "number": incoming.number},
            )
    except IntegrityError:  # the same envelope, registered meanwhile by a concurrent request
        kept = _kept(peer, manifest["envelope"], manifest_text)
        if kept is None:
            raise
        return kept
    return _acknowledged(envelope)
