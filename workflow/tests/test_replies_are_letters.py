"""A reply is a letter to the depositor, not a deposit of theirs: it names them as its
addressee, is never listed among their deposits and never gets a deposit receipt (its seal and
its QR code are its proof)."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.clock import now
from core.testing import clock_at
from documents import storage
from documents.testing import pdf_text
from registry import selectors
from registry.models import Correspondence, Receipt, SealedDocument
from registry.receipts import receipts_issue_pending
from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow import services
from workflow.services import LetterText
from workflow.testing import deposit, make_procedure


def answered(
    commune: Administration,
    citizen: User,
    agent: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Correspondence:
    """The citizen's request for URB-PC, asked to be completed, then answered (two letters)."""
    make_procedure(commune, service=make_service(commune, "URB"))
    with django_capture_on_commit_callbacks(execute=True):
        request = deposit(commune, citizen, procedure="URB-PC").correspondence
        services.case_start(actor=agent, case_id=request.pk)
    return request


def test_a_reply_never_gets_a_deposit_receipt_and_none_is_e_mailed(
    commune: Administration,
    citizen: User,
    agent: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    request = answered(commune, citizen, agent, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.case_reply(
            actor=agent, case_id=request.pk, text=LetterText(body_ar="نوافق على طلبكم", body_fr="Accord.")
        )
    # The worker's periodic pass, once the grace period of a pending receipt is over.
    with (
        clock_at(now() + timedelta(minutes=5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        receipts_issue_pending()
    letter = reply.outgoing
    assert not Receipt.objects.filter(correspondence=letter).exists()
    assert Receipt.objects.get(correspondence=request).is_issued  # the deposit has its receipt
    attached = [name for m in mail.outbox for name, _content, _type in m.attachments]
    assert f"receipt-{request.number}.pdf" in attached
    assert f"receipt-{letter.number}.pdf" not in attached
    assert f"{letter.number}.pdf" in attached  # the sealed letter itself goes to the citizen


def test_a_reply_is_addressed_to_the_depositor_and_is_none_of_their_deposits(
    commune: Administration,
    citizen: User,
    agent: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    request = answered(commune, citizen, agent, django_capture_on_commit_callbacks)
    document = commune.procedures.get().documents.first()
    assert document is not None
    completion = services.case_request_completion(actor=agent, case_id=request.pk, document_ids=[document.pk])
    letter = completion.outgoing
    assert list(selectors.deposits_of(citizen)) == [request]
    assert (letter.addressee_account, letter.addressee_name) == (citizen, citizen.full_name)
    assert (letter.sender_account, letter.sender_name) == (None, "")
    sealed = SealedDocument.objects.get(correspondence=letter, kind=SealedDocument.Kind.LETTER)
    assert sealed.blob_id is not None
    text = pdf_text(storage.read_bytes(sealed.blob_id))
    assert citizen.full_name in text and request.number in text
