"""System checks for combinations of settings that are unsafe outside the demo.

They run with every management command and when the web server and the worker start
(``operations.startup``). Checks of the installation's state (the PKI, the database's
migrations) are in ``trust.checks`` and ``operations.checks``.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.http.request import split_domain_port, validate_host

# Checks of what the running site needs, run when the web server and the worker start
# (operations.readiness) and by `check --deploy`, not with every management command: a backup or a
# restore still runs while they fail.
SERVING_TAG = "wasl_serving"


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
    problems += trusted_proxy_problems()
    return problems


def trusted_proxy_problems() -> list[Any]:
    """A network of every address in WASL_TRUSTED_PROXIES: any client then writes its own
    X-Forwarded-For (and so its own address for the rate limits) and X-Forwarded-Proto."""
    everyone = [str(network) for network in settings.TRUSTED_PROXIES if network.prefixlen == 0]
    if not everyone:
        return []
    return [
        Warning(
            f"WASL_TRUSTED_PROXIES lists {', '.join(everyone)}, every address: any client can choose the address "
            "the rate limits count (sign-in attempts, password resets) and claim HTTPS.",
            hint="List only the reverse proxies' own addresses (127.0.0.1 for a proxy on this machine), or unix.",
            id="wasl.W011",
        )
    ]


@register("wasl", deploy=False)
def check_email_sender(app_configs: Any, **kwargs: Any) -> list[Any]:
    """Mail sent through a real server from the placeholder sender (``WASL_EMAIL_FROM`` left unset):
    a domain that does not exist, which mail servers refuse or file as spam."""
    from core.mail import smtp_configured

    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if smtp_configured() and (domain == "localhost" or domain.endswith(".localhost")):
        return [
            Warning(
                f"E-mail goes out through WASL_EMAIL_HOST from {address}, an address of no real domain: mail "
                "servers refuse it or file it as spam.",
                hint='Set WASL_EMAIL_FROM="Wasl <an address the mail account may send from>" in /etc/wasl/wasl.env.',
                id="wasl.W012",
            )
        ]
    return []


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
    """WASL_PUBLIC_URL, outside the demo: set, and an http(s) address with a host name."""
    if not getattr(settings, "PUBLIC_URL_CONFIGURED", True):
        return [
            Error(
                f"WASL_PUBLIC_URL is not set: receipts' QR codes and e-mailed links would point to {settings.PUBLIC_URL}.",
                hint="Set WASL_PUBLIC_URL=https://<the host name people use> in the service's environment "
                "(/etc/wasl/wasl.env).",
                id="wasl.E010",
            )
        ]
    parts = _public_url_parts()
    if parts is None or parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        return [
            Error(
                f"WASL_PUBLIC_URL={settings.PUBLIC_URL!r} is not a web address.",
                hint="Set WASL_PUBLIC_URL=https://<the host name people use>, without a query, credentials or "
                "port out of range (a host name in another script in its xn-- form).",
                id="wasl.E011",
            )
        ]
    return []


def _public_url_parts() -> SplitResult | None:
    """WASL_PUBLIC_URL split, or None when it has no valid host name or port, or credentials."""
    try:
        parts = urlsplit(settings.PUBLIC_URL)
        port = parts.port  # raises when it is not a number from 0 to 65535
    except ValueError:
        return None
    host, _port = split_domain_port(parts.netloc)
    if not host or "@" in parts.netloc or port == 0:
        return None
    return parts


@register("wasl", SERVING_TAG, deploy=True)
def check_public_url_host(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """The public URL's host is one Wasl answers to: otherwise every QR code and every link sent
    by e-mail reaches a host that Wasl refuses (400)."""
    if settings.DEMO or not getattr(settings, "PUBLIC_URL_CONFIGURED", True):
        return []
    parts = _public_url_parts()
    if parts is None:
        return []  # wasl.E011 says so
    host, _port = split_domain_port(parts.netloc)
    if validate_host(host, settings.ALLOWED_HOSTS):
        return []
    return [
        Error(
            f"WASL_PUBLIC_URL's host {host} is not in WASL_ALLOWED_HOSTS ({','.join(settings.ALLOWED_HOSTS)}): "
            "Wasl would refuse every receipt's QR code and every link it sends by e-mail.",
            hint=f"Add {host} to WASL_ALLOWED_HOSTS, or set WASL_PUBLIC_URL to the address people use.",
            id="wasl.E012",
        )
    ]
