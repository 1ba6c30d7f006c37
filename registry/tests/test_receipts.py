"""Receipts: sealed PAdES B-T, checked by independent tools (pdfsig, zbarimg), verifiable."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from documents import storage
from documents.intake import bytes_upload, check_files
from documents.samples import image_bytes, pdf_bytes
from documents.testing import qr_urls_in_pdf
from registry.models import Channel, Receipt
from registry.receipts import receipt_issue, receipts_issue_pending, verification_url
from registry.services import Party, Registration, correspondence_register
from tenancy.models import Administration, User
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_report


def register(commune: Administration, citizen: User, files: Sequence[tuple[str, bytes]] = ()) -> Registration:
    return correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject="طلب الحصول على رخصة البناء لقطعة أرضية بالحي الإداري",
        body="" if files else "أطلب رخصة البناء",
        files=check_files([bytes_upload(data, name) for name, data in files]),
    )


@pytest.fixture
def issued(commune: Administration, citizen: User) -> tuple[Receipt, bytes]:
    registration = register(
        commune, citizen, files=[("تصميم.pdf", pdf_bytes(pages=4, pad_to=50_000)), ("صورة.jpg", image_bytes("JPEG"))]
    )
    assert registration.receipt is not None
    receipt = receipt_issue(receipt_id=registration.receipt.pk)
    return receipt, storage.read_bytes(str(receipt.blob_id))


def test_the_receipt_is_sealed_and_trusted_by_an_independent_validator(issued: tuple[Receipt, bytes]) -> None:
    _receipt, pdf = issued
    report = assert_pdfsig_trusted(pdf, ca_certificate_pem())
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." in report
    assert "ETSI.CAdES.detached" in report  # PAdES


def test_the_qr_code_decodes_to_the_verification_url(issued: tuple[Receipt, bytes]) -> None:
    receipt, pdf = issued
    assert qr_urls_in_pdf(pdf) == [verification_url(receipt.token)]


def test_the_receipt_shows_the_registered_facts(issued: tuple[Receipt, bytes]) -> None:
    receipt, pdf = issued
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    c = receipt.correspondence
    assert c.number in text
    for attachment in c.attachments.all():
        assert attachment.blob_id[:32] in text.replace("\n", "").replace(" ", "")
    assert "AB****56" in text  # the CIN, masked


def test_a_one_byte_edit_fails_verification(issued: tuple[Receipt, bytes], client: Client) -> None:
    _receipt, pdf = issued
    tampered = bytearray(pdf)
    position = pdf.index(b"/Contents <") - 300  # inside the signed range
    tampered[position] = ord("A") if tampered[position] != ord("A") else ord("B")
    response = client.post("/api/v1/verify", {"file": SimpleUploadedFile("r.pdf", bytes(tampered))})
    assert response.json()["valid"] is False
    assert "Signature is Valid." not in pdfsig_report(bytes(tampered), ca_certificate_pem())


def test_an_authentic_receipt_uploaded_is_matched_to_the_register(
    issued: tuple[Receipt, bytes], client: Client
) -> None:
    receipt, pdf = issued
    body = client.post("/api/v1/verify", {"file": SimpleUploadedFile("r.pdf", pdf)}).json()
    assert body["valid"] is True
    assert body["registration_number"] == receipt.correspondence.number
    assert body["subject"] is None  # the uploader proves the file, not knowledge of the token
    page = client.post("/verify/", {"file": SimpleUploadedFile("r.pdf", pdf)})
    assert page.status_code == 200 and receipt.correspondence.number in page.content.decode()


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"not a pdf at all", "unreadable"), (pdf_bytes(), "no_signature")],
)
def test_other_files_are_explained(client: Client, db: None, data: bytes, code: str) -> None:
    body = client.post("/api/v1/verify", {"file": SimpleUploadedFile("x.pdf", data)}).json()
    assert (body["valid"], body["code"]) == (False, code)
    assert body["message"]


def test_content_appended_after_the_seal_is_refused(issued: tuple[Receipt, bytes], client: Client) -> None:
    _receipt, pdf = issued
    body = client.post("/api/v1/verify", {"file": SimpleUploadedFile("r.pdf", pdf + b"\n% appended\n")}).json()
    assert body["valid"] is False


def test_verification_by_token_shows_the_facts(issued: tuple[Receipt, bytes], client: Client) -> None:
    receipt, _pdf = issued
    body = client.get(f"/api/v1/verify/{receipt.token}").json()
    c = receipt.correspondence
    assert body["valid"] is True
    assert body["registration_number"] == c.number
    assert body["administration"]["code"] == "COMMUNE-TEST"
    assert body["subject"] == c.subject
    assert [a["sha256"] for a in body["attachments"]] == [a.blob_id for a in c.attachments.order_by("position")]
    page = client.get(f"/v/{receipt.token}", headers={"Accept-Language": "fr"})
    assert page.status_code == 200 and c.number in page.content.decode()


def test_an_unknown_token_is_not_found(client: Client, db: None) -> None:
    assert client.get("/api/v1/verify/" + "x" * 32).status_code == 404
    assert client.get("/v/" + "x" * 32).status_code == 404


def test_tokens_are_unguessable(issued: tuple[Receipt, bytes]) -> None:
    receipt, _pdf = issued
    assert len(receipt.token) >= 22  # ≥ 128 bits in URL-safe base64 (ours: 192 bits)


def test_a_receipt_that_failed_to_seal_is_issued_again_by_the_worker(commune: Administration, citizen: User) -> None:
    with mock.patch("registry.receipts.receipt_render_and_seal", side_effect=RuntimeError("seal service down")):
        registration = register(commune, citizen)
        from registry.receipts import receipt_issue_safely

        assert registration.receipt is not None
        assert receipt_issue_safely(receipt_id=registration.receipt.pk) is None
    pending = Receipt.objects.get(pk=registration.receipt.pk)
    assert not pending.is_issued and pending.attempts == 1 and "seal service down" in pending.last_error
    # Too recent: the periodic job leaves it to the request that may still be issuing it.
    assert receipts_issue_pending() == 0
    with mock.patch("registry.receipts.RETRY_AFTER", new=__import__("datetime").timedelta(0)):
        assert receipts_issue_pending() == 1
    assert Receipt.objects.get(pk=registration.receipt.pk).is_issued


def test_issuing_twice_keeps_the_first_receipt(issued: tuple[Receipt, bytes]) -> None:
    receipt, _pdf = issued
    again = receipt_issue(receipt_id=receipt.pk)
    assert again.blob_id == receipt.blob_id


def test_the_root_certificate_is_published_for_independent_checks(
    issued: tuple[Receipt, bytes], client: Client
) -> None:
    _receipt, pdf = issued
    response = client.get("/verify/root-ca.pem")
    assert response.status_code == 200
    assert "Certificate is Trusted." in assert_pdfsig_trusted(pdf, response.content)


def test_characters_no_receipt_font_has_still_give_a_receipt(commune: Administration, citizen: User) -> None:
    registration = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party(kind="person", name="أمينة 🙂 李", account=citizen),
        subject="طلب 📄 申请 עברית",
        body="نص",
    )
    assert registration.receipt is not None
    receipt = receipt_issue(receipt_id=registration.receipt.pk)
    assert receipt.is_issued
    assert registration.correspondence.subject == "طلب 📄 申请 עברית"  # the register keeps what was typed


def test_the_verification_page_of_a_confidential_letter_names_no_file(
    commune: Administration, citizen: User, client: Client
) -> None:
    shown = register(commune, citizen, files=[("plan-du-terrain.pdf", pdf_bytes())])
    hidden = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject="Plainte confidentielle",
        confidential=True,
        files=check_files([bytes_upload(pdf_bytes(), "rapport-medical-ahmed.pdf")]),
    )
    assert shown.receipt is not None and hidden.receipt is not None
    for receipt in (shown.receipt, hidden.receipt):
        receipt_issue(receipt_id=receipt.pk)
    public = client.get(f"/v/{shown.receipt.token}").content.decode()
    assert "plan-du-terrain.pdf" in public
    page = client.get(f"/v/{hidden.receipt.token}").content.decode()
    attachment = hidden.correspondence.attachments.get()
    assert attachment.blob_id in page  # The fingerprint still lets the holder check the file.
    assert "rapport-medical-ahmed" not in page and "Plainte confidentielle" not in page


def test_a_decompression_bomb_uploaded_for_verification_is_refused_without_being_parsed_here(
    issued: tuple[Receipt, bytes], client: Client
) -> None:
    from documents.samples import pdf_inflating_to
    from registry.verification import MAX_RECEIPT_INFLATED

    bomb = pdf_inflating_to(2 * MAX_RECEIPT_INFLATED)  # about 130 KB of file
    assert len(bomb) < 1024 * 1024
    with mock.patch("trust.verification.verify_pdf", side_effect=AssertionError("parsed in the web worker")):
        body = client.post("/api/v1/verify", {"file": SimpleUploadedFile("b.pdf", bomb)}).json()
    assert (body["valid"], body["code"]) == (False, "too_large")
    _receipt, pdf = issued
    assert client.post("/api/v1/verify", {"file": SimpleUploadedFile("r.pdf", pdf)}).json()["valid"] is True
