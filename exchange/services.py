"""Sending correspondence to another administration of this installation, and delivering it.

``mail_send`` registers the letter in the sender's outgoing register and writes its envelope in
the same transaction: nothing acknowledged is ever lost. ``envelopes_deliver`` (the worker)
registers each due envelope in the recipient's incoming register, where it waits to be
assigned like any mail, and writes the acknowledgement; all in one transaction per envelope, the
envelope locked and checked first, so that a retry after a crash registers it once. The
acknowledgement is sealed after that commit (:mod:`exchange.acknowledgements`). A failure
is recorded and retried later with a growing delay; after the retry window the envelope is
marked not delivered with its reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from threading import Thread
from uuid import UUID

from django.conf import settings
from django.db import connections as db_connections
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from core.errors import NotFound, Refused
from documents.intake import CheckedFile, stored_file
from exchange.acknowledgements import acknowledgement_seal_safely
from exchange.lifecycle import RETRY_WINDOW, envelope_fail, envelope_move, next_attempt
from exchange.models import Envelope, RemoteAdministration
from exchange.protocol import load_root, seal_verdict
from exchange.remote import envelope_post
from registry.idempotency import Idempotency
from registry.models import Channel, Direction, SenderKind
from registry.services import Party, correspondence_register
from tenancy.access import member_may
from tenancy.models import Administration, User
from tenancy.permissions import Action
from trust.pinned import verify_own_seal
from trust.services import installation_pki
from workflow.services import request_register

logger = logging.getLogger(__name__)


class ExchangeRefused(Refused):
    pass


@dataclass(frozen=True)
class Recipient:
    """Whom a letter goes to: an administration here, or one of a peer's."""

    local: Administration | None
    remote: RemoteAdministration | None

    @property
    def code(self) -> str:
        return self.local.code if self.local is not None else self.remote.address  # type: ignore[union-attr]

    @property
    def name_fr(self) -> str:
        return self.local.name_fr if self.local is not None else self.remote.name_fr  # type: ignore[union-attr]


def recipient_find(address: str, *, sender: Administration) -> Recipient | None:
    """``CODE`` for an administration of this installation, ``CODE@peer`` for another's."""
    code, _, peer_name = address.strip().partition("@")
    code = code.strip().upper()
    if peer_name:
        remote = (
            RemoteAdministration.objects.filter(
                code=code, peer__name=peer_name.strip().lower(), is_active=True, peer__is_active=True
            )
            .select_related("peer")
            .first()
        )
        return Recipient(local=None, remote=remote) if remote is not None else None
    local = Administration.objects.filter(code=code, is_active=True).exclude(pk=sender.pk).first()
    return Recipient(local=local, remote=None) if local is not None else None


def mail_send(
    *,
    actor: User,
    administration: Administration,
    recipient_code: str,
    subject: str,
    body: str = "",
    files: Sequence[CheckedFile] = (),
    idempotency: Idempotency | None = None,
) -> Envelope:
    """Register a letter to another administration in the outgoing register and put it in the
    outbox, in one transaction; the worker delivers it. ``idempotency`` (an API request's key)
    is bound to the letter's correspondence."""
    if not member_may(actor, administration, Action.SEND):
        raise NotFound
    recipient = recipient_find(recipient_code, sender=administration)
    if recipient is None:
        raise ExchangeRefused("unknown_recipient", _("Choose an administration of the directory."), field="recipient")
    if not subject.strip():
        raise ExchangeRefused("no_subject", _("Give the subject of the letter."), field="subject")
    with transaction.atomic():
        registration = correspondence_register(
            actor=actor,
            administration=administration,
            direction=Direction.OUTGOING,
            channel=Channel.EXCHANGE,
            addressee=Party(kind=SenderKind.ADMINISTRATION, name=recipient.name_fr, identifier=recipient.code),
            subject=subject,
            body=body,
            files=files,
            idempotency=idempotency,
        )
        moment = now()
        remote = recipient.remote
        envelope = Envelope.objects.create(
            sender=administration,
            recipient=recipient.local,
            peer=remote.peer if remote is not None else None,
            remote_code=remote.code if remote is not None else "",
            remote_name=remote.name_fr if remote is not None else "",
            remote_name_ar=remote.name_ar if remote is not None else "",
            outgoing=registration.correspondence,
            sent_by=actor,
            created_at=moment,
            next_attempt_at=moment,
        )
        audit_record(
            actor=actor,
            action=AuditAction.EXCHANGE_SENT,
            obj=envelope,
            administration=administration,
            data={"to": recipient.code, "number": registration.correspondence.number},
        )
    return envelope


def envelopes_deliver(*, limit: int = 200) -> int:
    """Deliver the envelopes that are due, here or to peers; return how many were delivered."""
    due = list(
        Envelope.objects.filter(status=Envelope.Status.PENDING, next_attempt_at__lte=now())
        .order_by("next_attempt_at")
        .values_list("pk", "peer_id")[:limit]
    )
    local = [envelope_id for envelope_id, peer_id in due if peer_id is None]
    remote = [envelope_id for envelope_id, peer_id in due if peer_id is not None]
    delivered = sum(_attempt(envelope_deliver, envelope_id) for envelope_id in local)
    connections = settings.EXCHANGE_CONNECTIONS
    if len(remote) < 2 or connections < 2:
        return delivered + sum(_attempt(envelope_post, envelope_id) for envelope_id in remote)
    return delivered + _post_concurrently(remote, connections)


