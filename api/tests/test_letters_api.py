"""Through the API: ``GET /api/v1/deposits`` lists what the caller deposited, ``GET
/api/v1/letters`` the sealed letters sent to them; an answer is a letter, never a deposit, and
nobody else reads it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoCaptureOnCommitCallbacks

from api.testing import bearer
from documents import storage
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
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
) -> tuple[Correspondence, Correspondence, Correspondence]:
    """The citizen's URB-PC request, a request to complete it (which the citizen does), and the
    sealed answer."""
    make_procedure(commune, service=make_service(commune, "URB"))
    with django_capture_on_commit_callbacks(execute=True):
        registration = deposit(commune, citizen, procedure="URB-PC")
        receipt_issue_registered(registration)  # as POST /api/v1/deposits does
        request = registration.correspondence
        services.case_start(actor=agent, case_id=request.pk)
        document = commune.procedures.get().documents.first()
        assert document is not None
        completion = services.case_request_completion(actor=agent, case_id=request.pk, document_ids=[document.pk])
        completed = services.case_complete(
            actor=citizen, case_id=request.pk, files=check_files([bytes_upload(pdf_bytes(text="plan"), "plan.pdf")])
        )
        receipt_issue_registered(completed)
        reply = services.case_reply(actor=agent, case_id=request.pk, text=LetterText(body_fr="Accord."))
    return request, completion.outgoing, reply.outgoing


def test_the_deposits_list_holds_only_what_the_caller_deposited(
    citizen: User, answered: tuple[Correspondence, Correspondence, Correspondence]
) -> None:
    request, completion, letter = answered
    api = bearer(citizen)
    listed = api.get("/api/v1/deposits").json()
    # The request and the documents that completed it: both deposited by the citizen.
    assert [d["registration_number"] for d in listed] == [f"A-{request.year}-000002", request.number]
    assert {d["receipt_status"] for d in listed} == {"issued"}
    for outgoing in (completion, letter):
        assert api.get(f"/api/v1/deposits/{outgoing.pk}").status_code == 404
        assert api.get(f"/api/v1/deposits/{outgoing.pk}/receipt").status_code == 404


def test_the_letters_list_holds_the_answer_and_the_request_to_complete(
    citizen: User, answered: tuple[Correspondence, Correspondence, Correspondence]
) -> None:
    request, completion, letter = answered
    api = bearer(citizen)
    response = api.get("/api/v1/letters")
    assert response.status_code == 200, response.content
    listed = response.json()
    assert [(x["registration_number"], x["kind"]) for x in listed] == [
        (letter.number, "answer"),
        (completion.number, "completion"),
    ]
    first = listed[0]
    assert first["sender"]["code"] == "COMMUNE-TEST" and first["subject"] == request.subject
    assert first["in_reply_to"] == {"id": request.pk, "registration_number": request.number}
    document = SealedDocument.objects.get(correspondence=letter, kind=SealedDocument.Kind.LETTER)
    assert first["verification_url"].endswith(f"/v/{document.token}")
    assert api.get(f"/api/v1/letters/{letter.pk}").json() == first
    pdf = api.get(first["pdf_url"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert document.blob_id is not None
    assert pdf.getvalue() == storage.read_bytes(document.blob_id)
    assert Client().get(f"/v/{document.token}").status_code == 200  # its QR code: the letter is verified
    assert api.get(f"/api/v1/letters/{request.pk}").status_code == 404  # their deposit is no letter to them
    assert api.get("/api/v1/letters", {"limit": 1, "offset": 1}).json()[0]["registration_number"] == completion.number


def test_nobody_else_reads_the_letters(
    citizen: User,
    outsider_citizen: User,
    outsider: User,
    clerk: User,
    answered: tuple[Correspondence, Correspondence, Correspondence],
) -> None:
    for someone in (outsider_citizen, outsider, clerk):
        # Each letter's address refuses them (tests/test_routes.py); their lists leave it out.
        api = bearer(someone)
        assert api.get("/api/v1/letters").json() == []
        assert api.get("/api/v1/deposits").json() == []


def test_the_letters_list_runs_a_fixed_number_of_queries(
    commune: Administration,
    citizen: User,
    agent: User,
    answered: tuple[Correspondence, Correspondence, Correspondence],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    api = bearer(citizen)

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/letters").status_code == 200
        return len(queries)

    with_two = statements()
    with django_capture_on_commit_callbacks(execute=True):
        request = deposit(commune, citizen, procedure="URB-PC", subject="طلب ثان").correspondence
        services.case_start(actor=agent, case_id=request.pk)
        services.case_reply(actor=agent, case_id=request.pk, text=LetterText(body_fr="Accord."))
    assert len(api.get("/api/v1/letters").json()) == 3
    # The token with its account, the letters, their sealed documents, their replies.
    assert statements() == with_two == 4
