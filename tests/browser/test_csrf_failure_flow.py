"""Signing in over plain HTTP under a host name that is not loopback, in Chromium: with secure
cookies the form is refused and the page says why (Arabic on a 360 px phone, French on a
desktop); with the defaults of an http:// public URL the same browser signs in. A form posted from
another site names that site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Browser, Page, Playwright, ViewportSize
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from tenancy.testing import PASSWORD, make_user
from tests.browser.conftest import ARGS, CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HOST = "wasl.test"


@pytest.fixture(scope="module")
def named_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium resolving wasl.test to this machine: plain HTTP there is not a secure context, as
    on a commune's server (unlike localhost, where Chromium keeps secure cookies anyway)."""
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]
    )
    yield instance
    instance.close()


@pytest.fixture
def site(live_server: LiveServer, settings: Settings) -> str:
    base = live_server.url.replace("localhost", HOST).replace("127.0.0.1", HOST)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    settings.PUBLIC_URL = base
    return base


def in_language(text: str, language: str) -> str:
    with translation.override(language):
        return gettext(text)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize(
    ("locale", "language", "viewport"),
    [("ar-MA", "ar", {"width": 360, "height": 740}), ("fr-MA", "fr", {"width": 1280, "height": 800})],
)
def test_secure_cookies_over_plain_http_say_why_and_the_defaults_work(
    named_browser: Browser, site: str, settings: Settings, locale: str, language: str, viewport: ViewportSize
) -> None:
    user = make_user()
    phone = viewport["width"] < 600
    context = named_browser.new_context(
        viewport=viewport, locale=locale, is_mobile=phone, device_scale_factor=2 if phone else 1
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        settings.SECURE_COOKIES = settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
        with page.expect_response(lambda response: response.request.method == "POST") as posted:
            sign_in(page, site, user.email)
        assert posted.value.status == 403
        assert page.locator("h1").inner_text() == in_language("The form could not be sent", language)
        note = page.locator(".operator-note").inner_text()
        assert "WASL_SECURE_COOKIES" in note and in_language("For the administrator of this site:", language) in note
        assert page.evaluate("document.documentElement.lang") == language
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"csrf-plain-http-{language}-{viewport['width']}.png"), full_page=True)

        # An http:// public URL's defaults: no secure cookies, and the same browser signs in.
        settings.SECURE_COOKIES = settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
        sign_in(page, site, user.email)
        assert "/login/" not in page.url
        assert {cookie["name"] for cookie in context.cookies()} >= {"csrftoken", "sessionid"}
    finally:
        context.close()


def test_a_form_posted_from_another_site_names_it(named_browser: Browser, site: str) -> None:
    context = named_browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-MA")
    page = context.new_page()
    page.set_default_timeout(15_000)
    other = "http://other.test"
    page.route(
        f"{other}/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<form method="post" action="{site}/login/"><input name="username" value="x">'
            '<button type="submit">go</button></form>',
        ),
    )
    try:
        page.goto(f"{other}/form")
        with page.expect_response(lambda response: response.request.method == "POST") as posted:
            page.locator("button").click()
            page.wait_for_load_state()
        assert posted.value.status == 403
        assert page.url == f"{site}/login/"
        named = page.locator("main bdi[dir=ltr]").first.inner_text()
        assert named == other
        assert "WASL_CSRF_TRUSTED_ORIGINS" in page.locator(".operator-note").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "csrf-foreign-origin-fr-1280.png"), full_page=True)
    finally:
        context.close()
