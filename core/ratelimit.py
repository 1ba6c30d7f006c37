"""Fixed-window rate limits kept in Django's cache.

The window is aligned on multiples of its length, so ``Retry-After`` is the time left in
the current window. With the default in-process cache each server process counts on its
own; deployments with several processes share a cache (see docs/configuration.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext


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


def too_many(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """The page answering a request past its limit: 429, with ``Retry-After``."""
    response = render(request, "core/rate_limited.html", {"retry_after": limited.retry_after}, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response
