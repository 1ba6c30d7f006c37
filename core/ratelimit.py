"""Fixed-window rate limits kept in Django's cache.

The window is aligned on multiples of its length, so ``Retry-After`` is the time left in
the current window. With the default in-process cache each server process counts on its
own; deployments with several processes share a cache (see docs/configuration.md).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)


@dataclass
class RateLimited(Exception):
    retry_after: int

    def describe(self) -> str:
        """What the person is told, in the active language."""
        return ngettext(
            "Too many requests. Try again in %(seconds)d second.",
            "Too many requests. Try again in %(seconds)d seconds.",
            self.retry_after,
        ) % {"seconds": self.retry_after}


def rate_limit_hit(*, scope: str, key: str, rate: tuple[int, int], now: float | None = None) -> None:
    """Count one hit for ``key`` in ``scope``; raise :class:`RateLimited` past ``rate``."""
    limit, window = rate
    current = time.time() if now is None else now
    window_start = int(current // window) * window
    cache_key = f"rl:{scope}:{key}:{window_start}"
    if cache.add(cache_key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=window + 1)
            count = 1
    if count > limit:
        raise RateLimited(retry_after=max(1, int(window_start + window - current)))


_warned_untrusted_forwarding = False


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(request: HttpRequest) -> str:
    """The address of the client, as far as a trusted proxy vouches for it.

    The peer of the connection is the client unless it is one of ``WASL_TRUSTED_PROXIES``.
    Then ``X-Forwarded-For`` is read from the right (each proxy appends the address it was
    reached from) and the first address that is not a trusted proxy is the client: whatever
    stands left of it was written by the client itself and proves nothing. A malformed entry
    stops the walk at the proxy that passed it on.
    """
    peer_text = str(request.META.get("REMOTE_ADDR", ""))
    peer = _parse(peer_text)
    if peer is None:
        return peer_text or "unknown"
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if not _trusted(peer):
        if forwarded and not settings.TRUSTED_PROXIES:
            _warn_untrusted_forwarding(peer_text)
        return str(peer)
    client = peer
    for entry in reversed(forwarded.split(",") if forwarded else []):
        hop = _parse(entry)
        if hop is None:
            break
        client = hop
        if not _trusted(hop):
            break
    return str(client)


def _warn_untrusted_forwarding(peer: str) -> None:
    global _warned_untrusted_forwarding
    if not _warned_untrusted_forwarding:
        _warned_untrusted_forwarding = True
        logger.warning(
            "A request from %s carries X-Forwarded-For but WASL_TRUSTED_PROXIES is empty: every client behind "
            "that proxy shares one address for the rate limits. List the proxy in WASL_TRUSTED_PROXIES.",
            peer,
        )
