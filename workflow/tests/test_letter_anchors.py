"""Sealed letters witness the register too: each states the register log's head when it was
sealed, so a later rewrite of the log before it is caught; a letter swapped in the database is
caught as not the one registered."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import translation

from core.canonical import canonical_json
from documents import storage
from registry.anchors import anchor_in_pdf
from registry.log import chain_hash, genesis_hash
from registry.models import Correspondence, RegisterLogEntry, RegisterLogHead, SealedDocument
from tenancy.models import Administration, User
from tenancy.testing import make_service
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted
from workflow import services
from workflow.services import LetterText
from workflow.testing import deposit

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(
    commune: Administration, citizen: User, clerk: User, agent: User
) -> tuple[Correspondence, RegisterLogHead, SealedDocument]:
    urb = make_service(commune, "URB")
    first = deposit(commune, citizen, subject="طلب أول").correspondence
    second = deposit(commune, citizen, subject="طلب ثان").correspondence
    services.case_assign(actor=clerk, case_id=second.pk, service=urb)
    head = RegisterLogHead.objects.get(administration=commune)
    reply = services.case_reply(actor=agent, case_id=second.pk, text=LetterText(body_fr="Accord."))
    letter = SealedDocument.objects.get(correspondence=reply.outgoing, kind="letter")
    return first, head, letter


def broken() -> str:
    with translation.override("en"), pytest.raises(CommandError) as error:
        call_command("verify_register", "--quick", stdout=StringIO())
    return str(error.value)


def test_a_letter_states_the_log_head_it_was_sealed_on_inside_its_seal(
    answered: tuple[Correspondence, RegisterLogHead, SealedDocument],
) -> None:
    _first, head, letter = answered
    assert letter.blob_id is not None
    pdf = storage.read_bytes(letter.blob_id)
    anchor = anchor_in_pdf(pdf)
    assert anchor is not None
    # Sealed after its registration committed: the head it states is its own registration entry,
    # the one after the head as it was before the answer; its fingerprint follows in the next.
    registered = RegisterLogEntry.objects.get(correspondence=letter.correspondence, action="registered")
    sealed = RegisterLogEntry.objects.get(correspondence=letter.correspondence, action="sealed")
    assert registered.position == head.last_position + 1 and sealed.position == registered.position + 1
    assert (anchor.position, anchor.entry_hash, anchor.number) == (
        registered.position,
        registered.entry_hash,
        letter.correspondence.number,
    )
    assert json.loads(sealed.payload)["facts"]["attachment"]["sha256"] == letter.blob_id
    assert "Signature is Valid." in assert_pdfsig_trusted(pdf, ca_certificate_pem())


def test_a_rewrite_of_the_log_before_a_letter_is_caught_by_it(
    answered: tuple[Correspondence, RegisterLogHead, SealedDocument], client: Client
) -> None:
    first, _head, letter = answered
    entry = RegisterLogEntry.objects.get(correspondence=first, action="registered")
    data = json.loads(entry.payload)
    data["facts"]["subject"] = "مزور"
    payload = canonical_json(data)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_correspondence SET subject = %s WHERE id = %s", ["مزور", first.pk])
        prev_hash = genesis_hash(first.administration) if entry.position == 1 else entry.previous_hash
        for e in RegisterLogEntry.objects.filter(administration=first.administration, position__gte=entry.position):
            text = payload if e.pk == entry.pk else e.payload
            new_hash = chain_hash(prev_hash, text)
            cursor.execute(
                "UPDATE registry_registerlogentry SET payload = %s, previous_hash = %s, entry_hash = %s WHERE id = %s",
                [text, prev_hash, new_hash, e.pk],
            )
            prev_hash = new_hash
        cursor.execute("UPDATE registry_registerloghead SET last_hash = %s", [prev_hash])
    report = broken()
    assert f"what the letter {letter.correspondence.number} states" in report
    assert letter.blob_id is not None
    verdict = client.post(
        "/api/v1/verify", {"file": SimpleUploadedFile("l.pdf", storage.read_bytes(letter.blob_id))}
    ).json()
    assert verdict["code"] == "register_altered"


def test_a_letter_swapped_in_the_database_is_caught(
    answered: tuple[Correspondence, RegisterLogHead, SealedDocument],
) -> None:
    first, _head, letter = answered
    other = first.attachments.get().blob_id
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_sealeddocument SET blob_id = %s WHERE id = %s", [other, letter.pk])
    assert "is not the letter registered under its number" in broken()


def test_a_letter_file_swapped_under_its_registration_is_caught_by_its_sealed_entry(
    answered: tuple[Correspondence, RegisterLogHead, SealedDocument],
) -> None:
    first, _head, letter = answered
    other = first.attachments.get().blob_id
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_attachment SET blob_id = %s WHERE correspondence_id = %s AND position = 1",
            [other, letter.correspondence_id],
        )
        cursor.execute("UPDATE registry_sealeddocument SET blob_id = %s WHERE id = %s", [other, letter.pk])
    assert "the sealed letter no longer matches the log" in broken()
