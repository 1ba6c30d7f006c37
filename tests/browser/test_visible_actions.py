"""What a person must be able to see: the register's actions are drawn as buttons with readable
text (it once had white text on a white pill), and the site has an icon (no 404 in the console)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser
from pytest_django.live_server_helper import LiveServer

from tenancy.models import Membership
from tenancy.testing import make_administration, make_staff

from .test_deposit_flow import shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role

# WCAG's contrast ratio of two colours given as "rgb(r, g, b)" (relative luminance, sRGB).
CONTRAST = """(element) => {
  const style = getComputedStyle(element);
  const channels = (colour) => colour.match(/[0-9.]+/g).slice(0, 3).map(Number);
  const luminance = (colour) => {
    const [r, g, b] = channels(colour).map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [luminance(style.color), luminance(style.backgroundColor)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.mark.parametrize("width, language", [(360, "ar"), (1280, "fr")])
def test_the_register_actions_are_readable_buttons(
    browser: Browser, live_server: LiveServer, width: int, language: str
) -> None:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    make_staff(commune, Role.ADMIN, "admin@demo.ma", full_name="Hind Admin", language=language)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale={"ar": "ar-MA", "fr": "fr-FR"}[language]
    )
    page = context.new_page()
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)
    try:
        sign_in(page, live_server.url, "admin@demo.ma")
        page.goto(f"{live_server.url}/desk/{commune.code}/")
        for href in ("/register/new/", "/register/import/"):
            action = page.locator(f"nav.tabs a.button[href$='{href}']")
            assert action.is_visible()
            assert action.evaluate(CONTRAST) >= 4.5, href
        shot(page, f"register-actions-{language}-{width}")
        assert not missing, missing
    finally:
        context.close()
