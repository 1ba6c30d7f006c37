"""HTTPS as a trusted proxy says it, and only then: X-Forwarded-Proto from WASL_TRUSTED_PROXIES.

The finding (issue #15): with secure cookies on, Django's SECURE_PROXY_SSL_HEADER believed
``X-Forwarded-Proto`` from anyone, so any client sending ``X-Forwarded-Proto: https`` was served
as if over HTTPS, a one-year HSTS header included, with no proxy in front at all.
"""

from __future__ import annotations

import ipaddress

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from pytest_django import Settings

from core.proxies import ProxyHeadersMiddleware, client_address, forwarded_scheme

YEAR = 31536000
PROXY = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")]


@pytest.fixture
def hsts(settings: Settings) -> Settings:
    settings.SECURE_HSTS_SECONDS = YEAR
    settings.TRUSTED_PROXIES = []
    settings.TRUSTED_UNIX_SOCKET = False
    return settings


def seen(*, peer: str = "127.0.0.1", secure: bool = False, headers: dict[str, str] | None = None) -> dict[str, object]:
    """What the request looks like to the code after the middleware."""
    # The Host header a proxy passes on (the factory would add its port to an https URL).
    request = RequestFactory().get(
        "/deposits/?page=2", REMOTE_ADDR=peer, secure=secure, HTTP_HOST="testserver", headers=headers
    )
    found: dict[str, object] = {}

    def view(request: HttpRequest) -> HttpResponse:
        found.update(secure=request.is_secure(), url=request.build_absolute_uri(), client=client_address(request))
        return HttpResponse()

    ProxyHeadersMiddleware(view)(request)
    return found


def test_the_attack_of_the_issue_no_proxy_configured_and_the_header_sent_gets_no_hsts(db: None, hsts: Settings) -> None:
    for peer in ("127.0.0.1", "203.0.113.7", "::1"):
        response = Client(REMOTE_ADDR=peer).get("/healthz", HTTP_X_FORWARDED_PROTO="https")
        assert response.status_code == 200
        assert "Strict-Transport-Security" not in response.headers
        assert seen(peer=peer, headers={"X-Forwarded-Proto": "https"})["secure"] is False
    assert seen(headers={"X-Forwarded-Proto": "https"})["url"] == "http://testserver/deposits/?page=2"


def test_a_trusted_proxy_is_believed(db: None, hsts: Settings) -> None:
    hsts.TRUSTED_PROXIES = PROXY
    response = Client(REMOTE_ADDR="127.0.0.1").get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert response.headers["Strict-Transport-Security"] == f"max-age={YEAR}"
    assert seen(headers={"X-Forwarded-Proto": "https"}) == {
        "secure": True,
        "url": "https://testserver/deposits/?page=2",
        "client": "127.0.0.1",
    }
    # The proxy says the client came over plain HTTP: so it did, whatever the connection to Wasl.
    assert seen(secure=True, headers={"X-Forwarded-Proto": "http"})["secure"] is False
    no_hsts = Client(REMOTE_ADDR="10.1.2.3").get("/healthz", HTTP_X_FORWARDED_PROTO="http")
    assert "Strict-Transport-Security" not in no_hsts.headers


def test_an_untrusted_peer_with_a_trusted_looking_forwarded_chain_is_not_believed(db: None, hsts: Settings) -> None:
    hsts.TRUSTED_PROXIES = PROXY
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.4, 127.0.0.1"}
    assert seen(peer="198.51.100.20", headers=headers) == {
        "secure": False,
        "url": "http://testserver/deposits/?page=2",
        "client": "198.51.100.20",
    }
    response = Client(REMOTE_ADDR="198.51.100.20").get("/healthz", headers=headers)
    assert "Strict-Transport-Security" not in response.headers


def test_a_server_in_front_that_believed_the_header_is_overruled(hsts: Settings) -> None:
    """A gunicorn started without Wasl's settings believes X-Forwarded-Proto from 127.0.0.1 and
    hands Wasl ``wsgi.url_scheme = https``: from a peer Wasl does not trust, that is plain HTTP."""
    assert seen(secure=True, headers={"X-Forwarded-Proto": "https"})["secure"] is False


def test_without_the_header_the_connection_scheme_stands(db: None, hsts: Settings) -> None:
    assert seen(secure=True)["secure"] is True
    assert seen(secure=False)["secure"] is False
    response = Client(REMOTE_ADDR="203.0.113.7").get("/healthz", secure=True)
    assert response.headers["Strict-Transport-Security"] == f"max-age={YEAR}"


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        ("https", "https"),
        ("HTTPS", "https"),
        (" https ", "https"),
        ("https, https", "https"),
        # A proxy that appends behind a client's own entry: the client's "https" does not win.
        ("https, http", "http"),
        ("http, https", "http"),
        ("http", "http"),
        ("", "http"),
        ("wss", "http"),
    ],
)
def test_only_https_in_every_entry_is_https(value: str, scheme: str) -> None:
    assert forwarded_scheme(value) == scheme


def test_a_unix_socket_is_trusted_only_when_listed(hsts: Settings) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    # gunicorn leaves REMOTE_ADDR empty for a connection on a Unix socket.
    assert seen(peer="", headers=headers) == {
        "secure": False,
        "url": "http://testserver/deposits/?page=2",
        "client": "unknown",
    }
    hsts.TRUSTED_UNIX_SOCKET = True
    assert seen(peer="", headers=headers) == {
        "secure": True,
        "url": "https://testserver/deposits/?page=2",
        "client": "203.0.113.5",
    }
    # Listing the socket trusts no address.
    assert seen(peer="127.0.0.1", headers=headers)["secure"] is False


def test_https_redirects_agree_with_the_scheme(db: None, hsts: Settings) -> None:
    hsts.SECURE_SSL_REDIRECT = True
    hsts.TRUSTED_PROXIES = PROXY
    through_proxy = Client(REMOTE_ADDR="127.0.0.1").get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert through_proxy.status_code == 200
    spoofed = Client(REMOTE_ADDR="203.0.113.7").get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301 and spoofed.headers["Location"] == "https://testserver/healthz"


def test_the_scheme_is_settled_before_any_other_middleware(settings: Settings) -> None:
    assert settings.MIDDLEWARE[0] == "core.proxies.ProxyHeadersMiddleware"
    assert settings.SECURE_PROXY_SSL_HEADER is None
