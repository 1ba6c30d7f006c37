"""The deposit form's procedure chooser in Chromium: on a 360 px phone in Arabic and on a desktop
in French (the list follows the administration chosen), and without JavaScript ("List its
procedures" reloads the form)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from documents.samples import pdf_bytes
from registry.models import Correspondence
from tenancy.models import Administration
from tenancy.testing import make_administration, make_user
from workflow.models import Case
from workflow.testing import make_procedure

from .test_deposit_flow import no_horizontal_scroll, shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def administrations(db: None) -> Administration:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    make_procedure(commune)  # URB-PC
    make_procedure(commune, "EC-COPIE", delay_days=5, delay_kind="working", silence_rule="none")
    make_administration("REGION-DEMO", name_ar="جهة وصل", name_fr="Région de Wasl")  # publishes none
    make_user("citizen@demo.ma", full_name="أمينة العلوي", national_id="BK123456")
    return commune


def options(page: Page) -> list[str]:
    return page.locator("#id_procedure option").evaluate_all("(options) => options.map((o) => o.value)")


def deposit_with(
    page: Page, live_server: LiveServer, tmp_path: Path, *, subject: str, by_enter: bool = False
) -> Correspondence:
    letter = tmp_path / "demande.pdf"
    letter.write_bytes(pdf_bytes(text=subject))
    page.locator("#id_attachments").set_input_files(str(letter))
    page.locator("#id_subject").fill(subject)
    if by_enter:  # the form's default button deposits (not "List its procedures")
        page.locator("#id_subject").press("Enter")
    else:
        page.locator("form[data-upload] > button[type=submit]").click()
    page.wait_for_url(re.compile(r"/deposits/\d+/$"))
    return Correspondence.objects.get(subject=subject)


@pytest.mark.parametrize(("language", "width"), [("ar-MA", 360), ("fr-FR", 1280)])
def test_the_list_follows_the_administration_chosen(
    browser: Browser,
    live_server: LiveServer,
    administrations: Administration,
    tmp_path: Path,
    language: str,
    width: int,
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800}, locale=language)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, "citizen@demo.ma")
        page.goto(f"{live_server.url}/deposit/")
        assert options(page) == [""]  # nothing chosen, nothing to list
        page.locator("#id_recipient").select_option("COMMUNE-DEMO")
        expect(page.locator("#id_procedure option")).to_have_count(3)
        labels = page.locator("#id_procedure option").all_inner_texts()
        assert options(page) == ["", "EC-COPIE", "URB-PC"]
        assert ("رخصة البناء" if language == "ar-MA" else "Autorisation de construire") in labels[2]
        page.locator("#id_procedure").select_option("URB-PC")
        assert no_horizontal_scroll(page)
        shot(page, f"deposit-procedure-chooser-{language[:2]}-{width}")
        # Another administration: its own list (none here), the choice gone with the old list.
        page.locator("#id_recipient").select_option("REGION-DEMO")
        expect(page.locator("#id_procedure option")).to_have_count(1)
        page.locator("#id_recipient").select_option("COMMUNE-DEMO")
        expect(page.locator("#id_procedure option")).to_have_count(3)
        page.locator("#id_procedure").select_option("URB-PC")
        c = deposit_with(page, live_server, tmp_path, subject=f"طلب رخصة البناء {language}")
        chosen = Case.objects.get(pk=c.pk).procedure
        assert chosen is not None and chosen.code == "URB-PC"
    finally:
        context.close()


def test_without_javascript_list_its_procedures_reloads_the_form(
    browser: Browser, live_server: LiveServer, administrations: Administration, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="ar-MA", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, "citizen@demo.ma")
        page.goto(f"{live_server.url}/deposit/")
        page.locator("#id_recipient").select_option("COMMUNE-DEMO")
        page.locator("#id_subject").fill("طلب نسخة من رسم الولادة")
        page.locator("button[name=list_procedures]").click()
        page.wait_for_load_state()
        assert options(page) == ["", "EC-COPIE", "URB-PC"]
        assert page.locator("#id_subject").input_value() == "طلب نسخة من رسم الولادة"  # kept
        assert not Correspondence.objects.exists()
        assert not page.locator("noscript button[hidden]").is_visible()
        assert no_horizontal_scroll(page)
        shot(page, "deposit-procedure-chooser-nojs-ar-360")
        page.locator("#id_procedure").select_option("EC-COPIE")
        c = deposit_with(page, live_server, tmp_path, subject="طلب نسخة من رسم الولادة", by_enter=True)
        chosen = Case.objects.get(pk=c.pk).procedure
        assert chosen is not None and chosen.code == "EC-COPIE"
    finally:
        context.close()
