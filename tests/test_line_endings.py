"""Line breaks as people type them: a browser sends CR LF, a word processor U+2028, an API
client a lone CR. Every document Wasl seals shows each as one line break, never a stray "?" or
an invisible control (issue #14, item 1). Documents are read back with poppler's pdftotext."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from django.test import Client

from core.text import normalize_newlines, one_line, plain_text
from documents import storage
from parapheur import services as parapheur_services
from parapheur.models import Folder, StepKind
from parapheur.services import StepSpec
from parapheur.testing import document
from registry.models import Channel, Correspondence, SealedDocument
from registry.receipts import receipt_issue
from registry.services import Party, correspondence_register
from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow.models import Reply
from workflow.testing import deposit, make_procedure

pytestmark = pytest.mark.django_db

# Every kind of line break a person's text may bring.
BREAKS = ["\r\n", "\r", "\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"]


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("brk", BREAKS)
def test_every_line_break_becomes_one_lf(brk: str) -> None:
    assert normalize_newlines(f"a{brk}b{brk}{brk}c") == "a\nb\n\nc"
    assert plain_text(f"a{brk}b") == "a\nb"
    assert one_line(f"  a {brk} b{brk}") == "a b"


def test_controls_are_dropped_but_tabs_line_breaks_and_directional_marks_kept() -> None:
    assert plain_text("a\x00b\x07c\x1bd\x7fe\x9ff") == "abcdef"
    assert plain_text("a\tb\u200fc\u202ed\u2066e") == "a\tb\u200fc\u202ed\u2066e"
    assert one_line("a\t\tb\r\n\r\n c") == "a b c"


def test_a_reply_typed_in_the_browser_prints_its_line_breaks_and_no_stray_mark(
    commune: Administration, clerk: User, agent: User, citizen: User, signed_in: Callable[..., Client]
) -> None:
    urb = make_service(commune, "URB", name_fr="Urbanisme")
    make_procedure(commune)
    request = deposit(commune, citizen, procedure="URB-PC").correspondence
    signed_in(clerk).post(f"/desk/{commune.code}/c/{request.pk}/act/assign/", {"assign-service": urb.pk})
    # As Chromium posts a text area: CR LF between lines.
    response = signed_in(agent).post(
        f"/desk/{commune.code}/c/{request.pk}/reply/",
        {
            "body_ar": "السيد المحترم،\r\nتبعا لطلبكم،\r\n\r\nتقبلوا التحية.",
            "body_fr": "Monsieur,\r\nSuite à votre demande,\r\n\r\nVeuillez agréer nos salutations.",
            "decision": "answer",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = Reply.objects.get(case__correspondence=request)
    letter = SealedDocument.objects.get(correspondence=reply.outgoing, kind="letter")
    assert letter.blob_id is not None
    text = pdf_text(storage.read_bytes(letter.blob_id))
    lines = [line.strip() for line in text.splitlines()]
    assert "?" not in text and "\r" not in text
    assert "Monsieur," in lines and "Suite à votre demande," in lines
    assert "Veuillez agréer nos salutations." in lines


@pytest.mark.parametrize("brk", BREAKS)
def test_a_deposit_keeps_its_line_breaks_and_its_receipt_shows_no_stray_mark(
    commune: Administration, citizen: User, brk: str
) -> None:
    registration = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject=f"طلب شهادة{brk}السكنى",
        body=f"السيد الرئيس،{brk}أطلب شهادة السكنى.{brk}",
    )
    c = registration.correspondence
    assert (c.subject, c.body) == ("طلب شهادة السكنى", "السيد الرئيس،\nأطلب شهادة السكنى.")
    assert registration.receipt is not None
    receipt = receipt_issue(receipt_id=registration.receipt.pk)
    text = pdf_text(storage.read_bytes(str(receipt.blob_id)))
    assert "?" not in text


def test_text_stored_before_the_fix_prints_without_stray_marks(commune: Administration, citizen: User) -> None:
    """Rows registered before line breaks were normalised still hold CR LF: the documents made
    from them later (a receipt issued again, an attestation) must not print it."""
    registration = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject="placeholder",
        body="نص",
    )
    Correspondence.objects.filter(pk=registration.correspondence.pk).update(
        subject="Demande\r\nde certificat\x0c\x07", sender_name="Amina\r\nEl Fassi"
    )
    assert registration.receipt is not None
    receipt = receipt_issue(receipt_id=registration.receipt.pk)
    text = pdf_text(storage.read_bytes(str(receipt.blob_id)))
    assert "?" not in text
    assert "Demande" in text and "de certificat" in text and "Amina" in text


def test_a_proof_slip_prints_comments_typed_with_cr_lf_as_lines(commune: Administration) -> None:
    from parapheur.testing import person
    from tenancy.models import Membership

    writer = person(commune, Membership.Role.AGENT, "writer@commune.ma", name="Salma Writer")
    chief = person(commune, Membership.Role.HEAD, "chief@commune.ma", name="Omar Chef")
    folder = parapheur_services.folder_submit(
        actor=writer,
        administration=commune,
        title="Arrêté\r\nd'alignement n° 12",
        document=document(),
        document_name="arrete.pdf",
        steps=[StepSpec(kind=StepKind.VISA, people=(chief.pk,)), StepSpec(kind=StepKind.SEAL)],
    )
    # The title is one line wherever it is shown (the folder list, the reminder e-mails).
    assert folder.title == "Arrêté d'alignement n° 12"
    parapheur_services.folder_comment(actor=chief, folder_id=folder.pk, text="Vu.\r\nÀ signer\u2028sans délai.")
    folder.refresh_from_db()
    parapheur_services.folder_approve(actor=chief, folder_id=folder.pk, fingerprint=folder.document)
    folder.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED and folder.proof
    assert folder.events.get(kind="annotated").text == "Vu.\nÀ signer\nsans délai."
    text = pdf_text(storage.read_bytes(folder.proof))
    assert "\r" not in text and "\u2028" not in text
    lines = [line.strip() for line in text.splitlines()]
    assert "À signer" in lines and "sans délai." in lines, text
