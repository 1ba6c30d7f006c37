"""The life of an idempotency key, at the service level: claimed, bound in the transaction that
registers, answered, released after a failure, taken over after a stall, forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_django import Settings

from core.clock import now
from core.testing import clock_at
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.idempotency import (
    LEASE,
    Claim,
    Idempotency,
    IdempotencyRefused,
    Outcome,
    idempotency_answer,
    idempotency_claim,
    idempotency_release,
)
from registry.models import Channel, Correspondence, IdempotencyKey
from registry.services import Party, Registration, correspondence_register
from tenancy.models import Administration, User


def register(commune: Administration, citizen: User, idempotency: Idempotency | None) -> Registration:
    return correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.API,
        sender=Party.of_account(citizen),
        subject="طلب",
        files=check_files([bytes_upload(pdf_bytes(), "a.pdf")]),
        idempotency=idempotency,
    )


def claim(citizen: User, request_hash: str = "h1") -> Claim:
    return idempotency_claim(user=citizen, key="k", request_hash=request_hash)


def test_a_claim_is_run_once_then_replayed_with_the_answer_kept(commune: Administration, citizen: User) -> None:
    first = claim(citizen)
    assert first.outcome == Outcome.RUN
    assert claim(citizen).outcome == Outcome.IN_PROGRESS
    registration = register(commune, citizen, first.idempotency)
    assert IdempotencyKey.objects.get().object_id == registration.correspondence.pk
    assert claim(citizen).outcome == Outcome.IN_PROGRESS  # registered, not answered yet
    idempotency_answer(first.key_id, status=201, body='{"id": 1}')
    idempotency_answer(first.key_id, status=201, body='{"id": 2}')  # the first answer kept stays
    again = claim(citizen)
    assert (again.outcome, again.status, again.body) == (Outcome.REPLAY, 201, '{"id": 1}')
    with pytest.raises(IdempotencyRefused) as refused:
        claim(citizen, request_hash="h2")
    assert (refused.value.code, refused.value.status) == ("idempotency_key_reused", 422)


def test_a_failure_before_registering_forgets_the_key(commune: Administration, citizen: User) -> None:
    first = claim(citizen)
    assert first.idempotency is not None
    idempotency_release(first.idempotency)
    assert not IdempotencyKey.objects.exists()
    assert claim(citizen, request_hash="h2").outcome == Outcome.RUN  # the key is free for any request


def test_a_failure_after_registering_is_answered_from_the_registration_at_once(
    commune: Administration, citizen: User
) -> None:
    first = claim(citizen)
    registration = register(commune, citizen, first.idempotency)
    assert first.idempotency is not None
    idempotency_release(first.idempotency)  # e.g. the answer could not be rendered
    again = claim(citizen)
    assert (again.outcome, again.object_id) == (Outcome.REBUILD, registration.correspondence.pk)


def test_a_lost_claim_registers_nothing(commune: Administration, citizen: User) -> None:
    stalled = claim(citizen)
    with clock_at(now() + LEASE + timedelta(seconds=1)):
        taken = claim(citizen)
    assert taken.outcome == Outcome.RUN and taken.key_id == stalled.key_id
    with pytest.raises(IdempotencyRefused) as refused:
        register(commune, citizen, stalled.idempotency)
    assert (refused.value.code, refused.value.status) == ("idempotency_key_in_progress", 409)
    assert not Correspondence.objects.exists()
    register(commune, citizen, taken.idempotency)
    assert Correspondence.objects.get().number.endswith("-000001")  # the lost claim's number was given back


def test_an_expired_key_is_forgotten_when_used_again(
    commune: Administration, citizen: User, settings: Settings
) -> None:
    settings.IDEMPOTENCY_KEY_HOURS = 2
    first = claim(citizen)
    idempotency_answer(first.key_id, status=201, body="{}")
    with clock_at(now() + timedelta(hours=2, seconds=1)):
        later = claim(citizen, request_hash="h2")
    assert later.outcome == Outcome.RUN and later.key_id != first.key_id
    assert IdempotencyKey.objects.count() == 1
