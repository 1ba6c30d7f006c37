"""Register checkpoints kept by pinned peers: a witness that a rewrite of our database cannot reach.

Every sealed checkpoint of our register logs (registry.checkpoints) is sent to each pinned
installation, which checks its seal against our pinned root and keeps it. When we verify our
registers, each peer gives back what it keeps of an administration, and every checkpoint it
gives must still be in our database and match our log (registry.integrity). Both requests are
signed by the sending installation (exchange.protocol), both answers by the peer.

    POST /exchange/v1/checkpoints       {"checkpoints": [{"statement", "seal"}…]}  → {"kept": n}
    POST /exchange/v1/checkpoints/kept  {"administration": CODE}  → {"checkpoints": [{"statement", "seal"}…]}

A peer keeps only checkpoints sealed by one of the sending installation's administrations, and
gives back to an installation only what that installation sent it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from core.canonical import sha256_hex
from core.clock import now
from exchange.inbox import Answer
from exchange.models import KeptCheckpoint, Peer
from exchange.protocol import ProtocolError, load_root, seal_verdict
from exchange.remote import PeerRefused, PeerUnreachable, signed_post
from registry.anchors import AnchoredCheckpoint, WitnessAnswer, WitnessUnavailable
from registry.models import RegisterCheckpoint
from tenancy.models import Administration

logger = logging.getLogger(__name__)

CHECKPOINTS_PATH = "/exchange/v1/checkpoints"
KEPT_PATH = "/exchange/v1/checkpoints/kept"
BATCH = 200


def _item(statement: str, seal: bytes) -> dict[str, str]:
    return {"statement": statement, "seal": base64.b64encode(seal).decode()}


def _body(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


# -- our side: sending, asking back -----------------------------------------------------------


def checkpoints_export() -> dict[str, int | str]:
    """Send every pinned peer the checkpoints it has not received yet (the worker, periodically).
    A peer that cannot be reached is tried again next time, from where it stopped."""
    result: dict[str, int | str] = {}
    for peer in Peer.objects.filter(is_active=True).order_by("name"):
        sent = 0
        try:
            while True:
                batch = list(
                    RegisterCheckpoint.objects.filter(pk__gt=peer.checkpoints_sent_through).order_by("pk")[:BATCH]
                )
                if not batch:
                    break
                status, answer = signed_post(
                    peer,
                    CHECKPOINTS_PATH,
                    "checkpoints",
                    _body({"checkpoints": [_item(c.statement, bytes(c.seal)) for c in batch]}),
                )
                if status != 200:
                    raise PeerRefused(f"{peer.name}: {answer.get('error', status)}: {answer.get('detail', '')}")
                peer.checkpoints_sent_through = batch[-1].pk
                Peer.objects.filter(pk=peer.pk).update(checkpoints_sent_through=batch[-1].pk)
                sent += len(batch)
        except (PeerUnreachable, PeerRefused) as exc:
            logger.warning("checkpoints not sent to %s: %s", peer.name, exc)
            result[peer.name] = str(exc)
            continue
        if sent:
            result[peer.name] = sent
    return result


def kept_by(peer: Peer, administration: Administration) -> list[AnchoredCheckpoint]:
    """What ``peer`` keeps of ``administration``'s checkpoints. Raises PeerUnreachable or
    PeerRefused when it cannot tell."""
    status, answer = signed_post(peer, KEPT_PATH, "checkpoints-kept", _body({"administration": administration.code}))
    if status != 200:
        raise PeerRefused(f"{peer.name}: {answer.get('error', status)}")
    source = _("the installation %(name)s") % {"name": peer.label or peer.name}
    kept = []
    for item in answer.get("checkpoints", []):
        try:
            kept.append(
                AnchoredCheckpoint(
                    statement=str(item["statement"]),
                    seal=base64.b64decode(item["seal"], validate=True),
                    source=source,
                )
            )
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise PeerRefused(f"{peer.name}: an unreadable checkpoint") from None
    return kept


def peers_witness(administration: Administration) -> Iterator[WitnessAnswer]:
    """registry.integrity's witness: each active peer, and what it keeps or why it cannot say."""
    for peer in Peer.objects.filter(is_active=True).order_by("name"):
        name = _("the installation %(name)s") % {"name": peer.label or peer.name}
        try:
            yield name, kept_by(peer, administration)
        except (PeerUnreachable, PeerRefused) as exc:
            yield name, WitnessUnavailable(str(exc))


# -- the peer's side: keeping, giving back -------------------------------------------------------


def checkpoints_receive(peer: Peer, nonce: str, body: bytes) -> Answer:
    """Keep the checkpoints ``peer`` sent: each one sealed by one of its administrations (checked
    against its pinned root). All or nothing: one that does not verify refuses the request."""
    try:
        items = json.loads(body)["checkpoints"]
        if not isinstance(items, list) or len(items) > BATCH:
            raise ValueError(f"not a list of at most {BATCH} checkpoints")
        received = [(str(i["statement"]), base64.b64decode(i["seal"], validate=True)) for i in items]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ProtocolError("rejected_content", f"unreadable checkpoints: {exc}") from None
    root = load_root(peer.ca_certificate)
    rows = []
    for statement, seal in received:
        try:
            code = str(json.loads(statement)["administration"])
        except (ValueError, KeyError, TypeError):
            raise ProtocolError("rejected_content", "a checkpoint statement cannot be read") from None
        verdict = seal_verdict(statement.encode(), seal, root)
        if not verdict.valid or verdict.signer_code != code:
            raise ProtocolError("tampered", f"the seal of a checkpoint of {code[:40]} does not verify")
        rows.append(
            KeptCheckpoint(
                peer=peer,
                administration_code=code[:40],
                statement=statement,
                statement_hash=sha256_hex(statement),
                seal=seal,
                received_at=now(),
            )
        )
    KeptCheckpoint.objects.bulk_create(rows, ignore_conflicts=True)
    return Answer(status=200, data={"kept": len(rows)})


def checkpoints_give_back(peer: Peer, nonce: str, body: bytes) -> Answer:
    """The checkpoints of one administration that ``peer`` sent us, in the order received."""
    try:
        code = str(json.loads(body)["administration"])[:40]
    except (ValueError, KeyError, TypeError):
        raise ProtocolError("rejected_content", "name the administration") from None
    kept = KeptCheckpoint.objects.filter(peer=peer, administration_code=code).order_by("pk")
    return Answer(status=200, data={"checkpoints": [_item(k.statement, bytes(k.seal)) for k in kept]})
