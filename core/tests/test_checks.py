"""The configuration's system checks: WASL_PUBLIC_URL must be set, and be a web address, outside the demo."""

from __future__ import annotations

from django.core.checks import CheckMessage
from pytest_django import Settings

from core.checks import check_email_sender, check_production_settings


def _ids(settings: Settings) -> list[str]:
    return [problem.id for problem in check_production_settings(None)]


def test_an_unset_public_url_is_an_error_outside_the_demo(settings: Settings) -> None:
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = False
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    [problem] = [p for p in check_production_settings(None) if p.id == "wasl.E010"]
    assert problem.is_serious()
    assert "http://127.0.0.1:8000" in problem.msg  # where every QR code would point
    assert "WASL_PUBLIC_URL=https://" in problem.hint and "/etc/wasl/wasl.env" in problem.hint


def test_the_demo_needs_no_public_url(settings: Settings) -> None:
    settings.DEMO = True
    settings.PUBLIC_URL_CONFIGURED = False
    assert _ids(settings) == []


def test_a_public_url_that_is_not_a_web_address_is_an_error(settings: Settings) -> None:
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = True
    for wrong in ("wasl.example.ma", "ftp://wasl.example.ma", "https://", "https://wasl.example.ma/?x=1"):
        settings.PUBLIC_URL = wrong
        assert "wasl.E011" in _ids(settings), wrong
    for right in ("https://wasl.example.ma", "https://example.ma/wasl", "http://10.0.0.5:8000"):
        settings.PUBLIC_URL = right
        assert not {"wasl.E010", "wasl.E011"} & set(_ids(settings)), right


def test_a_malformed_public_url_is_one_error_not_a_crash(settings: Settings) -> None:
    """A public URL Python cannot even split (an unclosed IPv6 bracket), a port out of range or
    not a number, a host name with a space, or credentials in it: an error, with no traceback."""
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = True
    for wrong in (
        "https://[::1",
        "https://wasl.example.ma:99999",
        "https://wasl.example.ma:abc",
        "https://wasl.example.ma:0",
        "https://wasl example.ma",
        "https://user:secret@wasl.example.ma",
        "https://wasl.example.ma\\@evil.example",
    ):
        settings.PUBLIC_URL = wrong
        assert "wasl.E011" in _ids(settings), wrong
    for right in ("https://[2001:db8::1]", "https://wasl.example.ma:8443", "http://wasl-1.example.ma"):
        settings.PUBLIC_URL = right
        assert not {"wasl.E010", "wasl.E011"} & set(_ids(settings)), right


def test_a_public_url_whose_host_wasl_refuses_stops_the_start(settings: Settings) -> None:
    """Every QR code and e-mailed link would reach a host Wasl answers with 400: the web server
    and the worker refuse to start (and `check --deploy` says it), as `manage.py install` does."""
    from django.core.checks import run_checks

    from core.checks import SERVING_TAG
    from operations.readiness import STATE_TAGS

    def readiness_problems() -> list[CheckMessage]:
        # The checks of this tag run at start (operations.readiness) and with check --deploy.
        return run_checks(tags=[SERVING_TAG], include_deployment_checks=True)

    assert SERVING_TAG in STATE_TAGS
    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = True
    settings.PUBLIC_URL = "https://wasl.commune.ma"
    settings.ALLOWED_HOSTS = ["wasl.example.ma"]
    [problem] = [p for p in readiness_problems() if p.id == "wasl.E012"]
    assert problem.is_serious()
    assert problem.hint is not None
    assert "wasl.commune.ma" in problem.msg and "WASL_ALLOWED_HOSTS" in problem.hint
    assert "wasl.E012" not in _ids(settings)  # other commands (a backup, a restore) still run
    for allowed in (["wasl.commune.ma"], [".commune.ma"], ["*"], ["wasl.example.ma", "WASL.commune.ma"]):
        settings.ALLOWED_HOSTS = allowed
        assert "wasl.E012" not in [p.id for p in readiness_problems()], allowed


def test_trusting_every_address_as_a_proxy_is_a_warning(settings: Settings) -> None:
    """0.0.0.0/0 or ::/0 in WASL_TRUSTED_PROXIES believes every client's X-Forwarded-For: each
    chooses its own address for the rate limits (sign-in attempts, password resets)."""
    import ipaddress

    settings.DEMO = False
    settings.PUBLIC_URL_CONFIGURED = True
    settings.PUBLIC_URL = "https://wasl.example.ma"
    for everyone in ("0.0.0.0/0", "::/0"):
        settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network(everyone)]
        [problem] = [p for p in check_production_settings(None) if p.id == "wasl.W011"]
        assert not problem.is_serious() and everyone in problem.msg
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")]
    assert "wasl.W011" not in _ids(settings)


def test_real_mail_from_the_placeholder_sender_is_a_warning(settings: Settings) -> None:
    """WASL_EMAIL_HOST set but WASL_EMAIL_FROM forgotten: mail would leave as no-reply@wasl.localhost."""
    smtp = {"default": {"BACKEND": "core.mail.SmtpEmailBackend", "OPTIONS": {"host": "smtp.commune.ma"}}}
    outbox = {"default": {"BACKEND": "core.mail.OutboxEmailBackend", "OPTIONS": {"echo": False}}}
    settings.MAILERS = smtp
    settings.DEFAULT_FROM_EMAIL = "Wasl <no-reply@wasl.localhost>"
    [problem] = check_email_sender(None)
    assert problem.id == "wasl.W012" and "no-reply@wasl.localhost" in problem.msg and "WASL_EMAIL_FROM" in problem.hint
    settings.DEFAULT_FROM_EMAIL = "Wasl <wasl@commune.ma>"
    assert check_email_sender(None) == []
    settings.MAILERS, settings.DEFAULT_FROM_EMAIL = outbox, "Wasl <no-reply@wasl.localhost>"
    assert check_email_sender(None) == []  # nothing leaves the machine: the outbox keeps it
