"""The client address: the peer, unless a configured reverse proxy vouches for another."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import pytest
from django.test import Client, RequestFactory
from pytest_django import Settings

from core.proxies import client_address
from tenancy.models import User
from tenancy.testing import PASSWORD, make_user

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

PROXIES = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")]


def address(peer: str, forwarded: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else None
    return client_address(RequestFactory().get("/", REMOTE_ADDR=peer, headers=headers))


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings: Settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert address("127.0.0.1", "203.0.113.5") == "127.0.0.1"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # nginx in front: it appended the address it was reached from.
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
        # The client wrote its own header; only the right-most untrusted address counts.
        ("127.0.0.1", "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        # Two trusted proxies in a row (a load balancer, then nginx).
        ("127.0.0.1", "198.51.100.8, 10.1.2.3", "198.51.100.8"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("127.0.0.1", "::ffff:203.0.113.9", "203.0.113.9"),
        # Garbage stops the walk at the proxy that passed it on.
        ("127.0.0.1", "203.0.113.5, not-an-address", "127.0.0.1"),
        ("127.0.0.1", "not-an-address, 10.0.0.4", "10.0.0.4"),
        # Only proxies: the left-most of them is as far as the chain goes.
        ("127.0.0.1", "10.0.0.9, 10.0.0.4", "10.0.0.9"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_a_trusted_proxy_vouches_for_the_right_most_untrusted_address(
    settings: Settings, peer: str, forwarded: str | None, client: str
) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert address(peer, forwarded) == client


def test_a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address(settings: Settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert address("198.51.100.20", "127.0.0.1, 203.0.113.5") == "198.51.100.20"


@pytest.mark.slow
def test_behind_the_proxy_each_client_has_its_own_sign_in_limit(db: None, settings: Settings) -> None:
    """The finding: behind the documented proxy every user shared one bucket. With the proxy
    trusted, a guesser fills only their own; a spoofed header from outside changes nothing."""
    settings.TRUSTED_PROXIES = PROXIES
    settings.RATE_LOGIN = (3, 900)
    guessed, other = make_user(), make_user()

    def sign_in(user: User, forwarded: str, password: str, peer: str = "127.0.0.1") -> Response:
        return Client().post(
            "/api/v1/auth/token",
            {"username": user.email, "password": password},
            content_type="application/json",
            REMOTE_ADDR=peer,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    # The guesser at 203.0.113.5 writes what it likes in front of the proxy's entry.
    for n in range(3):
        assert sign_in(guessed, f"{n}.{n}.{n}.{n}, 203.0.113.5", "wrong-guess-00").status_code == 401
    assert sign_in(guessed, "9.9.9.9, 203.0.113.5", PASSWORD).status_code == 429
    # The others behind the same proxy are not concerned.
    assert sign_in(guessed, "198.51.100.30", PASSWORD).status_code == 200
    # A direct client forging the header is counted by its own address.
    for _ in range(3):
        assert sign_in(other, "198.51.100.31", "wrong-guess-00", peer="192.0.2.66").status_code == 401
    assert sign_in(other, "198.51.100.31", PASSWORD, peer="192.0.2.66").status_code == 429
    assert sign_in(other, "198.51.100.31", PASSWORD).status_code == 200
