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
