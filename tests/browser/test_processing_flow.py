"""The processing desk in Chromium: a clerk routes a request, an agent answers from a
template, the citizen sees the due date from the start and the sealed answer at the end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from documents.testing import pdf_text
from registry.models import Correspondence, SealedDocument
from tenancy.models import Membership
from tenancy.testing import PASSWORD, make_administration, make_service, make_staff, make_user
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted
from workflow.models import Case, LetterTemplate
from workflow.testing import deposit, make_procedure

from .test_deposit_flow import no_horizontal_scroll, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def test_assign_reply_and_the_citizen_sees_the_sealed_answer(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    urb = make_service(commune, "URB", name_ar="مصلحة التعمير", name_fr="Service de l'urbanisme")
    make_staff(commune, Role.CLERK, "clerk@demo.ma", full_name="Rachid Bennani")
    agent = make_staff(commune, Role.AGENT, "agent@demo.ma", full_name="Salma Idrissi")
    Membership.objects.filter(user=agent).update(service=urb)
    citizen = make_user("citizen@demo.ma", full_name="أمينة العلوي", national_id="BK123456")
    make_procedure(commune)
    LetterTemplate.objects.create(
        administration=commune,
        code="ACCORD",
        name="Accord",
        body_ar="جوابا على طلبكم عدد {number}، نخبركم بالموافقة.",
        body_fr="En réponse à votre demande {number}, nous vous informons de notre accord.",
    )
    c = deposit(commune, citizen, procedure="URB-PC", subject="طلب رخصة البناء").correspondence
    due = Case.objects.get(pk=c.pk).due_on
    assert due is not None
    due_on = due.isoformat()
    page = phone

    # The citizen sees the due date from the start.
    sign_in(page, live_server.url, "citizen@demo.ma")
    page.goto(f"{live_server.url}/deposits/{c.pk}/")
    assert page.locator("#due-on").inner_text() == due_on
    assert no_horizontal_scroll(page)
    shot(page, "processing-citizen-before")

    # The clerk routes it from the inbox.
    sign_in(page, live_server.url, "clerk@demo.ma")
    page.goto(f"{live_server.url}/desk/COMMUNE-DEMO/inbox/?box=to_assign")
    assert c.number in page.locator("main").inner_text()
    shot(page, "processing-inbox")
    page.locator(f"#case-{c.pk}").check()
    page.locator("#bulk_service").select_option(str(urb.pk))
    page.locator(".bulk button[type=submit]").click()
    page.wait_for_load_state()
    assert Case.objects.get(pk=c.pk).status == "assigned"

    # The agent answers from the template. A letter sent empty is refused: the letter's form
    # comes back with the reason (the template picker above it once took its place).
    sign_in(page, live_server.url, "agent@demo.ma")
    page.goto(f"{live_server.url}/desk/COMMUNE-DEMO/c/{c.pk}/reply/")
    page.locator("form[data-upload] button[type=submit]").click()
    page.locator("form[data-upload] .alert.error").wait_for()
    assert page.locator("form.inline-form").count() == 1
    assert page.locator("form[data-upload] textarea[name=body_fr]").is_visible()
    assert Case.objects.get(pk=c.pk).status == "assigned"
    page.goto(f"{live_server.url}/desk/COMMUNE-DEMO/c/{c.pk}/reply/")
    page.locator("#choose-template").select_option(label="Accord")
    page.locator("form.inline-form button").click()
    page.wait_for_load_state()
    assert c.number in page.locator("#id_body_fr").input_value()
    shot(page, "processing-reply")
    page.locator("form[data-upload] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/desk/COMMUNE-DEMO/c/{c.pk}/$"))
    assert Case.objects.get(pk=c.pk).status == "answered"
    outgoing = Correspondence.objects.get(direction="outgoing")

    # The citizen downloads the sealed answer.
    sign_in(page, live_server.url, "citizen@demo.ma")
    page.goto(f"{live_server.url}/deposits/{c.pk}/")
    assert outgoing.number in page.locator("main").inner_text()
    shot(page, "processing-citizen-answered")
    with page.expect_download() as download_info:
        page.locator(f"main a[href*='/deposits/{c.pk}/letters/']").first.click()
    path = tmp_path / "answer.pdf"
    download_info.value.save_as(path)
    letter = path.read_bytes()
    assert_pdfsig_trusted(letter, ca_certificate_pem())
    text = pdf_text(letter)
    assert outgoing.number in text and c.number in text
    assert SealedDocument.objects.get(correspondence=outgoing).blob_id
    # The answer is a letter received, not one of the citizen's deposits.
    page.goto(f"{live_server.url}/deposits/")
    assert c.number in page.locator("main").inner_text() and outgoing.number not in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/letters/")
    assert outgoing.number in page.locator("main").inner_text()
