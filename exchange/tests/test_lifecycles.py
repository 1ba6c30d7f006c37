"""The lifecycles of envelopes and once-only requests: each allowed move applies, any other is
refused and changes nothing, and a move made from a stale read applies once."""

from __future__ import annotations

from itertools import product

import pytest

from core.clock import now
from core.lifecycle import TransitionRefused
from exchange.lifecycle import DOCUMENT_REQUEST, ENVELOPE, document_request_move, envelope_move
from exchange.models import DocumentRequest, Envelope

EnvelopeStatus = Envelope.Status
RequestStatus = DocumentRequest.Status

ENVELOPE_MOVES = {
    (EnvelopeStatus.PENDING, EnvelopeStatus.DELIVERED),
    (EnvelopeStatus.PENDING, EnvelopeStatus.FAILED),
}
REQUEST_MOVES = {
    (RequestStatus.PENDING, RequestStatus.DELIVERED),
    (RequestStatus.PENDING, RequestStatus.REFUSED),
    (RequestStatus.PENDING, RequestStatus.FAILED),
}


def an_envelope(status: str) -> Envelope:
    moment = now()
    return Envelope.objects.create(status=status, created_at=moment, next_attempt_at=moment)


def a_request(status: str) -> DocumentRequest:
    return DocumentRequest.objects.create(
        status=status,
        document_name_ar="شهادة",
        document_name_fr="Certificat",
        national_id="AB123456",
        person_name="Fatima",
        requested_at=now(),
    )


def test_the_tables_name_every_status_and_only_these_moves() -> None:
    assert set(ENVELOPE.moves) == set(EnvelopeStatus.values)
    assert {(a, b) for a, targets in ENVELOPE.moves.items() for b in targets} == ENVELOPE_MOVES
    assert set(DOCUMENT_REQUEST.moves) == set(RequestStatus.values)
    assert {(a, b) for a, targets in DOCUMENT_REQUEST.moves.items() for b in targets} == REQUEST_MOVES


@pytest.mark.parametrize(("current", "to"), sorted(product(EnvelopeStatus.values, repeat=2)))
def test_an_envelope_moves_only_as_its_table_allows(db: None, current: str, to: str) -> None:
    envelope = an_envelope(current)
    if (current, to) in ENVELOPE_MOVES:
        assert envelope_move(envelope, EnvelopeStatus(to), last_error="why")
        envelope.refresh_from_db()
        assert (envelope.status, envelope.last_error) == (to, "why")
    else:
        with pytest.raises(TransitionRefused, match=f"envelope: {current} → {to} is not allowed"):
            envelope_move(envelope, EnvelopeStatus(to), last_error="why")
        envelope.refresh_from_db()
        assert (envelope.status, envelope.last_error) == (current, "")


@pytest.mark.parametrize(("current", "to"), sorted(product(RequestStatus.values, repeat=2)))
def test_a_document_request_moves_only_as_its_table_allows(db: None, current: str, to: str) -> None:
    request = a_request(current)
    if (current, to) in REQUEST_MOVES:
        assert document_request_move(request, RequestStatus(to), reason="why")
        request.refresh_from_db()
        assert (request.status, request.reason) == (to, "why")
    else:
        with pytest.raises(TransitionRefused, match=f"document request: {current} → {to} is not allowed"):
            document_request_move(request, RequestStatus(to), reason="why")
        request.refresh_from_db()
        assert (request.status, request.reason) == (current, "")


def test_an_acknowledged_envelope_cannot_go_back_to_pending_nor_fail(db: None) -> None:
    envelope = an_envelope(EnvelopeStatus.PENDING)
    assert envelope_move(envelope, EnvelopeStatus.DELIVERED, acknowledgement="{}")
    for to in (EnvelopeStatus.PENDING, EnvelopeStatus.FAILED):
        with pytest.raises(TransitionRefused):
            envelope_move(envelope, to)
    envelope.refresh_from_db()
    assert envelope.status == EnvelopeStatus.DELIVERED


def test_a_delivered_request_cannot_be_refused(db: None) -> None:
    request = a_request(RequestStatus.PENDING)
    assert document_request_move(request, RequestStatus.DELIVERED)
    with pytest.raises(TransitionRefused, match="delivered → refused"):
        document_request_move(request, RequestStatus.REFUSED, reason="too late")
    request.refresh_from_db()
    assert (request.status, request.reason) == (RequestStatus.DELIVERED, "")


def test_a_move_from_a_stale_read_applies_once(db: None) -> None:
    """Two processes read the same pending envelope: the first move wins, the second changes
    nothing and says so (the peer's acknowledgement and a refusal racing, say)."""
    first = an_envelope(EnvelopeStatus.PENDING)
    second = Envelope.objects.get(pk=first.pk)
    assert envelope_move(first, EnvelopeStatus.DELIVERED, last_error="")
    assert not envelope_move(second, EnvelopeStatus.FAILED, last_error="refused")
    assert second.status == EnvelopeStatus.PENDING  # untouched in memory too
    first.refresh_from_db()
    assert (first.status, first.last_error) == (EnvelopeStatus.DELIVERED, "")
