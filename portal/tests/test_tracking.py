"""The depositor follows their request: status, due date, letters, completion, attestation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.testing import clock_at
from documents import storage
from documents.samples import pdf_bytes
from registry.models import Correspondence, SealedDocument
from registry.services import Party
from tenancy.models import Administration, Service, User
from tenancy.testing import make_service
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_available
from workflow import services
from workflow.models import Case
from workflow.services import LetterText
from workflow.testing import make_procedure


@pytest.fixture
def urb(commune: Administration) -> Service:
    return make_service(commune, "URB")


def test_codes_in_parentheses_read_left_to_right_in_arabic(
    commune: Administration, citizen: User, urb: Service
) -> None:
    """A code in parentheses after an Arabic name ("(EC-COPIE-NAIS)") is isolated left to right:
    where the line breaks at its hyphen, the bare code would show "(-EC" on an Arabic page."""
    make_procedure(commune, code="EC-COPIE-NAIS", service=urb)
    client = Client()
    client.cookies["django_language"] = "ar"
    catalogue = client.get(f"/procedures/{commune.code}/").content.decode()
    assert '(<bdi dir="ltr">EC-COPIE-NAIS</bdi>)' in catalogue
    index = client.get("/procedures/").content.decode()
    assert f'(<bdi dir="ltr">{commune.code}</bdi>)' in index


def test_a_citizen_deposits_for_a_procedure_from_the_catalogue_and_sees_the_due_date(
    commune: Administration, citizen: User, urb: Service, signed_in: Callable[..., Client]
) -> None:
    make_procedure(commune, service=urb)
    client = signed_in(citizen)
    catalogue = client.get(f"/procedures/{commune.code}/").content.decode()
    assert "URB-PC" in catalogue and "ANCFCC" not in catalogue and "Conservation foncière" in catalogue
    form = client.get(f"/deposit/?to={commune.code}&procedure=URB-PC").content.decode()
    assert '<option value="URB-PC" selected' in form
    with clock_at("2026-03-02 10:00"):
        response = client.post(
            "/deposit/",
            {
                "recipient": commune.code,
                "procedure": "URB-PC",
                "subject": "طلب رخصة البناء",
                "attachments": SimpleUploadedFile("plan.pdf", pdf_bytes()),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    c = Correspondence.objects.get()
    page = client.get(f"/deposits/{c.pk}/").content.decode()
    assert "2026-04-01" in page and 'id="case-status"' in page


def _answered(commune: Administration, citizen: User, clerk: User, agent: User, urb: Service) -> Correspondence:
    from workflow.testing import deposit

    make_procedure(commune)
    c = deposit(commune, citizen, procedure="URB-PC").correspondence
    services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    return c


def test_the_citizen_completes_once_then_downloads_the_sealed_answer(
    commune: Administration, citizen: User, clerk: User, agent: User, urb: Service, signed_in: Callable[..., Client]
) -> None:
    c = _answered(commune, citizen, clerk, agent, urb)
    procedure = Case.objects.get(pk=c.pk).procedure
    assert procedure is not None
    document = procedure.documents.first()
    assert document is not None
    services.case_request_completion(actor=agent, case_id=c.pk, document_ids=[document.pk])
    client = signed_in(citizen)
    page = client.get(f"/deposits/{c.pk}/").content.decode()
    assert document.name_fr in page and f"/deposits/{c.pk}/complete/" in page
    empty = client.post(f"/deposits/{c.pk}/complete/", {"body": "ci-joint"})
    assert empty.status_code == 400 and Case.objects.get(pk=c.pk).status == "awaiting_completion"
    done = client.post(
        f"/deposits/{c.pk}/complete/", {"attachments": SimpleUploadedFile("plans.pdf", pdf_bytes(text="plans"))}
    )
    assert done.status_code == 302
    assert Case.objects.get(pk=c.pk).status == "in_progress"
    again = client.post(
        f"/deposits/{c.pk}/complete/", {"attachments": SimpleUploadedFile("b.pdf", pdf_bytes(text="b"))}
    )
    assert again.status_code == 400
    reply = services.case_reply(actor=agent, case_id=c.pk, text=LetterText(body_fr="Accord"))
    page = client.get(f"/deposits/{c.pk}/").content.decode()
    assert reply.outgoing.number in page
    pdf = client.get(f"/deposits/{c.pk}/letters/{reply.pk}.pdf")
    assert pdf.status_code == 200
    letter = pdf.getvalue()
    sealed = SealedDocument.objects.get(correspondence=reply.outgoing, kind=SealedDocument.Kind.LETTER)
    assert sealed.blob_id is not None
    assert letter == storage.read_bytes(sealed.blob_id)  # the sealed letter itself
    if pdfsig_available():
        assert_pdfsig_trusted(letter, ca_certificate_pem())


def test_silence_acceptance_gives_the_citizen_an_attestation(
    commune: Administration, citizen: User, signed_in: Callable[..., Client]
) -> None:
    from workflow.testing import deposit

    make_procedure(commune)
    with clock_at("2026-03-02 10:00"):
        c = deposit(commune, citizen, procedure="URB-PC").correspondence
    client = signed_in(citizen)
    with clock_at("2026-04-02 09:00"):
        page = client.get(f"/deposits/{c.pk}/").content.decode()
        assert f"/deposits/{c.pk}/attestation.pdf" in page
        response = client.post(f"/deposits/{c.pk}/attestation.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert SealedDocument.objects.filter(kind="attestation", correspondence=c).count() == 1


def test_counter_mail_is_followed_with_number_and_tracking_code(
    commune: Administration, clerk: User, client: Client
) -> None:
    from registry.models import Channel
    from workflow.services import request_register

    c = request_register(
        actor=clerk,
        administration=commune,
        channel=Channel.COUNTER,
        sender=Party(kind="person", name="Ahmed"),
        subject="Demande papier",
        body="Lettre reçue au guichet",
    ).correspondence
    # Only what the receipt prints: the number and the tracking code (typed without its dash).
    response = client.post("/track/", {"number": c.number, "code": c.tracking_code.replace("-", "").lower()})
    assert response.status_code == 302
    page = client.get("/track/request/").content.decode()
    assert c.number in page and 'id="case-status"' in page and 'id="due-on"' in page


def _counter_mail(administration: Administration, clerk: User) -> Correspondence:
    from registry.models import Channel
    from workflow.services import request_register

    return request_register(
        actor=clerk,
        administration=administration,
        channel=Channel.COUNTER,
        sender=Party(kind="person", name="Ahmed"),
        subject="Demande papier",
        body="Lettre reçue au guichet",
    ).correspondence


def test_the_same_number_in_two_administrations_is_told_apart_by_its_code(
    commune: Administration, clerk: User, elsewhere: Administration, outsider: User
) -> None:
    ours, theirs = _counter_mail(commune, clerk), _counter_mail(elsewhere, outsider)
    assert ours.number == theirs.number  # numbers are per administration
    for c in (ours, theirs):
        client = Client(headers={"accept-language": "fr"})
        assert client.post("/track/", {"number": c.number, "code": c.tracking_code}).status_code == 302
        page = client.get("/track/request/").content.decode()
        assert c.administration.name_fr in page
    french = Client(headers={"accept-language": "fr"})
    wrong = french.post("/track/", {"number": ours.number, "code": "ABCDE-FGHJK"})
    assert wrong.status_code == 400 and "Aucune demande ne correspond" in wrong.content.decode()
    assert Client().post("/track/", {"number": "A-2026-000002", "code": ours.tracking_code}).status_code == 400


def test_two_requests_with_the_same_number_and_code_ask_which_administration(
    commune: Administration, clerk: User, elsewhere: Administration, outsider: User
) -> None:
    ours, theirs = _counter_mail(commune, clerk), _counter_mail(elsewhere, outsider)
    Correspondence.objects.filter(pk=theirs.pk).update(tracking_code=ours.tracking_code)
    client = Client(headers={"accept-language": "fr"})
    asked = client.post("/track/", {"number": ours.number, "code": ours.tracking_code})
    page = asked.content.decode()
    assert asked.status_code == 400 and "choisissez celle de votre accusé de réception" in page
    assert f'value="{commune.code}"' in page and f'value="{elsewhere.code}"' in page
    assert client.get("/track/request/").status_code == 302  # nothing shown yet
    chosen = {"number": ours.number, "code": ours.tracking_code, "administration": elsewhere.code}
    assert client.post("/track/", chosen).status_code == 302
    assert elsewhere.name_fr in client.get("/track/request/").content.decode()


def test_codes_of_receipts_made_before_ten_symbols_still_work(commune: Administration, clerk: User) -> None:
    c = _counter_mail(commune, clerk)
    Correspondence.objects.filter(pk=c.pk).update(tracking_code="ABCD-EF23")
    client = Client()
    assert client.post("/track/", {"number": c.number, "code": "abcdef23"}).status_code == 302


def test_the_receipt_verification_page_leads_to_following_the_request(commune: Administration, clerk: User) -> None:
    from registry.models import Channel
    from registry.receipts import receipt_issue_registered
    from workflow.services import request_register

    registration = request_register(
        actor=clerk,
        administration=commune,
        channel=Channel.COUNTER,
        sender=Party(kind="person", name="Ahmed"),
        subject="Demande papier",
        body="Lettre reçue au guichet",
    )
    receipt_issue_registered(registration)
    c = registration.correspondence
    page = Client().get(f"/v/{c.receipt.token}").content.decode()
    assert f'href="/track/?number={c.number}"' in page
    form = Client().get(f"/track/?number={c.number}").content.decode()
    assert f'value="{c.number}"' in form


def test_reminders_and_news_reach_the_in_app_notifications(
    commune: Administration, citizen: User, clerk: User, urb: Service, signed_in: Callable[..., Client]
) -> None:
    from workflow.testing import deposit

    c = deposit(commune, citizen).correspondence
    services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    client = signed_in(citizen)
    page = client.get("/notifications/").content.decode()
    assert c.number in page and "unread" in page
    client.post("/notifications/")
    assert "card unread" not in client.get("/notifications/").content.decode()
    assert Client().get("/notifications/").status_code == 302


def test_a_refused_attestation_goes_back_to_the_request_never_to_the_referer(
    commune: Administration, citizen: User, clerk: User, client: Client, signed_in: Callable[..., Client]
) -> None:
    from registry.models import Channel
    from workflow.services import request_register
    from workflow.testing import deposit

    make_procedure(commune)
    with clock_at("2026-03-02 10:00"):
        c = deposit(commune, citizen, procedure="URB-PC").correspondence
    owner = signed_in(citizen)
    elsewhere = {"Referer": "https://attacker.example/phish"}
    with clock_at("2026-03-03 09:00"):  # The delay is far from over: refused.
        refused = owner.post(f"/deposits/{c.pk}/attestation.pdf", headers=elsewhere)
    assert refused.status_code == 302 and refused["Location"] == f"/deposits/{c.pk}/"
    assert not SealedDocument.objects.filter(kind="attestation").exists()
    counter = request_register(
        actor=clerk,
        administration=commune,
        channel=Channel.COUNTER,
        sender=Party(kind="person", name="Ahmed"),
        subject="Demande papier",
        body="Lettre reçue au guichet",
        procedure_code="URB-PC",
    ).correspondence
    client.post("/track/", {"number": counter.number, "code": counter.tracking_code})
    refused = client.post("/track/request/attestation.pdf", headers=elsewhere)
    assert refused.status_code == 302 and refused["Location"] == "/track/request/"
