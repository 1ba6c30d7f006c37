"""Paper mail in Chromium, in Arabic on a phone: the clerk registers a batch of scanned letters
(the page's script sends them one by one, a progress bar moving, each row getting its number),
the worker reads their text, and the clerk finds one by a word typed without its hamza."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from documents.samples import pdf_bytes, scanned_letter
from documents.text_layers import ocr_available, text_layers_make
from registry.models import Correspondence
from search.services import index_sync
from tenancy.models import Membership
from tenancy.testing import make_administration, make_service, make_staff

from .test_deposit_flow import no_horizontal_scroll, shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role


def test_a_clerk_registers_a_batch_of_scans_then_finds_a_letter_by_a_word(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    make_service(commune, "URB", name_ar="مصلحة التعمير", name_fr="Service de l'urbanisme")
    make_staff(commune, Role.CLERK, "clerk@demo.ma", full_name="Karim Bennani")
    scan = tmp_path / "scan-1.pdf"
    scan.write_bytes(scanned_letter(dpi=150) if ocr_available() else pdf_bytes())
    other = tmp_path / "scan-2.pdf"
    other.write_bytes(pdf_bytes(pages=2))
    page = phone
    base = live_server.url

    sign_in(page, base, "clerk@demo.ma")
    page.goto(f"{base}/desk/COMMUNE-DEMO/register/batch/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    rows = page.locator("[data-letter]")
    rows.nth(0).locator("input[name$='-sender_name']").fill("أحمد العلوي")
    rows.nth(0).locator("input[name$='-subject']").fill("طلب شهادة السكنى بالحي الإداري")
    rows.nth(0).locator("input[type=file]").set_input_files(str(scan))
    rows.nth(1).locator("input[name$='-sender_name']").fill("Salma Idrissi")
    rows.nth(1).locator("input[name$='-subject']").fill("Demande de raccordement")
    rows.nth(1).locator("input[type=file]").set_input_files(str(other))
    rows.nth(2).locator("input[name$='-sender_name']").fill("بدون ملف")  # a row without its scan
    page.get_by_role("button", name="تسجيل المراسلات").click()
    # The last answer: the row without its scan says what is missing; the label, how many went.
    rows.nth(2).locator(".error").first.wait_for()
    page.locator(".batch-label").filter(has_text="صححوها").wait_for()
    letters = list(Correspondence.objects.order_by("pk"))
    assert len(letters) == 2
    assert rows.nth(0).locator(".batch-result a").inner_text() == letters[0].number
    assert rows.nth(1).locator(".batch-result a").inner_text() == letters[1].number
    assert page.locator(".batch-progress progress").get_attribute("value") == "3"
    assert no_horizontal_scroll(page)
    shot(page, "counter-batch-ar")

    page.get_by_role("link", name="عرض المراسلات والتعرف على نصها").click()
    page.wait_for_load_state()
    assert letters[0].number in page.content() and letters[1].number in page.content()

    # The worker: index the letters, read (or recognise) their text, index it.
    index_sync()
    text_layers_make()
    index_sync()
    page.goto(f"{base}/desk/COMMUNE-DEMO/search/")
    page.locator("#id_q").fill("الاداري")  # typed without the hamza
    page.get_by_role("button", name="بحث").first.click()
    page.wait_for_load_state()
    results = page.locator(".search-results li")
    assert results.count() == 1
    assert results.first.locator("mark").first.inner_text() == "الإداري"
    assert no_horizontal_scroll(page)
    shot(page, "search-ar")
    if ocr_available():
        page.locator("#id_q").fill("residence")  # a French word of the scan, without its accent
        page.get_by_role("button", name="بحث").first.click()
        page.wait_for_load_state()
        assert page.locator(".search-results li").count() == 1
        assert "résidence" in page.locator(".search-snippet").first.inner_text()
