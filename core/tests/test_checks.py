"""The configuration's system checks: WASL_PUBLIC_URL must be set, and be a web address, outside the demo."""

from __future__ import annotations

from core.checks import check_production_settings


def _ids(settings) -> list[str]:
    return [problem.id for problem in check_production_settings(None)]


def test_an_unset_public_url_is_an_error_outside_the_demo(settings):
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = False
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    [problem] = [p for p in check_production_settings(None) if p.id == "wasl.E010"]
    assert problem.is_serious()
    assert "http://127.0.0.1:8000" in problem.msg  # where every QR code would point
    assert "WASL_PUBLIC_URL=https://" in problem.hint and "/etc/wasl/wasl.env" in problem.hint


def test_the_demo_needs_no_public_url(settings):
    settings.DEMO = True
    settings.PUBLIC_URL_CONFIGURED = False
    assert _ids(settings) == []


def test_a_public_url_that_is_not_a_web_address_is_an_error(settings):
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = True
    for wrong in ("wasl.example.ma", "ftp://wasl.example.ma", "https://", "https://wasl.example.ma/?x=1"):
        settings.PUBLIC_URL = wrong
        assert "wasl.E011" in _ids(settings), wrong
    for right in ("https://wasl.example.ma", "https://example.ma/wasl", "http://10.0.0.5:8000"):
        settings.PUBLIC_URL = right
        assert not {"wasl.E010", "wasl.E011"} & set(_ids(settings)), right


def test_a_public_url_whose_host_is_not_allowed_is_an_error(settings):
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = True
    settings.ALLOWED_HOSTS = ["wasl.example.ma", ".commune.ma", "[::1]"]
    for allowed in (
        "https://wasl.example.ma",
        "https://WASL.example.ma:8443/x",
        "https://a.commune.ma",
        "http://[::1]:8000",
    ):
        settings.PUBLIC_URL = allowed
        assert "wasl.E012" not in _ids(settings), allowed
    settings.PUBLIC_URL = "https://other.example.ma"
    [problem] = [p for p in check_production_settings(None) if p.id == "wasl.E012"]
    assert problem.is_serious() and "other.example.ma" in problem.msg
    assert problem.hint == "Add other.example.ma to WASL_ALLOWED_HOSTS."
