"""Secure cookies and HSTS follow the public URL's scheme unless they are set.

Each case reads wasl/settings.py afresh with its own environment (no other ``WASL_*``).
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_django import Settings

from core.checks import check_secure_cookies_over_http
from wasl.env import ConfigurationError

SETTINGS = Path(__file__).resolve().parents[1] / "settings.py"
YEAR = 31536000


@pytest.fixture
def read_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def read(**variables: str) -> dict[str, Any]:
        for name in list(os.environ):
            if name.startswith("WASL_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("WASL_SECRET_KEY", "a-secret-for-these-settings-0123456789")
        monkeypatch.setenv("WASL_DATA_DIR", str(tmp_path))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))

    return read


def security(values: dict[str, Any]) -> tuple[bool, bool, bool, int]:
    return (
        values["SECURE_COOKIES"],
        values["SESSION_COOKIE_SECURE"],
        values["CSRF_COOKIE_SECURE"],
        values["SECURE_HSTS_SECONDS"],
    )


def test_an_https_public_url_gets_secure_cookies_and_hsts(read_settings: Callable[..., dict[str, Any]]) -> None:
    assert security(read_settings(WASL_PUBLIC_URL="https://wasl.commune.ma")) == (True, True, True, YEAR)


@pytest.mark.parametrize("public_url", ["http://wasl.commune.ma", "http://10.0.0.5:8000", None])
def test_a_plain_http_public_url_gets_neither(
    read_settings: Callable[..., dict[str, Any]], public_url: str | None
) -> None:
    variables = {"WASL_PUBLIC_URL": public_url} if public_url else {}
    assert security(read_settings(**variables)) == (False, False, False, 0)


def test_what_is_set_wins(read_settings: Callable[..., dict[str, Any]]) -> None:
    assert security(read_settings(WASL_PUBLIC_URL="https://wasl.commune.ma", WASL_SECURE_COOKIES="false")) == (
        False,
        False,
        False,
        YEAR,
    )
    assert security(read_settings(WASL_PUBLIC_URL="http://wasl.commune.ma", WASL_SECURE_COOKIES="true")) == (
        True,
        True,
        True,
        0,
    )
    assert (
        read_settings(WASL_PUBLIC_URL="https://wasl.commune.ma", WASL_HSTS_SECONDS="3600")["SECURE_HSTS_SECONDS"]
        == 3600
    )
    assert read_settings(WASL_PUBLIC_URL="https://wasl.commune.ma", WASL_HSTS_SECONDS="0")["SECURE_HSTS_SECONDS"] == 0


def test_the_demo_follows_its_public_url_too(read_settings: Callable[..., dict[str, Any]]) -> None:
    assert security(read_settings(WASL_DEMO="true", WASL_PUBLIC_URL="http://127.0.0.1:8000"))[0] is False
    assert security(read_settings(WASL_DEMO="true", WASL_PUBLIC_URL="https://wasl.example.ma"))[0] is True


def test_a_negative_hsts_is_refused_by_name(read_settings: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(ConfigurationError, match="WASL_HSTS_SECONDS"):
        read_settings(WASL_HSTS_SECONDS="-1")


def test_no_peer_is_believed_by_django_itself(read_settings: Callable[..., dict[str, Any]]) -> None:
    values = read_settings(WASL_PUBLIC_URL="https://wasl.commune.ma", WASL_TRUSTED_PROXIES="127.0.0.1")
    assert values.get("SECURE_PROXY_SSL_HEADER") is None
    assert values["MIDDLEWARE"][0] == "core.proxies.ProxyHeadersMiddleware"


def test_trusted_proxies_may_name_the_unix_socket(read_settings: Callable[..., dict[str, Any]]) -> None:
    values = read_settings(WASL_TRUSTED_PROXIES="unix, 127.0.0.1")
    assert values["TRUSTED_UNIX_SOCKET"] is True
    assert [str(network) for network in values["TRUSTED_PROXIES"]] == ["127.0.0.1/32"]
    assert read_settings(WASL_TRUSTED_PROXIES="::1")["TRUSTED_UNIX_SOCKET"] is False
    with pytest.raises(ConfigurationError, match=r"WASL_TRUSTED_PROXIES: 'socket' is not .* or unix"):
        read_settings(WASL_TRUSTED_PROXIES="socket")


def test_secure_cookies_over_plain_http_are_warned_of(settings: Settings) -> None:
    settings.SECURE_COOKIES = True
    settings.PUBLIC_URL = "http://wasl.commune.ma"
    [warning] = check_secure_cookies_over_http(None)
    assert warning.id == "wasl.W010"
    assert "every form (sign-in included) will fail over plain HTTP" in warning.msg
    settings.PUBLIC_URL = "https://wasl.commune.ma"
    assert check_secure_cookies_over_http(None) == []
    settings.SECURE_COOKIES = False
    settings.PUBLIC_URL = "http://wasl.commune.ma"
    assert check_secure_cookies_over_http(None) == []
