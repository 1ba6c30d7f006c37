"""Talking to other installations: pinning a peer, copying its directory, posting envelopes.

An envelope to a peer is posted to its inbox with the letter's documents, their fingerprints and
the metadata in a **manifest** sealed by the sending administration (sealed once, at the first
attempt, and sent identical on every retry). The answer is signed by the peer; a delivered
envelope keeps the recipient's sealed acknowledgement. What cannot reach the peer (network,
peer down, its server failing) is retried; what the peer refuses is not, with its reason.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.db import transaction
from django.utils.text import slugify

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from documents import storage
from exchange.inbox import MANIFEST_VERSION
from exchange.lifecycle import envelope_fail, envelope_move
from exchange.models import Envelope, Peer, RemoteAdministration
from exchange.protocol import (
    DIRECTORY_PATH,
    INBOX_PATH,
    INSTALLATION_PATH,
    NONCE,
    ProtocolError,
    check,
    fingerprint,
    load_root,
    seal_verdict,
    sign,
)
from trust.sealing import seal_data
from trust.services import installation_pki

logger = logging.getLogger(__name__)
TIMEOUT = 30  # seconds
# Refusals worth retrying: the peer may pin us later, or set its clock right.
TRANSIENT = frozenset({"unknown_peer", "stale"})


class PeerUnreachable(Exception):
    """The peer did not answer, or not in a way we can trust: try again later."""


class PeerRefused(Exception):
    """The peer's installation refused, or is not the one pinned: a configuration problem."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


_connections = threading.local()


