"""Born-digital PDFs in search, in Chromium: a letter printed from a browser in Arabic and a
bilingual one made with Typst are registered, the worker reads them, and the clerk finds them by
their words, the passage shown reading as written: in Arabic on a 360 px phone, in French on a
desktop screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page
from pytest_django.live_server_helper import LiveServer

from documents.intake import bytes_upload, check_files
from documents.text_layers import text_layers_make
from registry.testing import counter_mail
from search.services import index_sync
from tenancy.models import Membership
from tenancy.testing import make_administration, make_staff

from .test_deposit_flow import no_horizontal_scroll, shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role
PDFS = Path(__file__).resolve().parents[2] / "search" / "tests" / "pdfs"


def searched(page: Page, base: str, query: str, button: str) -> Locator:
    page.goto(f"{base}/desk/COMMUNE-DEMO/search/")
    page.locator("#id_q").fill(query)
    page.get_by_role("button", name=button).first.click()
    page.wait_for_load_state()
    return page.locator(".search-results li")


def test_words_of_pdfs_are_found_and_their_passages_read_as_written(browser: Browser, live_server: LiveServer) -> None:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    clerk = make_staff(commune, Role.CLERK, "clerk@demo.ma", full_name="Karim Bennani")
    for name, subject in (
        ("chromium-hospital.pdf", "مراسلة واردة من المستشفى"),
        ("typst-bilingual.pdf", "Demande d'éclairage public"),
    ):
        files = check_files([bytes_upload((PDFS / name).read_bytes(), name)])
        counter_mail(commune, clerk, subject, files=files)
    index_sync()
    assert text_layers_make() == 2
    index_sync()
    base = live_server.url

    phone = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, locale="ar-MA")
    page = phone.new_page()
    sign_in(page, base, "clerk@demo.ma")
    results = searched(page, base, "الحسن", "بحث")
    assert results.count() == 1
    snippet = results.first.locator(".search-snippet")
    assert "بمستشفى الحسن الثاني" in snippet.inner_text()
    assert snippet.locator("mark").first.inner_text() == "الحسن"
    assert no_horizontal_scroll(page)
    shot(page, "search-pdf-ar-360")
    phone.close()

    desktop = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-MA")
    page = desktop.new_page()
    sign_in(page, base, "clerk@demo.ma")
    results = searched(page, base, "Mohammadi eclairage", "Rechercher")
    assert results.count() == 1
    assert results.first.locator(".search-snippet").get_attribute("dir") == "ltr"
    shown = results.first.locator(".search-snippet").inner_text()
    assert "quartier Hay Mohammadi (حي المحمدي)" in " ".join(shown.split())
    shot(page, "search-pdf-fr-desktop")
    results = searched(page, base, "A-2026-000123 بتاريخ", "Rechercher")
    # The passage starts on the last French word of the title, then reads right to left.
    assert results.first.locator(".search-snippet").get_attribute("dir") == "rtl"
    assert "رقم A-2026-000123 بتاريخ 12/03/2026" in " ".join(
        results.first.locator(".search-snippet").inner_text().split()
    )
    shot(page, "search-pdf-mixed-fr-desktop")
    desktop.close()
