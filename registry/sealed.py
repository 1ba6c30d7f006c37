"""Sealed documents made after the change that issues them: letters and attestations.

The deposit receipt's pattern (:mod:`registry.receipts`), for what Wasl itself writes. The
change that issues a sealed document (an answer, a request for completion, an attestation of
silence…) records it *pending* in its transaction: its verification token and its draft (what
it will say). Rendering, sealing and timestamping (an HTTP request when ``WASL_TSA_URL`` is set)
come after commit, outside any lock: a register counter, a case or the SQLite write lock is
never held while they run. The app that drafted the document makes it (``workflow`` renders its
letters) and records the result here with :func:`sealed_document_store`. A document left pending
by an error or a crash is made again by the worker's periodic sweep (``operations.jobs``); its
failures are counted on the row and listed by ``verify_register`` and ``/healthz``.

A letter is its outgoing correspondence's first attachment, but it is made after the
registration: its fingerprint cannot be in the registration's log entry. The register log
records it in an entry of its own (action ``sealed``), chained like every entry, and the
registration's facts leave out the attachments such an entry records (:mod:`registry.facts`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from core.clock import now
from documents import storage
from documents.models import Blob
from registry.facts import sealed_facts
from registry.log import log_append
from registry.models import Attachment, Correspondence, SealedDocument

logger = logging.getLogger(__name__)

# Where a letter goes among its correspondence's attachments: first, before its annexes.
LETTER_POSITION = 1
RETRY_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 20


def sealed_document_pending(
    *, correspondence: Correspondence, kind: str, token: str, issued_at: datetime, draft: dict[str, Any]
) -> SealedDocument:
    """Record a sealed document to be made after commit. Call it inside the transaction of the
    change that issues it; ``draft`` (JSON) holds everything its maker needs."""
    return SealedDocument.objects.create(
        correspondence=correspondence, kind=kind, token=token, issued_at=issued_at, draft=draft
    )


def sealed_document_store(document: SealedDocument, pdf: bytes, *, attach_as: str = "", pages: int | None = 1) -> bool:
    """Record the made ``document`` (its sealed ``pdf``) unless another process recorded it first;
    return whether this call did. ``attach_as``: the document is its correspondence's letter,
    attached first under this file name, its fingerprint appended to the register log.

    Stores the file, then one short transaction (the log head's lock when ``attach_as``)."""
    sha256 = storage.store_bytes(pdf)
    with transaction.atomic():
        Blob.objects.bulk_create(
            [Blob(sha256=sha256, size=len(pdf), content_type="application/pdf", pages=pages)], ignore_conflicts=True
        )
        # Only a pending document is recorded: when two processes make it at once, the first to
        # commit wins and the other's copy is dropped.
        recorded = SealedDocument.objects.filter(pk=document.pk, blob__isnull=True).update(
            blob_id=sha256, attempts=F("attempts") + 1, last_error=""
        )
        if not recorded:
            transaction.on_commit(lambda: storage.discard(sha256))
            return False
        if attach_as:
            correspondence = document.correspondence
            attachment = Attachment.objects.create(
                correspondence=correspondence, position=LETTER_POSITION, blob_id=sha256, filename=attach_as
            )
            log_append(
                administration=correspondence.administration,
                action="sealed",
                facts=sealed_facts(correspondence, attachment),
                recorded_at=now(),
                correspondence_id=correspondence.pk,
            )
    document.blob_id, document.last_error = sha256, ""
    return True


def sealed_document_failed(document: SealedDocument, error: BaseException) -> None:
    """Count a failed attempt to make ``document``; it stays pending for the periodic sweep."""
    logger.error(
        "sealed document %s (%s of correspondence %s) could not be made: %s",
        document.pk,
        document.kind,
        document.correspondence_id,
        error,
        exc_info=error,
    )
    SealedDocument.objects.filter(pk=document.pk).update(
        attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:200]
    )


def sealed_documents_pending(*, limit: int = 200) -> list[int]:
    """Ids of documents left pending (an error or a crash after commit) long enough that no
    request is still making them, and not given up on."""
    return list(
        SealedDocument.objects.filter(
            blob__isnull=True, issued_at__lt=now() - RETRY_AFTER, attempts__lt=MAX_ATTEMPTS
        ).values_list("pk", flat=True)[:limit]
    )
