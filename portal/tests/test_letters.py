"""The citizen's space: "My deposits" lists what they deposited, "Letters received" the sealed
letters administrations sent them — a reply is a letter, never a deposit — and nobody else sees
either."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks

from documents import storage
from registry.models import Correspondence, SealedDocument
from registry.receipts import receipt_issue_registered
from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow import services
from workflow.services import LetterText
from workflow.testing import deposit, make_procedure


@pytest.fixture
def answered(
    commune: Administration,
    citizen: User,
    agent: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> tuple[Correspondence, Correspondence]:
    """The citizen's URB-PC request and the sealed answer to it (as in the README's step 6)."""
    make_procedure(commune, service=make_service(commune, "URB"))
    with django_capture_on_commit_callbacks(execute=True):
        registration = deposit(commune, citizen, procedure="URB-PC")
        receipt_issue_registered(registration)  # as the deposit form does
        request = registration.correspondence
        services.case_start(actor=agent, case_id=request.pk)
        reply = services.case_reply(actor=agent, case_id=request.pk, text=LetterText(body_fr="Accord."))
    return request, reply.outgoing


def test_my_deposits_lists_the_request_and_not_the_answer(
    citizen: User, answered: tuple[Correspondence, Correspondence], signed_in: Callable[..., Client]
) -> None:
    request, letter = answered
    client = signed_in(citizen, "fr")
    page = client.get("/deposits/").content.decode()
    assert request.number in page
    assert letter.number not in page and "Scellement en cours" not in page
    assert client.get(f"/deposits/{letter.pk}/").status_code == 404
    assert client.get(f"/deposits/{letter.pk}/receipt.pdf").status_code == 404


def test_letters_received_lists_the_answer_with_its_sealed_pdf_and_verification_link(
    citizen: User, answered: tuple[Correspondence, Correspondence], signed_in: Callable[..., Client]
) -> None:
    request, letter = answered
    document = SealedDocument.objects.get(correspondence=letter, kind=SealedDocument.Kind.LETTER)
    client = signed_in(citizen, "fr")
    page = client.get("/letters/").content.decode()
    assert letter.number in page and '<span class="badge">Réponse</span>' in page  # the kind of letter
    assert f'href="/deposits/{request.pk}/"' in page  # the deposit it answers
    assert f'href="/letters/{letter.pk}.pdf"' in page and f'href="/v/{document.token}"' in page
    assert request.number in page and "Accusé de réception" not in page
    assert 'href="/letters/"' in client.get("/deposits/").content.decode()  # in the menu
    pdf = client.get(f"/letters/{letter.pk}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert document.blob_id is not None
    assert pdf.getvalue() == storage.read_bytes(document.blob_id)
    assert client.get(f"/letters/{request.pk}.pdf").status_code == 404  # a deposit is no letter to them


def test_nobody_else_sees_the_letter(
    citizen: User,
    outsider_citizen: User,
    outsider: User,
    clerk: User,
    answered: tuple[Correspondence, Correspondence],
    signed_in: Callable[..., Client],
) -> None:
    _request, letter = answered
    # The letter's address refuses them (tests/test_routes.py); their list leaves it out.
    for someone in (outsider_citizen, outsider, clerk):
        assert letter.number not in signed_in(someone, "fr").get("/letters/").content.decode()


def test_letters_received_says_when_there_is_none(citizen: User, signed_in: Callable[..., Client]) -> None:
    page = signed_in(citizen, "fr").get("/letters/").content.decode()
    assert "Aucune administration ne vous a encore écrit." in page
