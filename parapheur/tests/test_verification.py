"""The verification verdict the public page and the API share (:func:`document_verify`)."""

from __future__ import annotations

from documents import storage
from documents.samples import pdf_bytes
from parapheur.verification import document_verify
from registry.models import Channel
from registry.services import Party
from tenancy.models import Administration, User
from workflow.services import Deposit, deposit_register


def test_a_receipt_is_authentic_and_its_seal_is_listed(commune: Administration, citizen: User) -> None:
    registration = deposit_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        deposit=Deposit(sender=Party.of_account(citizen), subject="طلب", body="نص"),
    )
    receipt = registration.receipt
    assert receipt is not None and receipt.blob_id
    verdict = document_verify(storage.read_bytes(str(receipt.blob_id)))
    assert verdict.valid and verdict.check.code == "ok" and verdict.check.receipt == receipt
    assert verdict.folder is None
    assert verdict.signatures is not None and [s.level for s in verdict.signatures] == ["seal"]


def test_an_unsigned_pdf_is_not_authentic_and_has_no_signatures_listed(db: None) -> None:
    verdict = document_verify(pdf_bytes(text="copie"))
    assert not verdict.valid and verdict.check.code == "no_signature" and verdict.signatures is None


def test_a_file_that_is_no_pdf_is_unreadable(db: None) -> None:
    verdict = document_verify(b"not a pdf at all")
    assert not verdict.valid and verdict.check.code == "unreadable" and verdict.signatures is None
