"""What a reverse proxy says about a request, believed only from the proxies Wasl was told of.

Behind a reverse proxy the peer of every connection is the proxy: the client's address and
whether the client used HTTPS arrive in headers the proxy writes, ``X-Forwarded-For`` and
``X-Forwarded-Proto``. Anyone can write those headers, so they are read only when the peer is
one of ``WASL_TRUSTED_PROXIES`` (addresses, networks, and ``unix`` for a Unix socket, whose
peer has no address).

Neither Django nor gunicorn can say that alone: Django's ``SECURE_PROXY_SSL_HEADER`` believes
``X-Forwarded-Proto`` from any peer, and gunicorn by default believes it from 127.0.0.1 and
from Unix sockets and rewrites ``wsgi.url_scheme`` before Django sees the request. So
``operations.gunicorn_config`` turns gunicorn's reading off, and :class:`ProxyHeadersMiddleware`
decides, first of all middleware.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_warned_untrusted_forwarding = False


def _trusted(address: Address) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)


def _parse(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _peer(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the peer of the connection is one of ``WASL_TRUSTED_PROXIES``.

    A peer without an address is a Unix socket's (gunicorn leaves ``REMOTE_ADDR`` empty then):
    trusted only when ``unix`` is listed.
    """
    peer_text = _peer(request)
    if peer_text == "":
        return bool(settings.TRUSTED_UNIX_SOCKET)
    peer = _parse(peer_text)
    return peer is not None and _trusted(peer)


def client_address(request: HttpRequest) -> str:
    """The address of the client, as far as a trusted proxy vouches for it.

    The peer of the connection is the client unless it is one of ``WASL_TRUSTED_PROXIES``.
    Then ``X-Forwarded-For`` is read from the right (each proxy appends the address it was
    reached from) and the first address that is not a trusted proxy is the client: whatever
    stands left of it was written by the client itself and proves nothing. A malformed entry
    stops the walk at the proxy that passed it on.
    """
    peer_text = _peer(request)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if not peer_is_trusted_proxy(request):
        if forwarded and not settings.TRUSTED_PROXIES and not settings.TRUSTED_UNIX_SOCKET:
            _warn_untrusted_forwarding(peer_text or "a Unix socket")
        peer = _parse(peer_text)
        return str(peer) if peer is not None else (peer_text or "unknown")
    client = str(_parse(peer_text) or "unknown")
    for entry in reversed(forwarded.split(",") if forwarded else []):
        hop = _parse(entry)
        if hop is None:
            break
        client = str(hop)
        if not _trusted(hop):
            break
    return client


def _warn_untrusted_forwarding(peer: str) -> None:
    global _warned_untrusted_forwarding
    if not _warned_untrusted_forwarding:
        _warned_untrusted_forwarding = True
        logger.warning(
            "A request from %s carries X-Forwarded-For but WASL_TRUSTED_PROXIES is empty: every client behind "
            "that proxy shares one address for the rate limits. List the proxy in WASL_TRUSTED_PROXIES.",
            peer,
        )


def forwarded_scheme(value: str) -> str:
    """The scheme ``X-Forwarded-Proto`` gives: ``https`` only when every entry says so.

    A proxy should set the header, not append to it; one that appends leaves the client's own
    entry in front of its own, so a client's ``https`` in front of a proxy's ``http`` must not
    win (Django's own reading takes the first entry).
    """
    entries = [entry.strip().lower() for entry in value.split(",")]
    return "https" if all(entry == "https" for entry in entries) else "http"


class ProxyHeadersMiddleware:
    """Sets the request's scheme: the connection's own, or what a trusted proxy says.

    It writes ``wsgi.url_scheme``, which ``request.is_secure()``, ``build_absolute_uri()``, the
    CSRF checks and ``SecurityMiddleware`` (HSTS, HTTPS redirects) all read, so they agree. From a
    trusted proxy, ``X-Forwarded-Proto`` is the scheme. From any other peer a request that
    carries the header is plain HTTP, whatever a server in front of Wasl made of the header (a
    gunicorn started without Wasl's settings believes it from 127.0.0.1): no HSTS, no secure
    redirect is given on a client's word. Without the header the connection's scheme stands.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        claimed = request.META.get("HTTP_X_FORWARDED_PROTO")
        if claimed is not None:
            trusted = peer_is_trusted_proxy(request)
            request.META["wsgi.url_scheme"] = forwarded_scheme(str(claimed)) if trusted else "http"
        return self.get_response(request)


def https_claimed_by_untrusted_peer(request: HttpRequest) -> bool:
    """Whether the request said it came over HTTPS from a peer that is not a trusted proxy (a
    proxy left out of ``WASL_TRUSTED_PROXIES``, or a client trying its luck)."""
    claimed = str(request.META.get("HTTP_X_FORWARDED_PROTO", ""))
    return "https" in claimed.lower() and not peer_is_trusted_proxy(request)
