"""Tenant isolation: outsiders are denied every page and endpoint that touches data not theirs.

An outsider is a citizen who did not deposit the correspondence, or staff (with every role)
of another administration. Denials are 404s (or a redirect to sign in for anonymous
visitors), so nobody can even learn what exists.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from api.testing import bearer
from documents.samples import pdf_bytes
from registry.models import Channel, Direction, Receipt
from registry.services import Party, correspondence_register
from registry.testing import counter_mail
from tenancy.models import Membership, Service


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def deposited(commune, citizen):
    from documents.intake import bytes_upload, check_files

    registration = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject="طلب خاص",
        files=check_files([bytes_upload(pdf_bytes(), "piece.pdf")]),
    )
    from registry.receipts import receipt_issue

    receipt_issue(receipt_id=registration.receipt.pk)
    return registration.correspondence


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_pages(code: str, pk: int, membership_id: int) -> list[tuple[str, str]]:
    service = Service.objects.get(administration__code=code, code="SG")
    return [
        ("get", f"/desk/{code}/"),
        ("get", f"/desk/{code}/register/new/"),
        ("post", f"/desk/{code}/register/new/"),
        ("get", f"/desk/{code}/c/{pk}/"),
        ("get", f"/desk/{code}/c/{pk}/receipt.pdf"),
        ("get", f"/desk/{code}/c/{pk}/files/1"),
        ("get", f"/desk/{code}/log/"),
        ("post", f"/desk/{code}/log/"),
        ("get", f"/desk/{code}/search/?q=%D8%B1%D8%AE%D8%B5%D8%A9"),
        ("get", f"/desk/{code}/register/batch/"),
        ("post", f"/desk/{code}/register/batch/"),
        ("get", f"/desk/{code}/register/batch/done/?ids={pk}"),
        ("get", f"/desk/{code}/c/{pk}/files/1/searchable.pdf"),
        ("get", f"/desk/{code}/register/import/"),
        ("post", f"/desk/{code}/register/import/"),
        ("get", f"/desk/{code}/register/import/1/"),
        ("post", f"/desk/{code}/register/import/1/confirm/"),
        ("get", f"/desk/{code}/services/"),
        ("post", f"/desk/{code}/services/"),
        ("get", f"/desk/{code}/services/{service.pk}/"),
        ("post", f"/desk/{code}/services/{service.pk}/"),
        ("get", f"/desk/{code}/procedures/starter/"),
        ("post", f"/desk/{code}/procedures/starter/"),
        ("get", f"/desk/{code}/staff/"),
        ("post", f"/desk/{code}/staff/"),
        ("post", f"/desk/{code}/staff/{membership_id}/revoke/"),
    ]


def test_staff_of_another_administration_is_denied_every_desk_page(deposited, outsider, commune_admin, elsewhere):
    client = signed_in(outsider)
    membership = Membership.objects.get(user=commune_admin)
    for method, url in staff_pages(deposited.administration.code, deposited.pk, membership.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    # Its own administration's code does not open our records either.
    for url in (f"/desk/{elsewhere.code}/c/{deposited.pk}/", f"/desk/{elsewhere.code}/c/{deposited.pk}/files/1"):
        assert client.get(url).status_code == 404, url
    assert Membership.objects.filter(pk=membership.pk, is_active=True).exists()


def test_a_citizen_is_denied_every_desk_page(deposited, citizen, commune_admin):
    client = signed_in(citizen)
    membership = Membership.objects.get(user=commune_admin)
    for method, url in staff_pages(deposited.administration.code, deposited.pk, membership.pk):
        assert getattr(client, method)(url).status_code == 404, (method, url)


def test_anonymous_visitors_are_sent_to_sign_in(deposited, commune_admin):
    client = Client()
    membership = Membership.objects.get(user=commune_admin)
    pages = [
        *staff_pages(deposited.administration.code, deposited.pk, membership.pk),
        ("get", f"/deposits/{deposited.pk}/"),
        ("get", f"/deposits/{deposited.pk}/receipt.pdf"),
        ("get", "/deposits/"),
        ("get", "/deposit/"),
    ]
    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], (method, url)


def test_another_citizen_cannot_see_a_deposit(deposited, outsider_citizen, outsider):
    for user in (outsider_citizen, outsider):
        page = signed_in(user)
        assert page.get(f"/deposits/{deposited.pk}/").status_code == 404
        assert page.get(f"/deposits/{deposited.pk}/receipt.pdf").status_code == 404
        assert deposited.number not in page.get("/deposits/").content.decode()
        api = bearer(user)
        assert api.get(f"/api/v1/deposits/{deposited.pk}").status_code == 404
        assert api.get(f"/api/v1/deposits/{deposited.pk}/receipt").status_code == 404
        assert api.get("/api/v1/deposits").json() == []


def test_the_api_requires_a_token_for_personal_data(deposited):
    client = Client()
    for url in ("/api/v1/deposits", f"/api/v1/deposits/{deposited.pk}", f"/api/v1/deposits/{deposited.pk}/receipt"):
        assert client.get(url).status_code == 401, url
    response = client.post("/api/v1/deposits", {"recipient": "COMMUNE-TEST", "subject": "x"})
    assert response.status_code == 401


def test_an_auditor_reads_the_register_but_cannot_register(deposited, auditor):
    client = signed_in(auditor)
    code = deposited.administration.code
    assert client.get(f"/desk/{code}/").status_code == 200
    assert client.get(f"/desk/{code}/c/{deposited.pk}/").status_code == 200
    assert client.get(f"/desk/{code}/register/new/").status_code == 404
    assert client.get(f"/desk/{code}/staff/").status_code == 404


def test_confidential_mail_is_hidden_from_agents(commune, clerk, agent):
    confidential = correspondence_register(
        actor=clerk,
        administration=commune,
        direction=Direction.INCOMING,
        channel=Channel.COUNTER,
        sender=Party(kind="person", name="Informateur"),
        subject="Signalement confidentiel",
        body="Texte du signalement",
        confidential=True,
    ).correspondence
    agent_client = signed_in(agent)
    assert agent_client.get(f"/desk/{commune.code}/c/{confidential.pk}/").status_code == 404
    assert "Signalement confidentiel" not in agent_client.get(f"/desk/{commune.code}/").content.decode()
    assert signed_in(clerk).get(f"/desk/{commune.code}/c/{confidential.pk}/").status_code == 200


def test_public_verification_hides_the_subject_of_confidential_mail(commune, clerk, client):
    from registry.receipts import receipt_issue

    correspondence = counter_mail(commune, clerk, "Secret subject", confidential=True)
    token = receipt_issue(receipt_id=Receipt.objects.get(correspondence=correspondence).pk).token
    assert "Secret subject" not in client.get(f"/v/{token}").content.decode()
    assert client.get(f"/api/v1/verify/{token}").json()["subject"] is None


def test_uploads_to_desk_are_refused_to_outsiders_and_register_nothing(commune, outsider):
    client = signed_in(outsider)
    response = client.post(
        f"/desk/{commune.code}/register/new/",
        {"sender_name": "x", "subject": "y", "attachments": SimpleUploadedFile("a.pdf", pdf_bytes())},
    )
    assert response.status_code == 404
    from registry.models import Correspondence

    assert not Correspondence.objects.exists()


# ---------------------------------------------------------------- processing desk


@pytest.fixture
def request_case(commune, citizen):
    from workflow.testing import deposit, make_procedure

    make_procedure(commune)
    return deposit(commune, citizen, procedure="URB-PC").correspondence


def desk_processing_pages(code: str, pk: int) -> list[tuple[str, str]]:
    return [
        ("get", f"/desk/{code}/inbox/"),
        ("post", f"/desk/{code}/inbox/assign/"),
        ("get", f"/desk/{code}/notes/new/"),
        ("post", f"/desk/{code}/notes/new/"),
        ("post", f"/desk/{code}/c/{pk}/act/assign/"),
        ("post", f"/desk/{code}/c/{pk}/act/send_back/"),
        ("post", f"/desk/{code}/c/{pk}/act/assign_agent/"),
        ("post", f"/desk/{code}/c/{pk}/act/start/"),
        ("post", f"/desk/{code}/c/{pk}/act/request_completion/"),
        ("post", f"/desk/{code}/c/{pk}/act/close/"),
        ("post", f"/desk/{code}/c/{pk}/act/note/"),
        ("get", f"/desk/{code}/c/{pk}/reply/"),
        ("post", f"/desk/{code}/c/{pk}/reply/"),
        ("get", f"/desk/{code}/c/{pk}/sealed/x.pdf"),
        ("get", f"/desk/{code}/procedures/"),
        ("get", f"/desk/{code}/procedures/new/"),
        ("post", f"/desk/{code}/procedures/new/"),
        ("get", f"/desk/{code}/calendar/"),
        ("post", f"/desk/{code}/calendar/"),
        ("get", f"/desk/{code}/routing/"),
        ("post", f"/desk/{code}/routing/"),
        ("get", f"/desk/{code}/letters/"),
        ("post", f"/desk/{code}/letters/"),
        ("get", f"/desk/{code}/exchanges/"),
        ("post", f"/desk/{code}/exchanges/"),
        ("get", f"/desk/{code}/directory/"),
        ("get", f"/desk/{code}/documents/"),
        ("post", f"/desk/{code}/documents/"),
        ("post", f"/desk/{code}/c/{pk}/held/ask/"),
        ("get", f"/desk/{code}/c/{pk}/held/00000000-0000-0000-0000-000000000000.pdf"),
    ]


def test_outsiders_are_denied_every_processing_page_and_change_nothing(
    request_case, outsider, citizen, outsider_citizen
):
    from workflow.models import Case, CaseEvent, Procedure

    code = request_case.administration.code
    procedure = Procedure.objects.get(administration=request_case.administration)
    pages = [
        *desk_processing_pages(code, request_case.pk),
        ("get", f"/desk/{code}/procedures/{procedure.pk}/"),
        ("post", f"/desk/{code}/procedures/{procedure.pk}/"),
    ]
    events = CaseEvent.objects.count()
    for user in (outsider, citizen):
        client = signed_in(user)
        for method, url in pages:
            response = getattr(client, method)(url, {"assign-service": "1", "cases": [request_case.pk]})
            assert response.status_code == 404, (user, method, url, response.status_code)
    case = Case.objects.get(pk=request_case.pk)
    assert case.status == "registered" and CaseEvent.objects.count() == events
    # The depositor's own pages stay closed to another citizen.
    other = signed_in(outsider_citizen)
    for method, url in (
        ("get", f"/deposits/{request_case.pk}/complete/"),
        ("post", f"/deposits/{request_case.pk}/complete/"),
        ("get", f"/deposits/{request_case.pk}/letters/1.pdf"),
        ("post", f"/deposits/{request_case.pk}/attestation.pdf"),
    ):
        assert getattr(other, method)(url).status_code == 404, (method, url)


def test_outsiders_are_denied_every_processing_endpoint(request_case, outsider, outsider_citizen, commune):
    from workflow.models import Case

    code = commune.code
    pk = request_case.pk
    for user in (outsider, outsider_citizen):
        api = bearer(user)
        assert api.get(f"/api/v1/administrations/{code}/cases").status_code == 404
        assert api.get(f"/api/v1/cases/{pk}").status_code == 404
        assert api.get(f"/api/v1/cases/{pk}/letters/1").status_code == 404
        assert api.get(f"/api/v1/deposits/{pk}/letters/1").status_code == 404
        for action, body in (
            ("assign", {"service": "SG"}),
            ("send-back", {"reason": "x"}),
            ("assign-agent", {"agent": "agent@commune.ma"}),
            ("start", {}),
            ("request-completion", {"documents": ["1"]}),
            ("reply", {"body_fr": "x"}),
            ("close", {}),
            ("notes", {"text": "x"}),
        ):
            response = api.post(f"/api/v1/cases/{pk}/{action}", body, content_type="application/json")
            assert response.status_code == 404, (user, action, response.status_code)
    assert Case.objects.get(pk=pk).status == "registered"
    anonymous = Client()
    assert anonymous.get(f"/api/v1/cases/{pk}").status_code == 401
    # The catalogue is public.
    assert anonymous.get(f"/api/v1/administrations/{code}/procedures").status_code == 200


def test_staff_of_the_administration_without_the_role_cannot_edit_the_catalogue(request_case, clerk, agent, auditor):
    code = request_case.administration.code
    for user in (clerk, agent, auditor):
        client = signed_in(user)
        assert client.get(f"/desk/{code}/procedures/").status_code == 200
        for url in (f"/desk/{code}/procedures/new/", f"/desk/{code}/routing/", f"/desk/{code}/letters/"):
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(f"/desk/{code}/calendar/", {"day": "2026-12-01", "is_working": "0"}).status_code == 404


def test_an_auditor_reads_the_inbox_but_cannot_act(request_case, auditor, commune):
    client = signed_in(auditor)
    assert client.get(f"/desk/{commune.code}/inbox/?box=to_assign").status_code == 200
    api = bearer(auditor)
    response = api.post(f"/api/v1/cases/{request_case.pk}/assign", {"service": "SG"}, content_type="application/json")
    assert response.status_code == 403


def test_tracking_needs_the_exact_code_and_is_rate_limited(request_case, client, settings):
    settings.RATE_TRACK = (3, 3600)
    wrong = {"number": request_case.number, "code": "AAAAA-AAAAA"}
    assert client.post("/track/", wrong).status_code == 400
    assert client.get("/track/request/").status_code == 302
    assert client.get("/track/request/receipt.pdf").status_code == 404
    right = {"number": request_case.number, "code": request_case.tracking_code.lower()}
    assert client.post("/track/", right).status_code == 302
    page = client.get("/track/request/").content.decode()
    assert request_case.number in page
    client.post("/track/", wrong)
    assert client.post("/track/", right).status_code == 429


def test_a_service_of_another_administration_opens_no_inbox(request_case, outsider, elsewhere, commune):
    from tenancy.testing import make_service
    from workflow import services as workflow_services

    ours = make_service(commune, "URB")
    workflow_services.case_assign(actor=signed_in_user(commune), case_id=request_case.pk, service=ours)
    page = signed_in(outsider).get(f"/desk/{elsewhere.code}/inbox/?box=in_progress&service={ours.pk}")
    assert page.status_code == 200 and request_case.number not in page.content.decode()
    api = bearer(outsider)
    assert api.get(f"/api/v1/administrations/{elsewhere.code}/cases?box=in_progress&service=URB").status_code == 404
    # The selector itself refuses a service of another administration, whoever calls it.
    from datetime import date

    from workflow import selectors as wf
    from workflow.access import scope_of

    scope = scope_of(outsider, elsewhere)
    day = date(2026, 1, 1)
    assert not wf.inbox(scope, "in_progress", today=day, soon=day, service_id=ours.pk).exists()
    assert wf.box_counts(scope, today=day, soon=day, service_id=ours.pk)["in_progress"] == 0


def signed_in_user(commune):
    from tenancy.testing import make_staff

    return make_staff(commune, Membership.Role.CLERK, "clerk.iso@commune.ma")
