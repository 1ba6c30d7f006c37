"""Once-only pages: from a file's page an agent asks the holder; the holder's agent answers on
the document requests page; the requester opens the sealed copy; the person reads every access in
their space; outsiders see and change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from exchange.models import AccessLogEntry, DocumentRequest, HeldDocument, ProvidedDocument
from exchange.tests.test_once_only import Holders, case, holders  # noqa: F401 (fixtures)
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_staff
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_available, sample_pdf
from workflow.models import Case

Role = Membership.Role


def test_ask_answer_by_hand_open_and_the_citizen_sees_it(
    commune: Administration,
    citizen: User,
    agent: User,
    holders: Holders,  # noqa: F811
    case: Case,  # noqa: F811
    signed_in: Callable[..., Client],
) -> None:
    page = signed_in(agent, "fr")
    file_url = f"/desk/{commune.code}/c/{case.pk}/"
    html = page.get(file_url).content.decode()
    assert "<h3>Documents détenus par d'autres administrations</h3>" in unescape(html)
    assert "Demander à DGI-TEST" in html and "Demander à ANCFCC-TEST" in html
    response = page.post(f"{file_url}held/ask/", {"document": "3"})
    assert response.status_code == 302
    asked = DocumentRequest.objects.get()
    assert asked.status == "pending"
    assert "Demander à DGI-TEST" not in page.get(file_url).content.decode()  # not twice while waiting
    # The tax office's agent answers with a new document, which it keeps.
    tax_agent = make_staff(holders["tax"], Role.AGENT, "agent@dgi.ma")
    holder_page = signed_in(tax_agent, "fr")
    listing = holder_page.get(f"/desk/{holders['tax'].code}/documents/").content.decode()
    assert "AB123456" in listing and "Attestation fiscale" in listing and commune.name_fr in listing
    prefix = f"r{asked.pk.hex[:8]}"
    answered = holder_page.post(
        f"/desk/{holders['tax'].code}/documents/deliver/",
        {
            "request": str(asked.pk),
            f"{prefix}-document": SimpleUploadedFile(
                "att.pdf", sample_pdf("Attestation"), content_type="application/pdf"
            ),
        },
    )
    assert answered.status_code == 302
    asked.refresh_from_db()
    assert asked.status == "delivered" and HeldDocument.objects.filter(national_id="AB123456").count() == 1
    copy = page.get(f"{file_url}held/{asked.pk}.pdf")
    assert copy.status_code == 200 and copy["Content-Type"] == "application/pdf"
    if pdfsig_available():  # the copy the holder sealed
        assert_pdfsig_trusted(copy.content, ca_certificate_pem())
    assert copy["Cache-Control"] == "private, no-store"
    # The person's space: the file says it was obtained; the log lists who, what, for which file.
    follow = signed_in(citizen, "fr").get(f"/deposits/{case.pk}/").content.decode()
    assert "Document obtenu auprès de l&#x27;administration qui le détient" in follow
    log = signed_in(citizen, "fr").get("/account/access-log/").content.decode()
    for text in (
        "Direction des impôts",
        "Attestation fiscale",
        "Autorisation de construire",
        case.correspondence.number,
    ):
        assert text in log
    assert tax_agent.full_name in log and "Lu un document vous concernant" in log
    arabic = signed_in(citizen, "ar").get("/account/access-log/").content.decode()
    assert "شهادة جبائية" in arabic and 'dir="rtl"' in arabic


def test_the_holder_declares_and_keeps_documents_and_refuses_with_a_reason(
    commune: Administration,
    agent: User,
    holders: Holders,  # noqa: F811
    case: Case,  # noqa: F811
    signed_in: Callable[..., Client],
) -> None:
    land, admin = holders["land"], holders["land_admin"]
    page = signed_in(admin, "fr")
    url = f"/desk/{land.code}/documents/"
    declared = page.post(
        f"{url}provided/",
        {
            "provided-code": "plan-cad",
            "provided-name_ar": "تصميم",
            "provided-name_fr": "Plan cadastral",
        },
    )
    assert declared.status_code == 302
    assert ProvidedDocument.objects.get(administration=land, code="PLAN-CAD").automatic is False
    refused = page.post(f"{url}held/", {"held-kind": "", "held-national_id": "AB1"})
    assert refused.status_code == 400 and not HeldDocument.objects.exists()
    kept = page.post(
        f"{url}held/",
        {
            "held-kind": str(land.provided_documents.get(code="CERT-PROP").pk),
            "held-national_id": "ab123456",
            "held-person_name": "Fatima",
            "held-issued_on": "2026-05-01",
            "held-document": SimpleUploadedFile("c.pdf", sample_pdf("Certificat"), content_type="application/pdf"),
        },
    )
    assert kept.status_code == 302 and HeldDocument.objects.get().national_id == "AB123456"
    # A manual request refused with its reason.
    signed_in(agent, "fr").post(f"/desk/{commune.code}/c/{case.pk}/held/ask/", {"document": "3"})
    asked = DocumentRequest.objects.get(status="pending")
    tax_page = signed_in(holders["tax_admin"], "fr")
    tax_page.post(
        f"/desk/{holders['tax'].code}/documents/refuse/",
        {"request": str(asked.pk), "refusal-reason": "Dossier en cours"},
    )
    asked.refresh_from_db()
    assert (asked.status, asked.reason) == ("refused", "Dossier en cours")
    assert "Dossier en cours" in signed_in(agent, "fr").get(f"/desk/{commune.code}/c/{case.pk}/").content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ar", "سبب الرفض: هذا الحقل مطلوب."), ("fr", "Motif du refus : Ce champ est obligatoire.")],
)
def test_an_error_of_a_form_of_the_documents_page_names_its_field_in_the_readers_language(
    commune: Administration,
    agent: User,
    holders: Holders,  # noqa: F811
    case: Case,  # noqa: F811
    signed_in: Callable[..., Client],
    language: str,
    expected: str,
) -> None:
    signed_in(agent).post(f"/desk/{commune.code}/c/{case.pk}/held/ask/", {"document": "3"})
    asked = DocumentRequest.objects.get(status="pending")
    page = signed_in(holders["tax_admin"], language)
    url = f"/desk/{holders['tax'].code}/documents/"
    page.post(f"{url}refuse/", {"request": str(asked.pk), "refusal-reason": ""})
    shown = re.findall(r'<p class="message [^"]*">(.*?)</p>', page.get(url).content.decode())
    assert [unescape(text).replace("\u00a0", " ") for text in shown] == [expected]


def test_outsiders_cannot_ask_answer_or_open(
    commune: Administration,
    citizen: User,
    agent: User,
    outsider: User,
    outsider_citizen: User,
    holders: Holders,  # noqa: F811
    case: Case,  # noqa: F811
    signed_in: Callable[..., Client],
) -> None:
    signed_in(agent, "fr").post(f"/desk/{commune.code}/c/{case.pk}/held/ask/", {"document": "3"})
    asked = DocumentRequest.objects.get()
    before = AccessLogEntry.objects.count()
    for user in (outsider, citizen):
        client = signed_in(user, "fr")
        assert client.post(f"/desk/{commune.code}/c/{case.pk}/held/ask/", {"document": "2"}).status_code == 404
        assert client.get(f"/desk/{commune.code}/c/{case.pk}/held/{asked.pk}.pdf").status_code == 404
        assert client.get(f"/desk/{holders['tax'].code}/documents/").status_code == 404
        denied = client.post(
            f"/desk/{holders['tax'].code}/documents/refuse/",
            {"request": str(asked.pk), "refusal-reason": "x"},
        )
        assert denied.status_code == 404
    # Staff of the land registry cannot answer the tax office's request through their own page.
    land_page = signed_in(holders["land_admin"], "fr")
    land_page.post(
        f"/desk/{holders['land'].code}/documents/refuse/",
        {"request": str(asked.pk), "refusal-reason": "x"},
    )
    assert DocumentRequest.objects.get().status == "pending" and AccessLogEntry.objects.count() == before
    assert "Direction des impôts" not in signed_in(outsider_citizen, "fr").get("/account/access-log/").content.decode()
    assert Client().get("/account/access-log/").status_code == 302  # sign in first
