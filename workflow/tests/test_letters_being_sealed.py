"""Between an answer's commit and its letter's seal (a slow or failing timestamping unit), every
page and the API say the letter is being prepared: no error, nothing half-made handed out."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import pytest
from django.test import Client

from api.testing import bearer
from registry.models import Correspondence, SealedDocument
from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow import services
from workflow.models import Reply
from workflow.services import LetterText
from workflow.services.sealing import sealed_document_make
from workflow.testing import deposit

pytestmark = pytest.mark.django_db


def _answer_pending(
    commune: Administration, citizen: User, clerk: User, agent: User
) -> tuple[Correspondence, Reply, SealedDocument]:
    request = deposit(commune, citizen).correspondence
    services.case_assign(actor=clerk, case_id=request.pk, service=make_service(commune, "URB"))
    with mock.patch("workflow.letters.seal", side_effect=OSError("timestamping unit unreachable")):
        reply = services.case_reply(actor=agent, case_id=request.pk, text=LetterText(body_fr="Accord."))
    document = SealedDocument.objects.get(correspondence=reply.outgoing, kind=SealedDocument.Kind.LETTER)
    assert document.blob_id is None and document.last_error == "OSError: timestamping unit unreachable"
    return request, reply, document


def test_the_citizen_sees_the_letter_coming_then_gets_it(
    commune: Administration, citizen: User, clerk: User, agent: User, signed_in: Callable[..., Client]
) -> None:
    request, reply, document = _answer_pending(commune, citizen, clerk, agent)
    letter = reply.outgoing
    client = signed_in(citizen, "fr")
    page = client.get("/letters/").content.decode()
    assert letter.number in page and "en cours de scellement" in page
    assert f'href="/letters/{letter.pk}.pdf"' not in page and f"/v/{document.token}" not in page
    download = client.get(f"/letters/{letter.pk}.pdf")
    assert download.status_code == 202 and download["Retry-After"] == "5"
    assert "en préparation" in download.content.decode()
    # The deposit's page lists it as coming, with no download link (a link saved the 202's
    # sentence as a ".pdf" file).
    follow = client.get(f"/deposits/{request.pk}/")
    assert follow.status_code == 200
    assert (
        letter.number in follow.content.decode()
        and "Cette lettre est en cours de scellement" in follow.content.decode()
    )
    assert f"/deposits/{request.pk}/letters/{reply.pk}.pdf" not in follow.content.decode()
    assert client.get(f"/deposits/{request.pk}/letters/{reply.pk}.pdf").status_code == 202
    # Its verification link is not out yet: it names no document until the letter exists.
    assert Client().get(f"/v/{document.token}").status_code == 404
    sealed_document_make(document_id=document.pk)
    assert f'href="/letters/{letter.pk}.pdf"' in client.get("/letters/").content.decode()
    assert client.get(f"/letters/{letter.pk}.pdf").status_code == 200
    assert Client().get(f"/v/{document.token}").status_code == 200
    sealed = client.get(f"/deposits/{request.pk}/").content.decode()
    assert (
        f'href="/deposits/{request.pk}/letters/{reply.pk}.pdf"' in sealed and "Cette lettre est en cours" not in sealed
    )
    assert client.get(f"/deposits/{request.pk}/letters/{reply.pk}.pdf").status_code == 200


def test_the_api_says_202_while_the_letter_is_sealed(
    commune: Administration, citizen: User, clerk: User, agent: User
) -> None:
    _request, reply, document = _answer_pending(commune, citizen, clerk, agent)
    api = bearer(citizen)
    listed = api.get("/api/v1/letters").json()
    assert [x["registration_number"] for x in listed] == [reply.outgoing.number]
    pending = api.get(listed[0]["pdf_url"])
    assert pending.status_code == 202 and pending["Retry-After"] == "5"
    sealed_document_make(document_id=document.pk)
    assert api.get(listed[0]["pdf_url"]).status_code == 200


def test_the_desk_shows_the_answer_and_says_its_letter_is_being_sealed(
    commune: Administration, citizen: User, clerk: User, agent: User, signed_in: Callable[..., Client]
) -> None:
    request, reply, document = _answer_pending(commune, citizen, clerk, agent)
    client = signed_in(agent, "fr")
    assert reply.outgoing.number in client.get(f"/desk/{commune.code}/c/{request.pk}/").content.decode()
    page = client.get(f"/desk/{commune.code}/c/{reply.outgoing.pk}/")
    assert page.status_code == 200 and "en cours de scellement" in page.content.decode()
    sealed_document_make(document_id=document.pk)
    html = client.get(f"/desk/{commune.code}/c/{reply.outgoing.pk}/").content.decode()
    assert "en cours de scellement" not in html and f"{reply.outgoing.number}.pdf" in html
    letter = client.get(f"/desk/{commune.code}/c/{reply.outgoing.pk}/files/1")
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"
    assert Reply.objects.get(pk=reply.pk).outgoing.attachments.count() == 1
