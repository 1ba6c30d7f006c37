"""System checks for combinations of settings that are unsafe outside the demo.

They run with every management command and when the web server and the worker start
(``operations.startup``). Checks of the installation's state (the PKI, the database's
migrations) are in ``trust.checks`` and ``operations.checks``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.http.request import split_domain_port, validate_host


@register("wasl", deploy=False)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    if settings.DEMO:
        return []
    problems: list[Any] = []
    if not settings.ALLOWED_HOSTS:
        problems.append(
            Error("WASL_ALLOWED_HOSTS is empty.", hint="List the host names Wasl is served under.", id="wasl.E001")
        )
    if settings.DEBUG:
        problems.append(Warning("WASL_DEBUG is on outside the demo.", id="wasl.W001"))
    if str(settings.MAILERS["default"]["BACKEND"]).endswith("console.EmailBackend"):
        problems.append(
            Warning("E-mail goes to the console.", hint="Set WASL_EMAIL_HOST to send real e-mail.", id="wasl.W002")
        )
    problems += public_url_problems()
    if settings.PUBLIC_URL.startswith("http://") and "127.0.0.1" not in settings.PUBLIC_URL:
        problems.append(Warning("WASL_PUBLIC_URL is not HTTPS.", id="wasl.W003"))
    return problems


@register("wasl", deploy=False)
def check_secure_cookies_over_http(app_configs: Any, **kwargs: Any) -> list[Any]:
    """Secure cookies asked for on a site served over plain HTTP: browsers keep none of them
    there, so the CSRF check refuses every form, sign-in included."""
    if settings.SECURE_COOKIES and not settings.PUBLIC_URL.lower().startswith("https://"):
        return [
            Warning(
                "WASL_SECURE_COOKIES is on but WASL_PUBLIC_URL is plain HTTP: browsers send secure cookies only "
                "over HTTPS, so every form (sign-in included) will fail over plain HTTP.",
                hint="Serve Wasl over HTTPS and set WASL_PUBLIC_URL=https://…, or unset WASL_SECURE_COOKIES.",
                id="wasl.W010",
            )
        ]
    return []


def public_url_problems() -> list[Any]:
    """WASL_PUBLIC_URL, outside the demo: set, an http(s) address with a host name, and that host
    one of WASL_ALLOWED_HOSTS (else the site refuses every request made to its own address)."""
    if not getattr(settings, "PUBLIC_URL_CONFIGURED", True):
        return [
            Error(
                f"WASL_PUBLIC_URL is not set: receipts' QR codes and e-mailed links would point to {settings.PUBLIC_URL}.",
                hint="Set WASL_PUBLIC_URL=https://<the host name people use> in the service's environment "
                "(/etc/wasl/wasl.env).",
                id="wasl.E010",
            )
        ]
    parts = urlsplit(settings.PUBLIC_URL)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return [
            Error(
                f"WASL_PUBLIC_URL={settings.PUBLIC_URL!r} is not a web address.",
                hint="Set WASL_PUBLIC_URL=https://<the host name people use>, without a query.",
                id="wasl.E011",
            )
        ]
    host, _port = split_domain_port(parts.netloc.rpartition("@")[2])
    if settings.ALLOWED_HOSTS and not validate_host(host, settings.ALLOWED_HOSTS):
        return [
            Error(
                f"WASL_PUBLIC_URL's host {host} is not in WASL_ALLOWED_HOSTS ({','.join(settings.ALLOWED_HOSTS)}): "
                "the site would refuse every request made to its own address.",
                hint=f"Add {host} to WASL_ALLOWED_HOSTS.",
                id="wasl.E012",
            )
        ]
    return []
