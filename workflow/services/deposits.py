"""Deposits: what a depositor hands in is registered, and its sealed receipt issued.

One service per way in, each a thin composition: register (:func:`request_register`, or
:func:`case_complete` for the documents a request was missing), commit, then issue the
receipt (:func:`registry.receipts.receipt_issue_registered`). The web form, the counter, its
batch, tracking and the API all call these, so a deposit is the same operation wherever it
comes from.

The receipt is rendered and sealed after the registration commits, never under the register
lock; if that fails, the receipt stays pending and the worker issues it later. Callers must
not hold a transaction open around these services (they would seal inside it).

The services live here rather than in ``registry`` because a deposit opens a case, and
``registry`` does not import ``workflow`` (apps import only the apps listed before them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from documents.intake import CheckedFile
from registry.idempotency import Idempotency
from registry.models import Channel
from registry.receipts import receipt_issue_registered
from registry.services import Party, Registration
from tenancy.models import Administration, Service, User
from workflow.services.answers import case_complete
from workflow.services.requests import request_register


@dataclass(frozen=True)
class Deposit:
    """One letter handed in: who from, what about, its files, and where it goes."""

    sender: Party
    subject: str
    body: str = ""
    files: Sequence[CheckedFile] = ()
    procedure_code: str = ""
    recipient_service: Service | None = None
    confidential: bool = False


def deposit_register(
    *,
    actor: User | None,
    administration: Administration | None,
    channel: str,
    deposit: Deposit,
    idempotency: Idempotency | None = None,
) -> Registration:
    """Register one deposit, open its case (:func:`request_register`), then issue its receipt.

    Raises :class:`registry.services.RegistrationRefused` as registration does, and then nothing
    is registered. A receipt that cannot be issued now is left pending (``registration.receipt``
    is then not yet issued).
    """
    registration = _register(
        actor=actor, administration=administration, channel=channel, deposit=deposit, idempotency=idempotency
    )
    receipt_issue_registered(registration)
    return registration


def deposits_register(
    *, actor: User | None, administration: Administration, channel: str, deposits: Sequence[Deposit]
) -> list[Registration]:
    """Register several deposits, all or none (one transaction), then issue their receipts.

    The counter's batch: if one letter is refused, :class:`RegistrationRefused` is raised and
    none of them is registered.
    """
    with transaction.atomic():
        registrations = [
            _register(actor=actor, administration=administration, channel=channel, deposit=deposit)
            for deposit in deposits
        ]
    for registration in registrations:
        receipt_issue_registered(registration)
    return registrations


def completion_deposit(
    *,
    actor: User | None,
    case_id: int,
    files: Sequence[CheckedFile],
    note: str = "",
    channel: str = Channel.ONLINE,
) -> Registration:
    """The documents a request was missing are registered (:func:`case_complete`), then the
    receipt of that completion is issued. Refusals are :func:`case_complete`'s."""
    registration = case_complete(actor=actor, case_id=case_id, files=files, note=note, channel=channel)
    receipt_issue_registered(registration)
    return registration


def _register(
    *,
    actor: User | None,
    administration: Administration | None,
    channel: str,
    deposit: Deposit,
    idempotency: Idempotency | None = None,
) -> Registration:
    return request_register(
        actor=actor,
        administration=administration,
        channel=channel,
        sender=deposit.sender,
        subject=deposit.subject,
        body=deposit.body,
        files=deposit.files,
        procedure_code=deposit.procedure_code,
        recipient_service=deposit.recipient_service,
        confidential=deposit.confidential,
        idempotency=idempotency,
    )
