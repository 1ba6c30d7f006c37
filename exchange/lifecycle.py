"""The lifecycles of the exchange: an envelope, a once-only document request. The functions here
are the only code that writes their status (:mod:`core.lifecycle`).

An envelope is pending until it is delivered (registered by the recipient, which acknowledges
it) or fails (refused, or not deliverable within the retry window); both are final. A document
request is pending until the holder delivers the document or refuses, or, asked of another
installation, until it could not be sent there at all; all three are final (a new request may
then be made).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.bidi import isolated
from core.clock import now
from core.lifecycle import Lifecycle, status_move
from exchange.models import DocumentRequest, Envelope
from workflow.models import Notification

EnvelopeStatus = Envelope.Status
RequestStatus = DocumentRequest.Status
# What cannot reach its recipient now is tried again after these delays (seconds; then hourly),
# and given up after the retry window.
RETRY_DELAYS = (10, 30, 60, 300, 900, 3600)
RETRY_WINDOW = timedelta(days=2)

ENVELOPE = Lifecycle(
    "envelope",
    {
        EnvelopeStatus.PENDING: frozenset({EnvelopeStatus.DELIVERED, EnvelopeStatus.FAILED}),
        EnvelopeStatus.DELIVERED: frozenset(),
        EnvelopeStatus.FAILED: frozenset(),
    },
)

DOCUMENT_REQUEST = Lifecycle(
    "document request",
    {
        RequestStatus.PENDING: frozenset({RequestStatus.DELIVERED, RequestStatus.REFUSED, RequestStatus.FAILED}),
        RequestStatus.DELIVERED: frozenset(),
        RequestStatus.REFUSED: frozenset(),
        RequestStatus.FAILED: frozenset(),
    },
)


def next_attempt(attempts: int, moment: datetime) -> datetime:
    """When to try again after the ``attempts``-th failed attempt."""
    return moment + timedelta(seconds=RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)])


def envelope_move(envelope: Envelope, to: EnvelopeStatus, /, **fields: object) -> bool:
    """Move ``envelope`` to ``to`` with ``fields``, if it still has the status read on it."""
    return status_move(ENVELOPE, envelope, envelope.status, to, **fields)


def envelope_fail(envelope: Envelope, reason: str, *, attempts: int) -> bool:
    """Mark a pending envelope not delivered, with its reason, and tell whoever sent it (in the
    caller's transaction). False if it was no longer pending."""
    if not envelope_move(envelope, EnvelopeStatus.FAILED, last_error=reason[:300], attempts=attempts):
        return False
    sender_flag(envelope)
    return True


def sender_flag(envelope: Envelope) -> None:
    """Tell whoever sent a letter that it could not be delivered, and why."""
    outgoing, user = envelope.outgoing, envelope.sent_by
    if outgoing is None or user is None or envelope.sender is None:
        return
    with override(user.language or "ar"):
        text = _("Your letter %(number)s to %(recipient)s could not be delivered: %(reason)s") % {
            "number": outgoing.number,
            "recipient": envelope.recipient_code,
            "reason": isolated(envelope.last_error),
        }
    Notification.objects.create(
        user=user,
        created_at=now(),
        text=text[:300],
        url=reverse("desk:exchanges", args=[envelope.sender.code]),
    )


def document_request_move(request: DocumentRequest, to: RequestStatus, /, **fields: object) -> bool:
    """Move ``request`` to ``to`` with ``fields``, if it still has the status read on it."""
    return status_move(DOCUMENT_REQUEST, request, request.status, to, **fields)