def _attempt(deliver: Callable[[UUID | str], bool], envelope_id: UUID | str) -> bool:
    try:
        return deliver(envelope_id)
    except Exception as exc:  # one envelope's failure never stops the others; retried later
        logger.warning("envelope %s not delivered: %s", envelope_id, exc)
        _postpone(envelope_id, str(exc) or exc.__class__.__name__)
        return False


def _post_concurrently(envelope_ids: list[UUID], connections: int) -> int:
    """Post to peers over a few connections at once (the peer works while we wait); each thread
    keeps its database connection for all its envelopes and closes it at the end."""
    waiting: SimpleQueue[UUID] = SimpleQueue()
    for envelope_id in envelope_ids:
        waiting.put(envelope_id)
    results: list[bool] = []

    def work() -> None:
        try:
            while True:
                try:
                    envelope_id = waiting.get_nowait()
                except Empty:
                    return
                results.append(_attempt(envelope_post, envelope_id))
        finally:
            db_connections.close_all()  # this thread's own

    threads = [Thread(target=work, name=f"exchange-{n}") for n in range(min(connections, len(envelope_ids)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results)


def envelope_deliver(envelope_id: UUID | str) -> bool:
    """Register one envelope at its recipient (once) with its acknowledgement, then seal the
    acknowledgement after the commit (left pending for the sweep if sealing fails now).

    Called outside any transaction (the worker): the register's counter is held only for the
    registration, never while sealing."""
    with transaction.atomic(durable=True):
        envelope = (
            Envelope.objects.select_for_update(of=("self",))
            .select_related("sender", "recipient", "outgoing")
            .filter(pk=envelope_id)
            .first()
        )
        if (
            envelope is None
            or envelope.status != Envelope.Status.PENDING
            or envelope.incoming_id is not None
            or envelope.recipient is None
            or envelope.sender is None
            or envelope.outgoing is None
        ):
            return False  # delivered meanwhile, gone, or not for this installation: never twice
        outgoing = envelope.outgoing
        sender = envelope.sender
        files = [
            stored_file(a.blob, a.filename) for a in outgoing.attachments.select_related("blob").order_by("position")
        ]
        registration = request_register(
            actor=None,
            administration=envelope.recipient,
            channel=Channel.EXCHANGE,
            sender=Party(kind=SenderKind.ADMINISTRATION, name=sender.name_fr, identifier=sender.code),
            subject=outgoing.subject,
            body=outgoing.body,
            files=files,
        )
        incoming = registration.correspondence
        acknowledgement = json.dumps(
            {
                "envelope": str(envelope.pk),
                "sender": sender.code,
                "sender_number": outgoing.number,
                "recipient": envelope.recipient.code,
                "recipient_number": incoming.number,
                "registered_at": incoming.registered_at.isoformat(),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        envelope_move(
            envelope,
            Envelope.Status.DELIVERED,
            incoming=incoming,
            delivered_at=now(),
            attempts=envelope.attempts + 1,
            last_error="",
            acknowledgement=acknowledgement,
            acknowledgement_pending=True,
        )
        audit_record(
            actor=None,
            action=AuditAction.EXCHANGE_DELIVERED,
            obj=envelope,
            administration=envelope.recipient,
            data={"from": sender.code, "number": incoming.number, "sender_number": outgoing.number},
        )
    acknowledgement_seal_safely(envelope.pk)
    return True


def _postpone(envelope_id: UUID | str, reason: str) -> None:
    with transaction.atomic():
        envelope = (
            Envelope.objects.select_for_update(of=("self",))
            .select_related("sender", "peer", "outgoing", "sent_by")
            .filter(pk=envelope_id)
            .first()
        )
        if envelope is None or envelope.status != Envelope.Status.PENDING:
            return
        moment = now()
        if moment - envelope.created_at > RETRY_WINDOW:
            if envelope_fail(envelope, reason, attempts=envelope.attempts + 1):
                audit_record(
                    actor=None,
                    action=AuditAction.EXCHANGE_FAILED,
                    obj=envelope,
                    administration=envelope.sender,
                    data={"recipient": envelope.recipient_code, "reason": reason[:300]},
                )
            return
        envelope.attempts += 1
        envelope.last_error = reason[:300]
        envelope.next_attempt_at = next_attempt(envelope.attempts, moment)
        envelope.save(update_fields=["attempts", "last_error", "next_attempt_at"])


def acknowledgement_valid(envelope: Envelope) -> bool:
    """The acknowledgement is the recipient's, sealed, and names this envelope and numbers.
    From a peer, its seal must come from the peer's pinned root."""
    if not envelope.acknowledgement:
        return False
    received_here = envelope.recipient is not None
    text, seal = envelope.acknowledgement.encode(), bytes(envelope.acknowledgement_seal)
    if envelope.peer is not None and not received_here:  # sealed by the peer's administration
        verdict = seal_verdict(text, seal, load_root(envelope.peer.ca_certificate))
    else:
        verdict = verify_own_seal(text, seal, pki=installation_pki())
    facts = json.loads(envelope.acknowledgement)
    recipient_code = envelope.recipient.code if received_here else envelope.remote_code  # type: ignore[union-attr]
    sender_number = envelope.outgoing.number if envelope.outgoing is not None else envelope.remote_number
    return (
        verdict.valid
        and verdict.signer_code == recipient_code
        and facts.get("envelope") == str(envelope.pk)
        and facts.get("sender_number") == sender_number
    )
