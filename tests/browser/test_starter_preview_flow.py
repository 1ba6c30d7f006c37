"""The starter catalogue's preview on an Arabic phone, in Chromium: each routing keyword, Arabic or
French, stays whole on its line, and each language of a letter template's name reads whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

from tenancy.models import Administration, User
from tenancy.testing import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_keywords_and_names_stay_whole_on_an_arabic_phone(
    browser: Browser, live_server: LiveServer, commune: Administration, commune_admin: User
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 800})
    context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", commune_admin.email)
    page.fill("#id_password", PASSWORD)
    page.locator("form[novalidate] button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/desk/{commune.code}/procedures/starter/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "starter-preview-ar-360.png"), full_page=True)
    keywords = page.locator(".words bdi")
    assert keywords.count() > 10
    # One box per keyword: none is broken across two lines.
    broken = [
        text
        for text, boxes in keywords.evaluate_all("words => words.map(w => [w.textContent, w.getClientRects().length])")
        if boxes != 1
    ]
    assert not broken, broken
    names = page.locator("li bdi").all_text_contents()
    assert "إشعار بالتوصل" in names and "Accusé de réception" in names
    context.close()
