"""The sign-in page of a slowed-down account, in Chromium: Arabic on a 360 px phone, French on
a desktop. The message says when to try again, and the page still fits the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tenancy.testing import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def fail_five_times_then_try(page: Page, base_url: str, email: str) -> None:
    for password in ["wrong-guess-01"] * 5 + [PASSWORD]:
        page.goto(f"{base_url}/login/")
        page.locator("#id_username").fill(email)
        page.locator("#id_password").fill(password)
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()


@pytest.mark.parametrize(
    ("locale", "viewport", "expected"),
    [
        ("ar-MA", {"width": 360, "height": 740}, "محاولات دخول فاشلة كثيرة جدًّا لهذا الحساب"),
        ("fr-MA", {"width": 1280, "height": 800}, "Trop de tentatives de connexion échouées pour ce compte"),
    ],
)
def test_the_slowed_down_account_is_told_when_to_try_again(
    browser: Browser, live_server: LiveServer, locale: str, viewport: ViewportSize, expected: str
) -> None:
    user = make_user("guessed@example.ma")
    phone = viewport["width"] < 600
    context = browser.new_context(
        viewport=viewport, locale=locale, is_mobile=phone, device_scale_factor=2 if phone else 1
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        fail_five_times_then_try(page, live_server.url, user.email)
        alert = page.locator("main .alert.error")
        assert expected in alert.inner_text()
        assert page.locator("#id_username").input_value() == user.email
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"sign-in-slowed-down-{locale}-{viewport['width']}.png"), full_page=True)
    finally:
        context.close()


def test_a_citizen_changes_the_password_from_the_menu_on_a_phone(browser: Browser, live_server: LiveServer) -> None:
    user = make_user("owner@example.ma")
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="ar-MA", is_mobile=True, device_scale_factor=2
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/login/")
        page.locator("#id_username").fill(user.email)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()
        page.locator("nav a[href='/account/password/']").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "تغيير كلمة المرور"
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "password-change-ar-360.png"), full_page=True)
        page.locator("#id_old_password").fill(PASSWORD)
        page.locator("#id_new_password1").fill("عبارة-سر-جديدة-2027")
        page.locator("#id_new_password2").fill("عبارة-سر-جديدة-2027")
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()
        assert "تم تغيير كلمة المرور" in page.locator(".messages").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "password-changed-ar-360.png"), full_page=True)
    finally:
        context.close()
    user.refresh_from_db()
    assert user.check_password("عبارة-سر-جديدة-2027")


def test_a_limited_reset_request_says_when_to_ask_again(
    browser: Browser, live_server: LiveServer, settings: Settings
) -> None:
    settings.RATE_RESET_ACCOUNT = (1, 3600)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-MA")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        for _ in range(2):
            page.goto(f"{live_server.url}/account/password-reset/")
            page.locator("#id_email").fill("someone@example.ma")
            page.locator("main button[type=submit]").click()
            page.wait_for_load_state()
        assert "Trop de demandes de réinitialisation du mot de passe" in page.locator("main .alert.error").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "password-reset-limited-fr-1280.png"), full_page=True)
    finally:
        context.close()
