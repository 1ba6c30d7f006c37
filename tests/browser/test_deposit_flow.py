"""The Arabic deposit flow, end to end, in Chromium on a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from documents.samples import pdf_bytes
from documents.testing import qr_urls_in_pdf
from registry.models import Correspondence, Receipt
from tenancy.testing import PASSWORD, make_administration, make_user
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$|/deposits/"))


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")


def test_a_citizen_deposits_in_arabic_downloads_the_receipt_and_verifies_it(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    make_user("citizen@demo.ma", full_name="أمينة العلوي", national_id="BK123456")
    letter = tmp_path / "طلب.pdf"
    letter.write_bytes(pdf_bytes(pages=2, pad_to=150_000))
    page = phone

    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    sign_in(page, live_server.url, "citizen@demo.ma")

    page.goto(f"{live_server.url}/deposit/")
    page.locator("#id_recipient").select_option("COMMUNE-DEMO")
    page.locator("#id_subject").fill("طلب رخصة الربط بشبكة الماء الصالح للشرب")
    page.locator("#id_body").fill("السيد رئيس المجلس الجماعي المحترم، يشرفني أن أتقدم إليكم بطلب الربط.")
    page.locator("#id_attachments").set_input_files(str(letter))
    assert "طلب.pdf" in page.locator(".files-list").inner_text()
    assert no_horizontal_scroll(page)
    shot(page, "deposit-form-ar")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/deposits/\d+/$"))

    correspondence = Correspondence.objects.get()
    assert correspondence.number in page.locator("h1").inner_text()
    assert correspondence.attachments.get().filename == "طلب.pdf"
    assert no_horizontal_scroll(page)
    shot(page, "deposit-done-ar")
    # The narrowest phones: the verification link wraps instead of widening the page, even when
    # its token has no dash to break at.
    receipt = correspondence.receipt
    Receipt.objects.filter(pk=receipt.pk).update(token="Q" * len(receipt.token))
    page.set_viewport_size({"width": 360, "height": 780})
    page.reload()
    # A mobile page widens its layout to what overflows: measure against the phone's width.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    Receipt.objects.filter(pk=receipt.pk).update(token=receipt.token)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()

    with page.expect_download() as download_info:
        page.locator("a[href$='receipt.pdf']").first.click()
    receipt_path = tmp_path / "receipt.pdf"
    download_info.value.save_as(receipt_path)
    receipt_pdf = receipt_path.read_bytes()
    assert_pdfsig_trusted(receipt_pdf, ca_certificate_pem())
    [url] = qr_urls_in_pdf(receipt_pdf)
    assert url.startswith(live_server.url + "/v/")

    page.goto(url)
    assert page.locator("#verdict").get_attribute("data-valid") == "true"
    assert correspondence.number in page.locator("main").inner_text()
    shot(page, "verified-ar")

    page.goto(f"{live_server.url}/verify/")
    page.locator("#id_file").set_input_files(str(receipt_path))
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#verdict").get_attribute("data-valid") == "true"


def test_refused_upload_shows_the_error_next_to_the_field(phone: Page, live_server: LiveServer, tmp_path: Path) -> None:
    make_administration("COMMUNE-DEMO")
    make_user("citizen@demo.ma")
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"MZ\x90\x00 this is a program, not a PDF")
    page = phone
    sign_in(page, live_server.url, "citizen@demo.ma")
    page.goto(f"{live_server.url}/deposit/")
    page.locator("#id_recipient").select_option("COMMUNE-DEMO")
    page.locator("#id_subject").fill("طلب")
    page.locator("#id_attachments").set_input_files(str(fake))
    page.locator("main button[type=submit]").click()
    error = page.locator("#id_attachments-error")
    error.wait_for()
    assert "fake.pdf" in error.inner_text()
    assert page.locator("#id_attachments").get_attribute("aria-describedby") == "id_attachments-error"
    assert not Correspondence.objects.exists()
