"""An outgoing letter names its addressee, never a sender, and gets no deposit receipt.

Before, an outgoing letter's addressee was kept in the sender fields (and recorded so in the
register log): the citizen a reply answers was listed as the depositor of the reply, and the
reply got a sealed "Accusé de réception". These tests hold the new rule, and that registers
logged under the old one still verify."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from core.clock import now
from core.testing import clock_at
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.facts import registration_facts
from registry.integrity import register_verify
from registry.log import log_append
from registry.models import Channel, Correspondence, Direction, Receipt, RegisterCounter, RegisterLogEntry, SenderKind
from registry.receipts import _issue, receipt_issue, receipt_issue_registered, receipts_issue_pending
from registry.services import LOCAL_ZONE, Party, Registration, correspondence_register, format_number
from tenancy.models import Administration, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def outgoing_letter(commune: Administration, clerk: User, citizen: User | None = None) -> Registration:
    return correspondence_register(
        actor=clerk,
        administration=commune,
        direction=Direction.OUTGOING,
        channel=Channel.COUNTER,
        addressee=Party(
            kind=SenderKind.PERSON,
            name="فاطمة الزهراء بنعلي",
            identifier="ab123456",
            email="Citizen@Example.ma",
            address="12 زنقة الورد، الرباط",
            account=citizen,
        ),
        subject="Convocation",
        files=check_files([bytes_upload(pdf_bytes(text="convocation"), "convocation.pdf")]),
    )


def incoming_letter(commune: Administration, citizen: User) -> Registration:
    return correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject="طلب",
        files=check_files([bytes_upload(pdf_bytes(text="demande"), "demande.pdf")]),
    )


def test_an_outgoing_letter_names_its_addressee_and_no_sender(
    commune: Administration, clerk: User, citizen: User
) -> None:
    c = outgoing_letter(commune, clerk, citizen).correspondence
    c.refresh_from_db()
    assert (c.addressee_account, c.addressee_kind, c.addressee_name) == (citizen, "person", "فاطمة الزهراء بنعلي")
    assert (c.addressee_identifier, c.addressee_email) == ("AB123456", "citizen@example.ma")
    assert c.addressee_address == "12 زنقة الورد، الرباط"
    assert (c.sender_account, c.sender_kind, c.sender_name, c.sender_identifier, c.sender_email) == (
        None,
        "",
        "",
        "",
        "",
    )
    assert c.correspondent_name == "فاطمة الزهراء بنعلي"
    assert list(citizen.deposits.all()) == [] and list(citizen.letters_received.all()) == [c]


def test_an_incoming_letter_names_its_sender_and_no_addressee(commune: Administration, citizen: User) -> None:
    c = incoming_letter(commune, citizen).correspondence
    c.refresh_from_db()
    assert (c.sender_account, c.sender_name) == (citizen, citizen.full_name)
    assert (c.addressee_account, c.addressee_kind, c.addressee_name, c.addressee_email) == (None, "", "", "")
    assert c.correspondent_name == citizen.full_name


def test_an_outgoing_letter_gets_no_deposit_receipt(commune: Administration, clerk: User, citizen: User) -> None:
    registration = outgoing_letter(commune, clerk, citizen)
    assert registration.receipt is None
    assert receipt_issue_registered(registration) is None
    assert not Receipt.objects.exists()
    incoming = incoming_letter(commune, citizen)
    assert Receipt.objects.get().correspondence == incoming.correspondence


def test_the_log_records_an_outgoing_letters_addressee_as_such(
    commune: Administration, clerk: User, citizen: User
) -> None:
    registration = outgoing_letter(commune, clerk, citizen)
    assert registration.log_entry is not None
    facts = json.loads(registration.log_entry.payload)["facts"]
    assert facts["addressee"]["account_id"] == citizen.pk and facts["addressee"]["name"] == "فاطمة الزهراء بنعلي"
    assert "sender" not in facts


def test_naming_the_wrong_party_is_a_programming_error_and_registers_nothing(
    commune: Administration, clerk: User, citizen: User
) -> None:
    with pytest.raises(TypeError):
        correspondence_register(
            actor=clerk,
            administration=commune,
            direction=Direction.OUTGOING,
            channel=Channel.COUNTER,
            sender=Party(kind="person", name="X"),
            subject="s",
            body="b",
        )
    with pytest.raises(TypeError):
        correspondence_register(
            actor=clerk, administration=commune, channel=Channel.COUNTER, addressee=Party(kind="person", name="X"),
            subject="s", body="b",
        )  # fmt: skip
    assert not Correspondence.objects.exists()


def test_the_database_refuses_an_outgoing_letter_with_a_sender(commune: Administration, clerk: User) -> None:
    common = {
        "administration": commune,
        "direction": Direction.OUTGOING,
        "year": 2026,
        "channel": Channel.COUNTER,
        "registered_at": now(),
        "subject": "s",
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Correspondence.objects.create(
            sequence=1, number="D-2026-000001", sender_kind="person", sender_name="Le citoyen",
            addressee_kind="person", addressee_name="Le citoyen", **common,
        )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Correspondence.objects.create(sequence=2, number="D-2026-000002", sender_name="", **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        Correspondence.objects.create(
            sequence=3, number="D-2026-000003", **{**common, "direction": Direction.INCOMING},
            sender_kind="person", sender_name="X", addressee_kind="person", addressee_name="Y",
        )  # fmt: skip


# -- registers logged before outgoing letters had addressee fields ---------------------------------


def legacy_outgoing(commune: Administration, clerk: User, citizen: User) -> tuple[Correspondence, RegisterLogEntry]:
    """An outgoing letter as it was registered before: its addressee recorded under "sender" in
    its log entry, and a sealed deposit receipt issued for it."""
    year = now().astimezone(LOCAL_ZONE).year
    c = Correspondence.objects.create(
        administration=commune,
        direction=Direction.OUTGOING,
        year=year,
        sequence=1,
        number=format_number(Direction.OUTGOING, year, 1),
        channel=Channel.ONLINE,
        registered_at=now(),
        addressee_account=citizen,
        addressee_kind="person",
        addressee_name=citizen.full_name,
        addressee_email=citizen.email,
        subject="Réponse",
        body="Accord",
    )
    RegisterCounter.objects.create(administration=commune, direction=Direction.OUTGOING, year=year, last_number=1)
    facts = registration_facts(c, [])
    facts["sender"] = facts.pop("addressee")  # what the log recorded then
    with transaction.atomic():
        entry = log_append(
            administration=commune,
            action="registered",
            facts=facts,
            recorded_at=c.registered_at,
            correspondence_id=c.pk,
        )
    receipt = Receipt.objects.create(correspondence=c, token="legacy-token-of-a-reply")
    then = copy.copy(c)  # the row as it was, its addressee in its sender fields
    then.sender_kind, then.sender_name = c.addressee_kind, c.addressee_name
    _issue(receipt, then, [], entry)  # the receipt the reply wrongly got
    return c, entry


def test_a_register_logged_before_addressees_verifies_and_still_catches_edits(
    commune: Administration, clerk: User, citizen: User
) -> None:
    c, entry = legacy_outgoing(commune, clerk, citizen)
    assert json.loads(entry.payload)["facts"]["sender"]["account_id"] == citizen.pk
    report = register_verify(commune)
    assert report.ok, report.breaks
    Correspondence.objects.filter(pk=c.pk).update(addressee_name="Someone else")
    report = register_verify(commune, seals=False)
    assert [(b.position, b.problem) for b in report.breaks] == [
        (entry.position, "the registered correspondence no longer matches the log")
    ]


def test_a_value_written_into_an_outgoing_letters_sender_fields_is_caught(
    commune: Administration, clerk: User, citizen: User
) -> None:
    """The database refuses it; someone who drops the constraint is still caught by the log."""
    c = outgoing_letter(commune, clerk, citizen).correspondence
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # (inside the test's transaction: rolled back after it)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may wait on the table
            cursor.execute("ALTER TABLE registry_correspondence DROP CONSTRAINT correspondence_sender_or_addressee")
        else:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            cursor.execute("UPDATE registry_correspondence SET sender_name = %s WHERE id = %s", ["Sneaky", c.pk])
        finally:
            if connection.vendor != "postgresql":
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
    report = register_verify(commune, seals=False)
    assert [b.problem for b in report.breaks] == ["the registered correspondence no longer matches the log"]


def test_a_receipt_issued_for_a_reply_before_stays_a_valid_file_and_no_other_is_issued(
    commune: Administration, clerk: User, citizen: User
) -> None:
    c, _entry = legacy_outgoing(commune, clerk, citizen)
    issued = Receipt.objects.get(correspondence=c)
    assert issued.is_issued
    pending_letter = outgoing_letter(commune, clerk, citizen).correspondence
    Receipt.objects.create(correspondence=pending_letter, token="pending-receipt-of-a-letter")  # made by old code
    moment = now() + timedelta(minutes=5)
    with clock_at(moment):
        assert receipts_issue_pending() == 0
    with pytest.raises(ValueError, match="outgoing"):
        receipt_issue(receipt_id=Receipt.objects.get(correspondence=pending_letter).pk)
    assert not Receipt.objects.get(correspondence=pending_letter).is_issued
    report = register_verify(commune)
    assert report.ok, report.breaks
    assert not any("waiting" in note for note in report.notes), report.notes


def test_every_incoming_registration_still_needs_its_receipt(
    commune: Administration, clerk: User, citizen: User
) -> None:
    incoming = incoming_letter(commune, citizen).correspondence
    outgoing_letter(commune, clerk, citizen)
    assert register_verify(commune, seals=False).ok
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_receipt WHERE correspondence_id = %s", [incoming.pk])
    report = register_verify(commune, seals=False)
    assert [b.problem for b in report.breaks] == [f"{incoming.number} has no receipt (it was deleted)"]
