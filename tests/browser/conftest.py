"""A real Chromium (Debian's), driven by Playwright, against a live server.

The tests drive Chromium's headless shell when it is installed (Debian's
``chromium-headless-shell``, built from the same sources as ``chromium``, as Playwright's own
headless runs do): the same engine without the desktop browser around it, about a third less CPU
for the suite's pages. ``WASL_CHROMIUM`` names another binary (``/usr/bin/chromium`` to see them
in the desktop browser's headless mode)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

CHROMIUM = (
    os.environ.get("WASL_CHROMIUM")
    or shutil.which("chromium-headless-shell")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright, started once per process: its sync API runs an event loop in this thread, and a
    second one started while the first runs fails."""
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # The ORM calls the tests make around it are plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield instance
    instance.close()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, settings: Settings) -> Iterator[Page]:
    """An Arabic phone-sized page, with receipts pointing at the live server."""
    settings.PUBLIC_URL = live_server.url
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ar-MA",
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
