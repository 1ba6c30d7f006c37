"""Sealing the acknowledgement of an envelope registered here, after the commit that registered it.

Registering an envelope (:func:`exchange.services.envelope_deliver`, from this installation;
:func:`exchange.inbox.envelope_receive`, from a peer) takes the recipient's register number in a
short transaction and writes the acknowledgement's text there, pending. The seal (a signature,
and an HTTP call to the timestamping unit when one is configured) comes after the commit, so
that no register waits for it; the worker's sweep seals what a crash or an outage left pending.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from core.clock import now
from exchange.models import Envelope
from trust.sealing import seal_data
from trust.services import installation_pki

logger = logging.getLogger(__name__)
# The sweep leaves a fresh acknowledgement to the process that registered it.
SWEEP_AFTER = timedelta(seconds=30)


def acknowledgement_seal(envelope_id: UUID | str) -> bool:
    """Seal the pending acknowledgement of an envelope registered here; False if there is none
    (sealed meanwhile, by this or another process: the first seal recorded is kept)."""
    envelope = (
        Envelope.objects.select_related("recipient")
        .filter(pk=envelope_id, acknowledgement_pending=True, recipient__isnull=False)
        .first()
    )
    if envelope is None or envelope.recipient is None:
        return False
    seal = seal_data(
        envelope.acknowledgement.encode(), pki=installation_pki(), administration_code=envelope.recipient.code
    )
    return bool(
        Envelope.objects.filter(pk=envelope.pk, acknowledgement_pending=True).update(
            acknowledgement_seal=seal, acknowledgement_pending=False
        )
    )


def acknowledgement_seal_safely(envelope_id: UUID | str) -> bool:
    """Seal now if possible; on failure leave it pending for the sweep."""
    try:
        return acknowledgement_seal(envelope_id)
    except Exception:
        logger.exception("acknowledgement of envelope %s not sealed yet", envelope_id)
        return False


def acknowledgements_seal_pending(*, limit: int = 200) -> int:
    """Seal the acknowledgements left pending (the worker, periodically); return how many."""
    pending = Envelope.objects.filter(acknowledgement_pending=True, delivered_at__lt=now() - SWEEP_AFTER)
    return sum(acknowledgement_seal_safely(pk) for pk in pending.values_list("pk", flat=True)[:limit])
