"""The parapheur through the API: a folder created with its steps, acted on by each person in
turn with the fingerprint they saw, its signed document and proof slip; outsiders denied."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from api.testing import bearer
from documents import storage
from parapheur.models import Folder
from parapheur.testing import PASSPHRASE, document, enrolled, person
from tenancy.models import Administration, Membership, User
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_available

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

Role = Membership.Role


@pytest.fixture
def people(commune: Administration) -> dict[str, User]:
    return {
        "writer": person(commune, Role.AGENT, "writer@commune.ma"),
        "chief": person(commune, Role.HEAD, "chief@commune.ma"),
        "mayor": enrolled(person(commune, Role.SIGNATORY, "mayor@commune.ma", name="Nadia Amrani"), commune),
    }


def create(api: Client, code: str, steps: object) -> Response:
    return api.post(
        f"/api/v1/administrations/{code}/folders",
        {
            "title": "Décision n° 7",
            "steps": json.dumps(steps),
            "document": SimpleUploadedFile("decision.pdf", document(), content_type="application/pdf"),
        },
    )


@pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")
def test_a_folder_through_the_api_visa_then_signature_then_seal(
    commune: Administration, people: dict[str, User]
) -> None:
    code = commune.code
    steps = [
        {"kind": "visa", "people": ["chief@commune.ma"]},
        {"kind": "signature", "people": ["mayor@commune.ma"]},
        {"kind": "seal"},
    ]
    response = create(bearer(people["writer"]), code, steps)
    assert response.status_code == 201, response.content
    body = response.json()
    folder_id, shown = body["id"], body["document_sha256"]
    assert body["current_step"] == 1 and [s["state"] for s in body["steps"]] == ["active", "waiting", "waiting"]
    chief, mayor = bearer(people["chief"]), bearer(people["mayor"])
    assert [p["folder_id"] for p in chief.get(f"/api/v1/administrations/{code}/pending").json()] == [folder_id]
    assert mayor.get(f"/api/v1/administrations/{code}/pending").json() == []
    act = f"/api/v1/administrations/{code}/folders/{folder_id}/act"
    early = mayor.post(
        act, {"action": "sign", "fingerprint": shown, "passphrase": PASSPHRASE}, content_type="application/json"
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_your_turn"
    stale = chief.post(act, {"action": "approve", "fingerprint": "0" * 64}, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "document_changed"
    assert (
        chief.post(act, {"action": "approve", "fingerprint": shown}, content_type="application/json").status_code == 200
    )
    wrong = mayor.post(
        act, {"action": "sign", "fingerprint": shown, "passphrase": "wrong one"}, content_type="application/json"
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_passphrase"
    done = mayor.post(
        act, {"action": "sign", "fingerprint": shown, "passphrase": PASSPHRASE}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert [e["kind"] for e in done.json()["history"]] == ["submitted", "approved", "signed", "sealed", "completed"]
    signed = bearer(people["writer"]).get(f"/api/v1/administrations/{code}/folders/{folder_id}/document")
    report = assert_pdfsig_trusted(signed.getvalue(), ca_certificate_pem())
    assert report.count("Signature #") == 2
    proof = bearer(people["writer"]).get(f"/api/v1/administrations/{code}/folders/{folder_id}/proof")
    assert proof.status_code == 200 and proof["Content-Type"] == "application/pdf"
    assert_pdfsig_trusted(proof.getvalue(), ca_certificate_pem())  # the proof slip is sealed
    # Anyone checks the signed document through the public verification endpoint.
    signed_bytes = storage.read_bytes(Folder.objects.get(pk=folder_id).document)
    checked = Client().post("/api/v1/verify", {"file": SimpleUploadedFile("d.pdf", signed_bytes)}).json()
    assert checked["valid"] and checked["code"] == "ok_folder_document" and checked["folder"] == f"P-{folder_id}"
    assert [(s["level"], s["valid"]) for s in checked["signatures"]] == [("advanced", True), ("seal", True)]


def test_bad_requests_are_refused_and_create_nothing(commune: Administration, people: dict[str, User]) -> None:
    api = bearer(people["writer"])
    code = commune.code
    assert create(api, code, "not a list").status_code == 400
    assert create(api, code, [{"kind": "visa", "people": ["nobody@nowhere.ma"]}]).status_code == 400
    word = api.post(
        f"/api/v1/administrations/{code}/folders",
        {
            "title": "x",
            "steps": "[]",
            "document": SimpleUploadedFile("a.docx", b"PK\x03\x04", content_type="application/msword"),
        },
    )
    assert word.status_code == 400
    assert not Folder.objects.exists()