def _request(
    base_url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Response:
    """One HTTP(S) request on a kept-alive connection per peer and thread."""
    parts = urlsplit(base_url)
    key = (parts.scheme, parts.netloc)
    pool: dict[tuple[str, str], http.client.HTTPConnection] = _connections.__dict__.setdefault("pool", {})
    target = (parts.path.rstrip("/") or "") + path
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    for attempt in (1, 2):  # a kept-alive connection the peer closed fails once: reconnect
        connection = pool.get(key)
        if connection is None:
            factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = pool[key] = factory(parts.netloc, timeout=TIMEOUT)
        try:
            connection.request(method, target, body=body or None, headers=all_headers)
            answer = connection.getresponse()
            data = answer.read()
            return Response(answer.status, {k: v for k, v in answer.getheaders()}, data)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            pool.pop(key, None)
            if attempt == 2 or not isinstance(
                exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
            ):
                raise PeerUnreachable(f"{base_url}: {exc.__class__.__name__}: {exc}") from None
    raise AssertionError("unreachable")


# -- pinning and the directory ---------------------------------------------------------------


def installation_describe(base_url: str) -> dict[str, Any]:
    """What an installation says about itself (name, fingerprint, root certificate)."""
    response = _request(base_url, "GET", INSTALLATION_PATH)
    if response.status != 200:
        raise PeerUnreachable(f"{base_url}{INSTALLATION_PATH}: HTTP {response.status}")
    return dict(json.loads(response.body))


def peer_add(*, name: str, base_url: str, expected_fingerprint: str = "", ca_pem: str = "") -> Peer:
    """Pin another installation: its root certificate, given (``ca_pem``) or fetched from it and
    accepted only if its fingerprint is ``expected_fingerprint`` (compared out of band)."""
    base_url = base_url.rstrip("/")
    slug = slugify(name)
    if not slug:
        raise ValueError("a peer needs a name (letters, digits, dashes)")
    described: dict[str, Any] = {}
    if not ca_pem:
        described = installation_describe(base_url)
        ca_pem = str(described.get("ca_certificate", ""))
    root = x509.load_pem_x509_certificate(ca_pem.encode())
    actual = fingerprint(root)
    expected = expected_fingerprint.replace(":", "").strip().lower()
    if not ca_pem or (not expected and described) or (expected and expected != actual):
        raise PeerRefused(f"the root certificate's fingerprint is {actual}, not {expected or '(none given)'}")
    if actual == installation_pki().fingerprint:
        raise PeerRefused("this is our own installation")
    root_pem = root.public_bytes(Encoding.PEM).decode()
    peer, _ = Peer.objects.update_or_create(
        name=slug,
        defaults={
            "label": str(described.get("name", "")) or slug,
            "base_url": base_url,
            "ca_certificate": root_pem,
            "fingerprint": actual,
            "is_active": True,
            "created_at": now(),
        },
    )
    audit_record(
        actor=None, action=AuditAction.EXCHANGE_PEER_PINNED, obj=peer, data={"url": base_url, "fingerprint": actual}
    )
    return peer


def directory_sync(peer: Peer) -> int:
    """Copy the peer's signed directory; administrations it no longer lists are marked gone."""
    response = _request(peer.base_url, "GET", DIRECTORY_PATH)
    if response.status != 200:
        raise PeerUnreachable(f"{peer.base_url}{DIRECTORY_PATH}: HTTP {response.status}")
    try:
        check(
            response.headers,
            root=load_root(peer.ca_certificate),
            kind="directory",
            path=DIRECTORY_PATH,
            body=response.body,
        )
    except ProtocolError as exc:
        raise PeerRefused(f"{peer.name}: directory not signed by the pinned installation ({exc})") from None
    entries = json.loads(response.body)["administrations"]
    with transaction.atomic():
        seen = []
        for entry in entries:
            code = str(entry["code"])[:40]
            seen.append(code)
            RemoteAdministration.objects.update_or_create(
                peer=peer,
                code=code,
                defaults={
                    "kind": str(entry.get("kind", ""))[:20],
                    "region": str(entry.get("region", ""))[:40],
                    "name_ar": str(entry.get("name_ar", ""))[:200],
                    "name_fr": str(entry.get("name_fr", ""))[:200],
                    "name_zgh": str(entry.get("name_zgh", ""))[:200],
                    "provides": [
                        {
                            "code": str(p.get("code", ""))[:40],
                            "name_ar": str(p.get("name_ar", ""))[:200],
                            "name_fr": str(p.get("name_fr", ""))[:200],
                            "automatic": bool(p.get("automatic")),
                        }
                        for p in entry.get("provides", [])
                        if isinstance(p, dict)
                    ],
                    "is_active": True,
                },
            )
        RemoteAdministration.objects.filter(peer=peer).exclude(code__in=seen).update(is_active=False)
        peer.directory_synced_at = now()
        peer.save(update_fields=["directory_synced_at"])
    return len(entries)


def directories_sync() -> dict[str, int | str]:
    """Refresh every peer's directory (the worker, hourly); a peer that fails is told apart."""
    result: dict[str, int | str] = {}
    for peer in Peer.objects.filter(is_active=True):
        try:
            result[peer.name] = directory_sync(peer)
        except (PeerUnreachable, PeerRefused) as exc:
            logger.warning("directory of %s not refreshed: %s", peer.name, exc)
            result[peer.name] = str(exc)
    return result


# -- envelopes ---------------------------------------------------------------------------------


def _manifest(envelope: Envelope) -> str:
    outgoing = envelope.outgoing
    sender = envelope.sender
    assert outgoing is not None and sender is not None
    documents = [
        {"name": a.filename, "sha256": a.blob_id, "size": a.blob.size}
        for a in outgoing.attachments.select_related("blob").order_by("position")
    ]
    return json.dumps(
        {
            "version": MANIFEST_VERSION,
            "envelope": str(envelope.pk),
            "from": {"code": sender.code, "name_ar": sender.name_ar, "name_fr": sender.name_fr},
            "to": envelope.remote_code,
            "number": outgoing.number,
            "registered_at": outgoing.registered_at.isoformat(),
            "subject": outgoing.subject,
            "body": outgoing.body,
            "documents": documents,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _sealed(envelope: Envelope) -> Envelope:
    """Seal the manifest at the first attempt (a timestamping outage delays, never loses)."""
    if envelope.manifest:
        return envelope
    assert envelope.sender is not None
    manifest = _manifest(envelope)
    seal = seal_data(manifest.encode(), pki=installation_pki(), administration_code=envelope.sender.code)
    if Envelope.objects.filter(pk=envelope.pk, manifest="").update(manifest=manifest, manifest_seal=seal):
        envelope.manifest, envelope.manifest_seal = manifest, seal
    else:  # sealed meanwhile by another attempt: send that one
        envelope.refresh_from_db(fields=["manifest", "manifest_seal"])
    return envelope


def _payload(envelope: Envelope) -> bytes:
    documents = json.loads(envelope.manifest)["documents"]
    contents = []
    for item in documents:
        data = storage.read_bytes(item["sha256"])
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            raise OSError(f"stored document {item['name']!r} does not match its fingerprint")
        contents.append(base64.b64encode(data).decode())
    return json.dumps(
        {
            "manifest": envelope.manifest,
            "seal": base64.b64encode(bytes(envelope.manifest_seal)).decode(),
            "documents": contents,
        },
        separators=(",", ":"),
    ).encode()


def signed_post(peer: Peer, path: str, kind: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Post ``body`` signed by this installation to a peer; its HTTP status and its answer, whose
    signature by the pinned installation is checked. :class:`PeerUnreachable` when the peer does
    not answer, fails (5xx), or answers unsigned: worth trying again."""
    headers = sign(installation_pki(), kind=kind, path=path, body=body)
    response = _request(peer.base_url, "POST", path, body, headers)
    if response.status >= 500:
        raise PeerUnreachable(f"{peer.name}: HTTP {response.status}")
    try:
        check(
            response.headers,
            root=load_root(peer.ca_certificate),
            kind="answer",
            path=path,
            body=response.body,
            nonce=headers[NONCE],
        )
        return response.status, dict(json.loads(response.body))
    except (ProtocolError, ValueError) as exc:
        raise PeerUnreachable(f"{peer.name}: an answer not signed by the pinned installation ({exc})") from None


def envelope_post(envelope_id: UUID | str) -> bool:
    """Post one envelope to its peer and record the answer. Raises :class:`PeerUnreachable`
    when it should be tried again; a refusal marks the envelope not delivered, with the reason."""
    envelope = Envelope.objects.select_related("sender", "peer", "outgoing", "sent_by").filter(pk=envelope_id).first()
    if envelope is None or envelope.status != Envelope.Status.PENDING or envelope.peer is None:
        return False
    peer = envelope.peer
    if not peer.is_active:
        raise PeerUnreachable(f"peer {peer.name} is disabled")
    envelope = _sealed(envelope)
    status, answer = signed_post(peer, INBOX_PATH, "envelope", _payload(envelope))
    if status in (200, 201):
        return _acknowledged(envelope, answer)
    code = str(answer.get("error", "refused"))
    reason = f"{code}: {answer.get('detail', '')}".strip(": ")
    if code in TRANSIENT:
        raise PeerUnreachable(f"{peer.name}: {reason}")
    with transaction.atomic():
        if envelope_fail(envelope, reason, attempts=envelope.attempts + 1):
            audit_record(
                actor=None,
                action=AuditAction.EXCHANGE_REFUSED,
                obj=envelope,
                administration=envelope.sender,
                data={"to": envelope.recipient_code, "reason": reason[:300]},
            )
    return False


def _acknowledged(envelope: Envelope, answer: dict[str, Any]) -> bool:
    try:
        text = str(answer["acknowledgement"])
        seal = base64.b64decode(answer["seal"], validate=True)
        facts = json.loads(text)
    except (KeyError, ValueError, TypeError) as exc:
        raise PeerUnreachable(f"unreadable acknowledgement ({exc})") from None
    if not _acknowledgement_holds(envelope, text, seal, facts):
        raise PeerUnreachable("the acknowledgement is not the recipient's, sealed, for this envelope")
    with transaction.atomic():
        updated = envelope_move(
            envelope,
            Envelope.Status.DELIVERED,
            delivered_at=now(),
            attempts=envelope.attempts + 1,
            last_error="",
            acknowledgement=text,
            acknowledgement_seal=seal,
            remote_number=str(facts["recipient_number"])[:40],
        )
        if updated:
            audit_record(
                actor=None,
                action=AuditAction.EXCHANGE_ACKNOWLEDGED,
                obj=envelope,
                administration=envelope.sender,
                data={"to": envelope.recipient_code, "number": facts["recipient_number"]},
            )
    return updated


def _acknowledgement_holds(envelope: Envelope, text: str, seal: bytes, facts: dict[str, Any]) -> bool:
    assert envelope.peer is not None and envelope.outgoing is not None
    verdict = seal_verdict(text.encode(), seal, load_root(envelope.peer.ca_certificate))
    return (
        verdict.valid
        and verdict.signer_code == envelope.remote_code
        and facts.get("envelope") == str(envelope.pk)
        and facts.get("sender_number") == envelope.outgoing.number
        and facts.get("recipient") == envelope.remote_code
        and bool(facts.get("recipient_number"))
    )
