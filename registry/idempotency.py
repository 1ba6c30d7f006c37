"""Idempotency keys: a request retried with the same key is done once and answered alike.

An API client sends an ``Idempotency-Key`` with a request that makes something (a deposit, a
letter to another administration, a folder); if the answer is lost (a timeout, a dropped
connection), it sends the same request again with the same key. The rules follow the IETF
HTTPAPI draft "The Idempotency-Key HTTP Header Field" and what Stripe does:

- the first request **claims** the key (a row, committed at once) and runs;
- the transaction that makes the request's object **binds** the key to it, under the claim's
  lease: two attempts never both make one;
- when it has answered, the answer (status and body, as sent) is **kept** with the key;
- a retry of an answered request gets that answer again, as it was given, even if the object
  changed since; a retry while the first is still running is told so (409, try again); the
  same key with another request is refused (422); a request that failed before making anything
  forgets its key, so that a retry runs anew.

Keys belong to one account: another account's key of the same value is another key. They are
forgotten after ``settings.IDEMPOTENCY_KEY_HOURS``. An attempt that stalled (its process was
killed) holds a key for :data:`LEASE` at most: after that, a retry takes the key over if the
attempt made nothing, or is answered from what it made.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.clock import now
from core.errors import Refused
from registry.models import IdempotencyKey
from tenancy.models import User

# How long an attempt holds its key without answering before a retry may take over. Requests
# take seconds (the upload is read before the key is claimed); this is well above it.
LEASE = timedelta(minutes=2)


class IdempotencyRefused(Refused):
    """The key cannot be used for this request."""


@dataclass(frozen=True)
class Idempotency:
    """The claim of one attempt on a key: what a service binds its object to."""

    key_id: int
    lease: str


class Outcome(StrEnum):
    RUN = "run"  # the key is this attempt's: do the work
    REPLAY = "replay"  # answered before: give the kept answer
    REBUILD = "rebuild"  # the work was done but its answer was not kept: answer from its object
    IN_PROGRESS = "in_progress"  # another attempt holds the key and has not answered yet


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    key_id: int = 0
    idempotency: Idempotency | None = None  # RUN
    status: int = 0  # REPLAY
    body: str = ""  # REPLAY
    object_id: int | None = None  # REBUILD


def _new_lease() -> str:
    return secrets.token_hex(16)


def idempotency_claim(*, user: User, key: str, request_hash: str) -> Claim:
    """Claim ``key`` of ``user`` for a request whose fingerprint is ``request_hash``, or say why
    not. Raises :class:`IdempotencyRefused` (422) when the key came with another request.

    The claim is committed at once (its own transaction, a short one): a second request with the
    key, in another process, sees it. A key older than the retention is forgotten first.
    """
    for _attempt in range(3):  # a key released or taken over meanwhile: look again
        moment = now()
        lease = _new_lease()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user, key=key, request_hash=request_hash, lease=lease, created_at=moment, claimed_at=moment
                )
            return Claim(Outcome.RUN, key_id=row.pk, idempotency=Idempotency(row.pk, lease))
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            continue
        if existing.created_at < moment - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS):
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyRefused(
                "idempotency_key_reused",
                _("This Idempotency-Key was already used for a different request."),
                status=422,
            )
        if existing.response_status is not None:
            return Claim(
                Outcome.REPLAY, key_id=existing.pk, status=existing.response_status, body=existing.response_body
            )
        if existing.object_id is not None and (
            existing.completed_at is not None or existing.claimed_at < moment - LEASE
        ):
            # The work committed, then its attempt failed or stopped before answering.
            return Claim(Outcome.REBUILD, key_id=existing.pk, object_id=existing.object_id)
        if existing.claimed_at >= moment - LEASE:
            return Claim(Outcome.IN_PROGRESS, key_id=existing.pk)
        # The attempt holding the key stalled and made nothing: this one takes it over. If the
        # stalled one wakes up, its bind fails (the lease changed) and it makes nothing either.
        taken = IdempotencyKey.objects.filter(pk=existing.pk, lease=existing.lease, object_id=None).update(
            lease=lease, claimed_at=moment
        )
        if taken:
            return Claim(Outcome.RUN, key_id=existing.pk, idempotency=Idempotency(existing.pk, lease))
    return Claim(Outcome.IN_PROGRESS)


def idempotency_bind(idempotency: Idempotency | None, object_id: int) -> None:
    """Bind the claimed key to the object its request made. Call it inside the transaction that
    makes the object: if the claim was lost (taken over by a retry after a stall), it raises
    :class:`IdempotencyRefused` (409) and the transaction makes nothing."""
    if idempotency is None:
        return
    bound = IdempotencyKey.objects.filter(pk=idempotency.key_id, lease=idempotency.lease, object_id=None).update(
        object_id=object_id
    )
    if not bound:
        raise IdempotencyRefused("idempotency_key_in_progress", in_progress_message(), status=409)


def idempotency_answer(key_id: int, *, status: int, body: str) -> None:
    """Keep the answer given to the request of key ``key_id``; the first kept stays."""
    IdempotencyKey.objects.filter(pk=key_id, response_status=None).update(
        response_status=status, response_body=body, completed_at=now()
    )


def idempotency_release(idempotency: Idempotency) -> None:
    """The attempt failed. If it made nothing, forget the key (a retry runs anew); if its work
    committed before the failure, say the attempt is over (a retry is answered from the object)."""
    key = IdempotencyKey.objects.filter(pk=idempotency.key_id, lease=idempotency.lease)
    if not key.filter(object_id=None).delete()[0]:
        key.filter(completed_at=None).update(completed_at=now())


def idempotency_keys_forget() -> int:
    """Forget the keys older than the retention (the worker, hourly). Their answers hold
    personal data (a subject, file names): they are kept no longer than a retry needs them."""
    cutoff = now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]


def in_progress_message() -> str:
    return _("A request with this Idempotency-Key is still being processed. Try again in a moment.")
