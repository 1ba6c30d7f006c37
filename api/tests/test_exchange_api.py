"""Exchange through the API: the directory, a letter sent, delivered and acknowledged (that
outsiders are refused is the generated test of tests/test_routes.py)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from api.testing import bearer
from core.clock import now
from documents.samples import pdf_bytes
from exchange import services
from exchange.models import Envelope
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_staff
from workflow.calendar import local_date

Role = Membership.Role


def test_a_letter_through_the_api_and_its_acknowledgement(commune: Administration, clerk: User) -> None:
    province = make_administration("PROVINCE-TEST", name_fr="Province de Test")
    found = Client().get("/api/v1/directory?q=Province de Test").json()
    assert [e["code"] for e in found] == ["PROVINCE-TEST"]
    api = bearer(clerk)
    response = api.post(
        f"/api/v1/administrations/{commune.code}/exchanges",
        {
            "recipient": province.code,
            "subject": "Demande d'avis",
            "documents": [SimpleUploadedFile("lettre.pdf", pdf_bytes(), content_type="application/pdf")],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["outgoing_number"].startswith("D-") and body["incoming_number"] is None
    services.envelopes_deliver()
    listed = api.get(f"/api/v1/administrations/{commune.code}/exchanges").json()
    assert listed[0]["status"] == "delivered" and listed[0]["incoming_number"] == f"A-{local_date(now()).year}-000001"
    assert listed[0]["acknowledgement_valid"] is True
    theirs = bearer(make_staff(province, Role.CLERK, "clerk@province.ma"))
    assert theirs.get(f"/api/v1/administrations/{province.code}/exchanges").json()[0]["id"] == body["id"]
    bad = api.post(f"/api/v1/administrations/{commune.code}/exchanges", {"recipient": "NOPE", "subject": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "recipient"
    assert Envelope.objects.count() == 1
