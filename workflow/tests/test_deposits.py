"""Deposits: one service registers what a depositor hands in and issues its receipt, for the
web form, the counter, its batch, tracking and the API alike."""

from __future__ import annotations

from unittest import mock

import pytest

from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.models import Channel, Correspondence, Receipt, SenderKind
from registry.services import Party, RegistrationRefused
from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow import services
from workflow.models import Case, Status
from workflow.services import Deposit
from workflow.testing import make_procedure


def _letter(subject: str = "طلب رخصة", sender: str = "أمينة العلوي") -> Deposit:
    return Deposit(
        sender=Party(kind=SenderKind.PERSON, name=sender),
        subject=subject,
        files=check_files([bytes_upload(pdf_bytes(text=subject), "scan.pdf")]),
    )


def test_a_deposit_is_registered_its_case_opened_and_its_receipt_issued(commune: Administration, citizen: User) -> None:
    make_procedure(commune)
    registration = services.deposit_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        deposit=Deposit(sender=Party.of_account(citizen), subject="رخصة البناء", body="نص", procedure_code="URB-PC"),
    )
    c = registration.correspondence
    procedure = Case.objects.get(pk=c.pk).procedure
    assert procedure is not None and procedure.code == "URB-PC"
    receipt = Receipt.objects.get(correspondence=c)
    assert receipt.is_issued and receipt.blob_id


def test_a_refused_deposit_registers_nothing_and_raises_the_registrations_refusal(
    commune: Administration, citizen: User
) -> None:
    with pytest.raises(RegistrationRefused) as refused:
        services.deposit_register(
            actor=citizen,
            administration=commune,
            channel=Channel.ONLINE,
            deposit=Deposit(sender=Party.of_account(citizen), subject=" ", body="نص"),
        )
    assert refused.value.code == "subject_required"
    assert not Correspondence.objects.exists()


def test_a_receipt_that_cannot_be_sealed_now_is_left_pending_and_the_deposit_stands(
    commune: Administration, citizen: User
) -> None:
    with mock.patch("registry.receipts.receipt_render_and_seal", side_effect=RuntimeError("no seal")):
        registration = services.deposit_register(
            actor=citizen,
            administration=commune,
            channel=Channel.API,
            deposit=Deposit(sender=Party.of_account(citizen), subject="طلب", body="نص"),
        )
    receipt = Receipt.objects.get(correspondence=registration.correspondence)
    assert not receipt.is_issued and receipt.attempts == 1 and "no seal" in receipt.last_error


def test_a_batch_is_registered_in_order_each_with_its_receipt(commune: Administration, clerk: User) -> None:
    urb = make_service(commune, "URB")
    first, second = _letter("الأولى"), _letter("الثانية")
    second = Deposit(sender=second.sender, subject=second.subject, files=second.files, recipient_service=urb)
    registrations = services.deposits_register(
        actor=clerk, administration=commune, channel=Channel.COUNTER, deposits=[first, second]
    )
    assert [r.correspondence.subject for r in registrations] == ["الأولى", "الثانية"]
    assert registrations[0].correspondence.number < registrations[1].correspondence.number
    assert all(Receipt.objects.get(correspondence=r.correspondence).is_issued for r in registrations)
    assert Case.objects.get(pk=registrations[1].correspondence.pk).status == Status.ASSIGNED


def test_a_batch_with_one_refused_letter_registers_none_of_them(commune: Administration, clerk: User) -> None:
    with pytest.raises(RegistrationRefused) as refused:
        services.deposits_register(
            actor=clerk,
            administration=commune,
            channel=Channel.COUNTER,
            deposits=[_letter("الأولى"), _letter("الثانية", sender="")],
        )
    assert refused.value.code == "sender_required"
    assert not Correspondence.objects.exists() and not Receipt.objects.exists()


def test_the_documents_a_request_was_missing_get_their_own_receipt(
    commune: Administration, citizen: User, agent: User
) -> None:
    make_procedure(commune)
    request = services.deposit_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        deposit=Deposit(sender=Party.of_account(citizen), subject="رخصة", body="نص", procedure_code="URB-PC"),
    ).correspondence
    Case.objects.filter(pk=request.pk).update(status=Status.AWAITING_COMPLETION)
    completion = services.completion_deposit(
        actor=citizen, case_id=request.pk, files=check_files([bytes_upload(pdf_bytes(text="plans"), "plans.pdf")])
    )
    assert completion.correspondence.in_reply_to_id == request.pk
    assert Receipt.objects.get(correspondence=completion.correspondence).is_issued
    assert Case.objects.get(pk=request.pk).status == Status.IN_PROGRESS
