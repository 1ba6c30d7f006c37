"""A form refused by the CSRF check says why, in the reader's language, and stays 403.

Each cause is made the way a browser meets it: the sign-in form fetched, then posted without
the cookie a browser would not have kept, from another origin, or through a proxy Wasl does
not trust.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

import pytest
from django.test import Client, RequestFactory
from django.utils import translation
from django.utils.translation import gettext
from pytest_django import Settings

from core.views import csrf_failure
from tenancy.testing import PASSWORD, make_user

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

TITLE = "The form could not be sent"
EXPIRED = "Open the form again"
PLAIN_HTTP = (
    "Nothing was sent. This site accepts forms only over a secure connection (an address that begins with "
    "%(prefix)s), and this page was opened over a plain connection."
)
NOT_SET_UP = "This site is not set up to accept forms at this address. Tell the administrator of this site."
HTTPS_NOT_SEEN = (
    "Nothing was sent. This site is not set up correctly: it did not recognise the secure connection your "
    "browser used. Tell the administrator of this site."
)
FOR_THE_ADMINISTRATOR = "For the administrator of this site:"


def in_language(text: str, language: str) -> str:
    with translation.override(language):
        return gettext(text)


def token_of(client: Client) -> str:
    page = client.get("/login/").content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found
    return found.group(1)


def sign_in(client: Client, token: str, headers: dict[str, str] | None = None) -> Response:
    user = make_user()
    return client.post(
        "/login/",
        {"csrfmiddlewaretoken": token, "username": user.email, "password": PASSWORD},
        HTTP_REFERER="http://testserver/login/",
        headers=headers,
    )


def page_text(response: Response) -> str:
    """The page's text, tags removed, entities kept as they are."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_page_left_open_asks_to_open_the_form_again_in_arabic_french_and_amazigh() -> None:
    for language in ("ar", "fr", "zgh"):
        client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
        token = token_of(client)
        client.cookies.clear()  # expired, or refused by the browser
        response = sign_in(client, token)
        assert response.status_code == 403
        html = response.content.decode()
        assert f'<html lang="{language}"' in html
        assert 'class="brand"' in html  # the site's layout
        for text in (TITLE, EXPIRED):
            translated = in_language(text, language)
            assert translated != text or language == "en"
            assert translated in html
        assert FOR_THE_ADMINISTRATOR not in page_text(response)
        # The page is the site's own: its back link leads to the form, which then works.
        assert 'href="http://testserver/login/"' in html
        assert sign_in(client, token_of(client)).status_code == 302


def test_a_stale_token_is_the_common_case_too() -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    token_of(client)
    response = sign_in(client, "x" * 64)
    assert response.status_code == 403
    assert in_language(EXPIRED, "fr") in response.content.decode()


def test_secure_cookies_over_plain_http_are_named_for_the_administrator(settings: Settings) -> None:
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = True
    settings.PUBLIC_URL = "https://wasl.commune.ma"
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    token = token_of(client)
    client.cookies.clear()  # a browser keeps no secure cookie from a plain HTTP page
    response = sign_in(client, token)
    assert response.status_code == 403
    html = response.content.decode()
    assert in_language(PLAIN_HTTP, "fr") % {"prefix": '<bdi dir="ltr">https://</bdi>'} in html
    assert in_language(FOR_THE_ADMINISTRATOR, "fr") in html
    assert '<code dir="ltr">WASL_SECURE_COOKIES</code>' in html
    assert '<code dir="ltr">WASL_SECURE_COOKIES=false</code>' in html
    # The visitor is offered the same form at the site's HTTPS address.
    assert 'href="https://wasl.commune.ma/login/"' in html
    assert in_language(EXPIRED, "fr") not in html


def test_secure_cookies_on_a_plain_http_site_cannot_be_helped_by_the_visitor(settings: Settings) -> None:
    settings.CSRF_COOKIE_SECURE = True
    settings.PUBLIC_URL = "http://wasl.commune.ma"
    client = Client(enforce_csrf_checks=True)
    token = token_of(client)
    client.cookies.clear()
    html = sign_in(client, token).content.decode()
    assert in_language(NOT_SET_UP, "ar") in html
    assert "https://wasl.commune.ma" not in html


def test_https_lost_on_the_way_names_the_trusted_proxies(settings: Settings) -> None:
    """nginx holds the certificate and says X-Forwarded-Proto: https, but it is not listed in
    WASL_TRUSTED_PROXIES: the browser's Origin is https, Wasl sees plain HTTP."""
    settings.TRUSTED_PROXIES = []
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    token = token_of(client)
    response = sign_in(client, token, headers={"Origin": "https://testserver", "X-Forwarded-Proto": "https"})
    assert response.status_code == 403
    html = response.content.decode()
    assert in_language(HTTPS_NOT_SEEN, "fr") in html
    assert '<code dir="ltr">WASL_TRUSTED_PROXIES</code>' in html
    assert '<code dir="ltr">X-Forwarded-Proto</code>' in html
    # A listed proxy that does not send the header: the browser's Origin alone shows it.
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1")]
    again = sign_in(client, token, headers={"Origin": "https://testserver"})
    assert in_language(HTTPS_NOT_SEEN, "fr") in again.content.decode()
    # Listed and sending it (with the Host header it received): the form goes through.
    through = sign_in(
        client, token, headers={"Origin": "https://testserver", "X-Forwarded-Proto": "https", "Host": "testserver"}
    )
    assert through.status_code == 302


def test_a_form_from_another_origin_names_it_and_the_settings() -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    token = token_of(client)
    response = sign_in(client, token, headers={"Origin": "https://wasl.other-commune.ma"})
    assert response.status_code == 403
    html = response.content.decode()
    assert '<bdi dir="ltr">https://wasl.other-commune.ma</bdi>' in html
    assert '<bdi dir="ltr">http://testserver</bdi>' in html
    for setting in ("WASL_ALLOWED_HOSTS", "WASL_PUBLIC_URL", "WASL_CSRF_TRUSTED_ORIGINS"):
        assert f'<code dir="ltr">{setting}</code>' in html
    # The back link never leads to the other site.
    assert 'href="https://wasl.other-commune.ma' not in html


def test_a_referer_from_another_site_over_https_is_named(settings: Settings) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1")]
    client = Client(enforce_csrf_checks=True, HTTP_X_FORWARDED_PROTO="https")
    token = token_of(client)
    response = client.post("/login/", {"csrfmiddlewaretoken": token}, HTTP_REFERER="https://elsewhere.example/page?x=1")
    assert response.status_code == 403
    assert '<bdi dir="ltr">https://elsewhere.example</bdi>' in response.content.decode()


def test_a_hostile_origin_is_shown_escaped_and_isolated() -> None:
    client = Client(enforce_csrf_checks=True)
    token = token_of(client)
    hostile = 'https://evil.example/\u202e<img src=x onerror="alert(1)">gnp.exe'
    response = sign_in(client, token, headers={"Origin": hostile})
    assert response.status_code == 403
    html = response.content.decode()
    assert "<img src=x" not in html
    shown = re.search(r'<bdi dir="ltr">(https://evil\.example/[^<]*)</bdi>', html)
    assert shown, html
    # Escaped, and the override closed inside its own isolate.
    assert shown.group(1) == "https://evil.example/\u202e&lt;img src=x onerror=&quot;alert(1)&quot;&gt;gnp.exe\u202c"


def test_the_api_answers_in_its_own_shape() -> None:
    request = RequestFactory().post("/api/v1/auth/token", HTTP_ACCEPT_LANGUAGE="fr")
    response = csrf_failure(request, reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert b'"code": "csrf_failed"' in response.content
