"""Access is checked before the body: who may not reach an object gets its 404 (or 403), never
what their body lacks (a 422 or a 400 tells an outsider the object is there)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from api.testing import bearer
from parapheur.models import Folder
from parapheur.testing import document, person
from tenancy.models import Administration, Membership, User
from workflow.testing import deposit

Role = Membership.Role


@pytest.fixture
def folder(commune: Administration) -> Folder:
    writer = person(commune, Role.AGENT, "writer@commune.ma")
    chief = person(commune, Role.HEAD, "chief@commune.ma")
    created = bearer(writer).post(
        f"/api/v1/administrations/{commune.code}/folders",
        {
            "title": "Décision n° 7",
            "steps": json.dumps([{"kind": "visa", "people": [chief.email]}]),
            "document": SimpleUploadedFile("decision.pdf", document(), content_type="application/pdf"),
        },
    )
    assert created.status_code == 201, created.content
    return Folder.objects.get(pk=created.json()["id"])


def test_an_outsider_acting_on_a_folder_with_a_junk_body_gets_a_404(
    commune: Administration, folder: Folder, outsider: User
) -> None:
    url = f"/api/v1/administrations/{commune.code}/folders/{folder.pk}/act"
    response = bearer(outsider).post(url, {"action": "dance", "page": -1}, content_type="application/json")
    assert response.status_code == 404


def test_a_reader_of_the_folder_still_gets_a_422_for_a_junk_body(
    commune: Administration, folder: Folder, auditor: User
) -> None:
    url = f"/api/v1/administrations/{commune.code}/folders/{folder.pk}/act"
    response = bearer(auditor).post(url, {"action": "dance"}, content_type="application/json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"], list(error["fields"])) == ("invalid_request", "action", ["action"])


# Form fields past their bounds (the title, subject, recipient and type of document).
JUNK_FORM = {"title": "x" * 301, "subject": "x" * 301, "recipient": "x" * 201, "document_type": "x" * 61}


@pytest.mark.parametrize("what", ["folders", "exchanges"])
def test_who_may_not_act_for_the_administration_gets_a_404_whatever_the_form_holds(
    commune: Administration, outsider: User, auditor: User, clerk: User, what: str
) -> None:
    url = f"/api/v1/administrations/{commune.code}/{what}"
    assert bearer(outsider).post(url, JUNK_FORM).status_code == 404
    assert bearer(auditor).post(url, JUNK_FORM).status_code == 404
    # Who may act there is told what the form lacks.
    response = bearer(clerk).post(url, JUNK_FORM)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_the_access_check_before_the_form_leaves_its_bounds_in_the_schema(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path, field, bound in [
        ("/api/v1/administrations/{code}/folders", "title", 300),
        ("/api/v1/administrations/{code}/exchanges", "recipient", 200),
    ]:
        form = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert form["properties"][field]["maxLength"] == bound
        assert schema["paths"][path]["post"]["security"] == [{"BearerToken": []}]


@pytest.mark.parametrize("act", ["assign", "send-back", "assign-agent", "request-completion", "reply", "notes"])
def test_an_outsider_acting_on_a_case_with_a_junk_body_gets_a_404(
    commune: Administration, citizen: User, outsider: User, clerk: User, act: str
) -> None:
    case_id = deposit(commune, citizen).correspondence.pk
    junk = {"copies": "many", "documents": 7, "reject": "perhaps"}
    assert (
        bearer(outsider).post(f"/api/v1/cases/{case_id}/{act}", junk, content_type="application/json").status_code
        == 404
    )
    # Who reads the case is told what the body lacks.
    assert (
        bearer(clerk).post(f"/api/v1/cases/{case_id}/{act}", junk, content_type="application/json").status_code == 422
    )
