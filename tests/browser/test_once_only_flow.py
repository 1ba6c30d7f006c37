"""Once-only documents in Chromium, in Arabic on a phone: the agent asks the land agency for the
ownership certificate from the file's page, opens the copy it sealed, and the citizen reads who
accessed their data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page
from pytest_django.live_server_helper import LiveServer

from exchange.models import DocumentRequest
from exchange.testing import certificate_hold, property_certificate
from tenancy.models import Membership
from tenancy.testing import make_administration, make_service, make_staff, make_user
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted
from workflow.catalogue import DocumentLine
from workflow.testing import deposit, make_procedure

from .test_deposit_flow import no_horizontal_scroll, shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role


def lines_of(element: Locator) -> int:
    """How many lines the text of ``element`` takes on the page."""
    return int(
        element.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); "
            "return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size }"
        )
    )


def test_the_agent_asks_the_holder_and_the_citizen_sees_the_access(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    land = make_administration("ANCFCC-DEMO", name_ar="الوكالة الوطنية للمحافظة العقارية", name_fr="ANCFCC")
    urb = make_service(commune, "URB", name_ar="مصلحة التعمير", name_fr="Service de l'urbanisme")
    agent = make_staff(commune, Role.AGENT, "agent@demo.ma", full_name="Salma Idrissi")
    Membership.objects.filter(user=agent).update(service=urb)
    land_admin = make_staff(land, Role.ADMIN, "admin@ancfcc.ma")
    certificate_hold(
        land_admin,
        property_certificate(land_admin, land),
        national_id="BK123456",
        person_name="أمينة العلوي",
        text="Certificat de propriété",
        issued_on=date(2026, 1, 15),
    )
    citizen = make_user("citizen@demo.ma", full_name="أمينة العلوي", national_id="BK123456")
    make_procedure(
        commune,
        service=urb,
        documents=[
            DocumentLine("التصاميم المعمارية", "Plans architecturaux"),
            DocumentLine("شهادة الملكية", "Certificat de propriété", "ANCFCC-DEMO", "ANCFCC", "CERT-PROP"),
        ],
    )
    c = deposit(commune, citizen, procedure="URB-PC", subject="طلب رخصة البناء").correspondence
    page = phone
    base = live_server.url

    sign_in(page, base, "agent@demo.ma")
    page.goto(f"{base}/desk/COMMUNE-DEMO/c/{c.pk}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.get_by_role("button", name="اطلبها من ANCFCC-DEMO").click()
    page.wait_for_load_state()
    copy_link = page.get_by_role("link", name="فتح النسخة المختومة")
    assert copy_link.is_visible()
    assert no_horizontal_scroll(page)
    # The register log's hash reads on two lines, in a row of its own, not a character a line.
    assert lines_of(page.locator("tr.phone-only .mono").first) == 2
    shot(page, "once-only-file-ar")
    request = DocumentRequest.objects.get()
    assert request.status == DocumentRequest.Status.DELIVERED
    with page.expect_download() as download:
        page.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; a.download = 'copy.pdf'; "
            "document.body.append(a); a.click(); }",
            copy_link.get_attribute("href"),
        )
    copy = tmp_path / "copy.pdf"
    download.value.save_as(copy)
    assert "ANCFCC-DEMO" in assert_pdfsig_trusted(copy.read_bytes(), ca_certificate_pem())

    page.goto(f"{base}/desk/COMMUNE-DEMO/documents/")
    sent = page.locator("section[aria-labelledby=sent] .badge")
    assert sent.count() == 1 and lines_of(sent.first) == 1  # the status badge, whole on one line

    sign_in(page, base, "citizen@demo.ma")
    page.goto(f"{base}/account/access-log/")
    entries = page.locator("ol.access-log li")
    assert entries.count() == 3  # asked, delivered, read
    text = page.locator("ol.access-log").inner_text()
    assert "الوكالة الوطنية للمحافظة العقارية" in text and "شهادة الملكية" in text and c.number in text
    assert no_horizontal_scroll(page)
    shot(page, "access-log-ar")
