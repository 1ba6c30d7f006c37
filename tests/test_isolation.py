"""Tenant isolation beyond the routes: what the lists and searches show, confidential mail,
uploads, tracking codes.

That every route refuses whoever may not reach it (an outsider is a citizen who did not deposit
the correspondence, or staff, with every role, of another administration) is the generated test
of tests/test_routes.py, one line per route in tests/routes.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django import Settings

from api.testing import bearer
from documents.samples import pdf_bytes
from registry.models import Channel, Correspondence, Direction, Receipt
from registry.services import Party, correspondence_register
from registry.testing import counter_mail
from tenancy.models import Administration, Membership, User


@pytest.fixture
def deposited(commune: Administration, citizen: User) -> Correspondence:
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

    assert registration.receipt is not None

    receipt_issue(receipt_id=registration.receipt.pk)
    return registration.correspondence


def test_another_citizen_does_not_find_a_deposit_in_their_list(
    deposited: Correspondence, outsider_citizen: User, outsider: User, signed_in: Callable[..., Client]
) -> None:
    # Each route refuses them (tests/test_routes.py); the lists they do open leave it out.
    for user in (outsider_citizen, outsider):
        assert deposited.number not in signed_in(user).get("/deposits/").content.decode()
        assert bearer(user).get("/api/v1/deposits").json() == []


def test_an_auditor_reads_the_register_but_cannot_register(
    deposited: Correspondence, auditor: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(auditor)
    code = deposited.administration.code
    assert client.get(f"/desk/{code}/").status_code == 200
    assert client.get(f"/desk/{code}/c/{deposited.pk}/").status_code == 200
    assert client.get(f"/desk/{code}/register/new/").status_code == 404
    assert client.get(f"/desk/{code}/staff/").status_code == 404


def test_confidential_mail_is_hidden_from_agents(
    commune: Administration, clerk: User, agent: User, signed_in: Callable[..., Client]
) -> None:
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


def test_public_verification_hides_the_subject_of_confidential_mail(
    commune: Administration, clerk: User, client: Client
) -> None:
    from registry.receipts import receipt_issue

    correspondence = counter_mail(commune, clerk, "Secret subject", confidential=True)
    token = receipt_issue(receipt_id=Receipt.objects.get(correspondence=correspondence).pk).token
    assert "Secret subject" not in client.get(f"/v/{token}").content.decode()
    assert client.get(f"/api/v1/verify/{token}").json()["subject"] is None


def test_uploads_to_desk_are_refused_to_outsiders_and_register_nothing(
    commune: Administration, outsider: User, signed_in: Callable[..., Client]
) -> None:
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
def request_case(commune: Administration, citizen: User) -> Correspondence:
    from workflow.testing import deposit, make_procedure

    make_procedure(commune)
    return deposit(commune, citizen, procedure="URB-PC").correspondence


def test_an_auditor_reads_the_inbox_but_cannot_act(
    request_case: Correspondence, auditor: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(auditor)
    assert client.get(f"/desk/{commune.code}/inbox/?box=to_assign").status_code == 200
    api = bearer(auditor)
    response = api.post(f"/api/v1/cases/{request_case.pk}/assign", {"service": "SG"}, content_type="application/json")
    assert response.status_code == 403


def test_tracking_needs_the_exact_code_and_is_rate_limited(
    request_case: Correspondence, client: Client, settings: Settings
) -> None:
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


def test_a_service_of_another_administration_opens_no_inbox(
    request_case: Correspondence,
    outsider: User,
    elsewhere: Administration,
    commune: Administration,
    signed_in: Callable[..., Client],
) -> None:
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

    from tenancy.access import scope_of
    from workflow import selectors as wf

    scope = scope_of(outsider, elsewhere)
    day = date(2026, 1, 1)
    assert not wf.inbox(scope, "in_progress", today=day, soon=day, service_id=ours.pk).exists()
    assert wf.box_counts(scope, today=day, soon=day, service_id=ours.pk)["in_progress"] == 0


def signed_in_user(commune: Administration) -> User:
    from tenancy.testing import make_staff

    return make_staff(commune, Membership.Role.CLERK, "clerk.iso@commune.ma")
