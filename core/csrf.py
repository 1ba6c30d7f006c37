"""Why a form was refused by Django's CSRF check, from what the request shows.

Django gives its failure view a reason in English ("CSRF cookie not set.", "Origin checking
failed - … does not match any trusted origins."); the person who sent the form needs the likely
cause, in their language, and the administrator of the site the setting to change
(core.views.csrf_failure). The causes, most specific first:

- ``https_not_seen``: the browser used HTTPS (its Origin or Referer says so for this very host,
  or a peer that is not a trusted proxy sent ``X-Forwarded-Proto: https``) but the request
  reached Wasl as plain HTTP: a reverse proxy left out of ``WASL_TRUSTED_PROXIES``, or one that
  does not send ``X-Forwarded-Proto``.
- ``foreign_origin``: the form came from another origin than the site's own (another site, the
  same site under another scheme or port, a proxy that does not pass the Host header on).
- ``plain_http``: cookies are secure (``WASL_SECURE_COOKIES``) and the page was opened over
  plain HTTP, where a browser keeps no secure cookie: no form can be posted there.
- ``expired``: the rest, mostly a page left open while its token changed (a sign-in in another
  tab) or a browser that refuses this site's cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.middleware.csrf import REASON_BAD_ORIGIN, REASON_BAD_REFERER

from core.proxies import https_claimed_by_untrusted_peer

# Django's reasons carry the origin they refused; their text before it identifies them.
_ORIGIN_REASONS = (REASON_BAD_ORIGIN.split("%s")[0], REASON_BAD_REFERER.split("%s")[0])


class CsrfCause(StrEnum):
    HTTPS_NOT_SEEN = "https_not_seen"
    FOREIGN_ORIGIN = "foreign_origin"
    PLAIN_HTTP = "plain_http"
    EXPIRED = "expired"


@dataclass(frozen=True)
class CsrfFailure:
    cause: CsrfCause
    # The origin the browser said the form came from, as it said it (only for foreign_origin).
    origin: str = ""
    # This site's origin as the request reached it.
    site: str = ""


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 (raises on a malformed IPv6 address or port)
        parts.port  # noqa: B018
    except ValueError:
        return None
    return parts


def _browser_origin(request: HttpRequest) -> str:
    """The origin the browser sent the form from: its Origin header, or its Referer's."""
    origin = str(request.META.get("HTTP_ORIGIN", "")).strip()
    if origin:
        return origin
    parts = _split(str(request.META.get("HTTP_REFERER", "")).strip())
    return f"{parts.scheme}://{parts.netloc}" if parts and parts.scheme and parts.netloc else ""


def request_host(request: HttpRequest) -> str:
    """The request's host, or empty when it is not an allowed one."""
    try:
        return request.get_host()
    except DisallowedHost:
        return ""


def _hostname(netloc: str) -> str:
    parts = _split(f"//{netloc}")
    return (parts.hostname or "") if parts else ""


def csrf_failure_cause(request: HttpRequest, reason: str) -> CsrfFailure:
    host = request_host(request)
    site = f"{request.scheme}://{host}" if host else ""
    origin = _browser_origin(request)
    if not request.is_secure():
        said = _split(origin)
        https_here = (
            bool(host) and said is not None and said.scheme == "https" and _hostname(said.netloc) == _hostname(host)
        )
        if https_here or https_claimed_by_untrusted_peer(request):
            return CsrfFailure(CsrfCause.HTTPS_NOT_SEEN, site=site)
    if origin and reason.startswith(_ORIGIN_REASONS):
        return CsrfFailure(CsrfCause.FOREIGN_ORIGIN, origin=origin, site=site)
    if not request.is_secure() and settings.CSRF_COOKIE_SECURE:
        return CsrfFailure(CsrfCause.PLAIN_HTTP, site=site)
    return CsrfFailure(CsrfCause.EXPIRED, site=site)
