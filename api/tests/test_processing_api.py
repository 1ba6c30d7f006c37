"""The processing desk through the API: catalogue, deposit terms, staff actions, the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from api.testing import bearer
from core.clock import now
from core.testing import clock_at
from documents.samples import pdf_bytes
from registry.models import Correspondence
from tenancy.models import Administration, Service, User
from tenancy.testing import make_service
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted
from workflow.calendar import local_date
from workflow.models import Case, Procedure
from workflow.testing import make_procedure

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


@pytest.fixture
def urb(commune: Administration) -> Service:
    return make_service(commune, "URB")


@pytest.fixture
def procedure(commune: Administration, urb: Service) -> Procedure:
    return make_procedure(commune, delay_days=20, delay_kind="working", service=urb)


def test_the_catalogue_is_public(client: Client, commune: Administration, procedure: Procedure) -> None:
    body = client.get(f"/api/v1/administrations/{commune.code}/procedures").json()
    assert [p["code"] for p in body] == ["URB-PC"]
    entry = body[0]
    assert (entry["max_delay_days"], entry["delay_kind"], entry["silence_rule"]) == (20, "working", "acceptance")
    assert [d["held_by"] for d in entry["required_documents"]] == [None, None, "ANCFCC"]
    assert client.get("/api/v1/administrations/NOPE/procedures").status_code == 404


def deposit(api: Client, **fields: str) -> Response:
    data: dict[str, object] = {"recipient": "COMMUNE-TEST", "subject": "طلب رخصة البناء", **fields}
    data["attachments"] = [SimpleUploadedFile("a.pdf", pdf_bytes(text=str(fields)))]
    return api.post("/api/v1/deposits", data)


def test_a_deposit_naming_a_procedure_reports_its_status_and_due_date(
    commune: Administration, citizen: User, procedure: Procedure
) -> None:
    with clock_at("2026-12-28 10:00"):  # 20 working days, across 1, 11 and 14 January 2027 → 2027-01-28
        api = bearer(citizen)
        response = deposit(api, procedure="URB-PC")
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["status"], body["procedure"], body["due_on"]) == ("assigned", "URB-PC", "2027-01-28")
        assert body["reply"] is None
        assert api.get(f"/api/v1/deposits/{body['id']}").json()["due_on"] == "2027-01-28"


def test_an_unknown_procedure_is_a_field_error_and_registers_nothing(
    commune: Administration, citizen: User, procedure: Procedure
) -> None:
    response = deposit(bearer(citizen), procedure="NOPE")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "procedure"
    assert not Correspondence.objects.exists()


def test_staff_answer_through_the_api_and_the_depositor_gets_the_sealed_letter(
    commune: Administration, citizen: User, clerk: User, agent: User, procedure: Procedure
) -> None:
    body = deposit(bearer(citizen), procedure="URB-PC").json()
    staff = bearer(agent)
    case_id = body["id"]
    inbox = bearer(clerk).get(f"/api/v1/administrations/{commune.code}/cases?box=in_progress").json()
    assert inbox["total"] == 1 and inbox["counts"]["in_progress"] == 1
    assert staff.post(f"/api/v1/cases/{case_id}/start").json()["status"] == "in_progress"
    refused = staff.post(
        f"/api/v1/cases/{case_id}/request-completion",
        {"documents": ["Certificat de propriété"]},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "document_held_elsewhere"
    answered = staff.post(
        f"/api/v1/cases/{case_id}/reply", {"body_fr": "Accord.", "body_ar": "موافقة."}, content_type="application/json"
    )
    assert answered.status_code == 200, answered.content
    again = staff.post(f"/api/v1/cases/{case_id}/reply", {"body_fr": "x"}, content_type="application/json")
    assert again.status_code == 409
    mine = bearer(citizen).get(f"/api/v1/deposits/{case_id}").json()
    assert mine["status"] == "answered" and mine["reply"]["registration_number"] == f"D-{local_date(now()).year}-000001"
    pdf = bearer(citizen).get(mine["reply"]["pdf_url"])
    assert pdf.status_code == 200
    letter = pdf.getvalue()
    report = assert_pdfsig_trusted(letter, ca_certificate_pem())
    assert "Signer Certificate Common Name: COMMUNE-TEST seal" in report  # sealed by the commune
    assert "Total document signed" in report  # nothing added after the seal
    checked = Client().post("/api/v1/verify", {"file": SimpleUploadedFile("reply.pdf", letter)}).json()
    assert (checked["valid"], checked["registration_number"]) == (True, mine["reply"]["registration_number"])
    assert Case.objects.get(pk=case_id).status == "answered"


def test_the_case_list_pages_in_a_fixed_number_of_queries(
    commune: Administration,
    citizen: User,
    clerk: User,
    procedure: Procedure,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    from workflow.testing import deposit as deposit_request

    api = bearer(clerk)
    url = f"/api/v1/administrations/{commune.code}/cases?box=in_progress&service=urb&limit=2"
    for i in range(2):
        deposit_request(commune, citizen, procedure="URB-PC", subject=f"طلب {i}")
    api.get(url)
    # session-less bearer: the token, the memberships, the services, the calendar, the counts,
    # the page's keys, its cases with what they name, and each case's silence date needs nothing more
    with django_assert_max_num_queries(9):
        first = api.get(url).json()
    for i in range(4):
        deposit_request(commune, citizen, procedure="URB-PC", subject=f"آخر {i}")
    with django_assert_max_num_queries(9):
        body = api.get(url + "&offset=2").json()
    assert first["total"] == 2 and body["total"] == 6 and body["counts"]["in_progress"] == 6
    assert len(body["results"]) == 2 and {r["service"] for r in body["results"]} == {"URB"}
    everything = api.get(f"/api/v1/administrations/{commune.code}/cases?box=in_progress&limit=200").json()
    assert [r["id"] for r in everything["results"]][2:4] == [r["id"] for r in body["results"]]
    assert api.get(f"/api/v1/administrations/{commune.code}/cases?service=NOPE").status_code == 404
