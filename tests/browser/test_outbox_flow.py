"""The outbox in /admin/, as the platform administrator sees it in Chromium: the list in one
column on a desktop (the search above the messages), and, in an Arabic message on a phone, a link
that reads left to right to its last character."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

from core.outbox import outbox_keys
from tenancy.models import User
from tenancy.testing import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# A link whose last line starts after a hyphen and ends with a slash: unisolated in Arabic text,
# the slash moves to the start of that line.
LINK = "https://wasl.example.ma/account/verify/eyJ1IjoxMywiZSI6ImZhdGltYSJ9:1xaXTL:849RDfG8YS2JAULg-Amzmpq11_pwwjI6pyDiEZ-vOwM/"


def signed_in_admin(browser: Any, live_server: Any, *, language: str, width: int) -> Any:
    User.objects.create_superuser("platform@example.ma", PASSWORD, full_name="Platform")
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "platform@example.ma")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def test_the_list_is_one_column_on_a_desktop(browser: Browser, live_server: LiveServer, outbox: Path) -> None:
    for n in range(3):
        EmailMessage(f"Récépissé A-2026-00000{n} — جماعة الاختبار", "Texte", to=["citoyen@example.ma"]).send()
    page = signed_in_admin(browser, live_server, language="fr", width=1280)
    page.goto(f"{live_server.url}/admin/core/outboxmessage/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "outbox-list-fr-1280.png"), full_page=True)
    search = page.locator("#toolbar").bounding_box()
    table = page.locator("#result_list").bounding_box()
    count = page.locator("nav.paginator").bounding_box()
    assert search and table and count
    # The search above the messages and the count below them, each the width of the list.
    assert search["y"] + search["height"] <= table["y"]
    assert table["y"] + table["height"] <= count["y"]
    assert table["width"] > 800


def test_a_link_in_an_arabic_message_reads_left_to_right(
    browser: Browser, live_server: LiveServer, outbox: Path
) -> None:
    EmailMessage(
        "تأكيد عنوان بريدكم الإلكتروني", f"يُرجى تأكيد عنوانكم بفتح هذا الرابط:\n{LINK}\n", to=["x@example.ma"]
    ).send()
    [key] = outbox_keys()
    page = signed_in_admin(browser, live_server, language="ar", width=360)
    page.goto(f"{live_server.url}/admin/core/outboxmessage/{key}/")
    page.screenshot(path=str(SCREENSHOTS / "outbox-message-ar-360.png"), full_page=True)
    # Where each character of the link is drawn: left to right, each line's first character at
    # its left, the closing slash at the right end of the last line.
    boxes = page.locator(".outbox-text a").evaluate(
        """link => {
            const text = link.firstChild, range = document.createRange(), boxes = [];
            for (let i = 0; i < text.length; i++) {
                range.setStart(text, i); range.setEnd(text, i + 1);
                const box = range.getBoundingClientRect();
                boxes.push([box.left, box.top]);
            }
            return boxes;
        }"""
    )
    assert len(boxes) == len(LINK)
    lines: dict[int, list[float]] = {}
    for left, top in boxes:
        lines.setdefault(round(top), []).append(left)
    assert len(lines) > 1  # the link wraps at 360 px
    for lefts in lines.values():
        assert lefts == sorted(lefts), "a line of the link is not drawn left to right"
