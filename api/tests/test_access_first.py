"""Access is checked before the body: who may not reach an object gets its 404 (or 403), never
what their body lacks (a 422 or a 400 tells an outsider the object is there)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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


def test_an_auditor_starting_a_folder_with_a_junk_body_gets_a_404(commune: Administration, auditor: User) -> None:
    # (api:exchange_send: the same check, tried by tests/test_routes.py with the auditor.)
    response = bearer(auditor).post(f"/api/v1/administrations/{commune.code}/folders", {"title": "x"})
    assert response.status_code == 404


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
