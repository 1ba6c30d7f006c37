"""Limits on sign-in and password-reset attempts, kept in the database.

Two kinds of limit:

* a **window** (client addresses, password-reset requests): at most N attempts in a window
  that starts with the first one;
* a **slow-down** (accounts, and each known device of an account): failures in a row are free
  up to ``LOGIN_FREE_FAILURES``; then each failure makes the next attempt wait, 30 s and twice
  as long after every further failure, at most ``LOGIN_MAX_DELAY``. A success starts the count
  again; a day without failure forgets it. Nobody can keep an account waiting longer than the
  longest delay after their own last failure, and a browser in which the account signed in
  before (a *known device*, remembered by a signed cookie) is counted apart from everyone
  else, so that someone guessing at an account does not keep its owner out.

An attempt is counted *before* the password is checked, in one short transaction that locks
the rows of every key it counts against, so that parallel attempts cannot slip past a limit;
a successful sign-in gives its count back afterwards (:func:`sign_in_succeeded`). A refused
attempt counts against nothing, so a refusal never lengthens a wait.

Keys are keyed digests of what they count (an e-mail address as typed, normalised; a client
address, IPv6 by its /64 network): the table names no one in clear, and an e-mail address is
counted the same whether an account uses it or not, so a limit tells nothing about accounts.
The state lives in the database so that every web process, on every machine, shares it.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.clock import now
from core.ratelimit import RateLimited
from tenancy.models import Throttle

# The first wait of a slowed-down account, doubled after each further failure.
FIRST_DELAY = 30
# Failures in a row of an account are forgotten after this long without a new one.
FORGET_AFTER = 24 * 3600

DEVICE_COOKIE = "wasl_device"
DEVICE_SALT = "wasl.known-device"
DEVICE_MAX_AGE = 180 * 24 * 3600
# Accounts one browser remembers (a shared counter computer serves several people).
DEVICE_MAX_ACCOUNTS = 8


class Reason(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"
    RESET = "reset"


@dataclass
class Throttled(RateLimited):
    """An attempt refused before anything was checked; try again at ``until``."""

    until: datetime
    reason: Reason

    def describe(self) -> str:
        # Rounded up to the minute: "after 14:32" is true from 14:32 on.
        shown = timezone.localtime(self.until + timedelta(seconds=59)).replace(second=0, microsecond=0)
        time = date_format(shown, "H:i")
        if self.reason == Reason.ACCOUNT:
            return _("Too many failed sign-ins for this account. Try again after %(time)s.") % {"time": time}
        if self.reason == Reason.ADDRESS:
            return _("Too many failed sign-ins from your network. Try again after %(time)s.") % {"time": time}
        return _("Too many password-reset requests. Try again after %(time)s.") % {"time": time}


@dataclass(frozen=True)
class Limit:
    key: str
    reason: Reason
    count: int
    seconds: int  # the window, or how long failures in a row are remembered
    slow_down: bool = False


@dataclass(frozen=True)
class SignInAttempt:
    """What one sign-in attempt was counted against, to give it back if it succeeds."""

    limits: tuple[Limit, ...]


def normalised_email(email: str) -> str:
    return email.strip().lower()


def _key(scope: str, value: str) -> str:
    return salted_hmac("wasl.throttle", f"{scope}\n{value}", algorithm="sha256").hexdigest()


def _address_value(address: str) -> str:
    """An IPv6 client owns its whole /64 network: it is counted as one."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _delay(failures_past_free: int) -> timedelta:
    return timedelta(seconds=min(settings.LOGIN_MAX_DELAY, FIRST_DELAY * 2 ** min(failures_past_free, 20)))


def _count(limits: tuple[Limit, ...]) -> None:
    """Count one attempt against every limit, or against none and raise :class:`Throttled`."""
    at = now()
    keys = sorted({limit.key for limit in limits})
    with transaction.atomic():
        Throttle.objects.bulk_create([Throttle(key=key, window_ends_at=at) for key in keys], ignore_conflicts=True)
        rows = {row.key: row for row in Throttle.objects.select_for_update().filter(key__in=keys).order_by("key")}
        refusals = [
            (row.blocked_until, limit.reason)
            for limit in limits
            if (row := rows[limit.key]).blocked_until is not None and row.blocked_until > at
        ]
        if refusals:
            until, reason = max(refusals)
            raise Throttled(retry_after=max(1, int((until - at).total_seconds() + 0.999)), until=until, reason=reason)
        for limit in limits:
            row = rows[limit.key]
            if row.window_ends_at <= at:
                row.count = 0
                row.blocked_until = None
                row.window_ends_at = at + timedelta(seconds=limit.seconds)
            row.count += 1
            if limit.slow_down:
                row.window_ends_at = at + timedelta(seconds=limit.seconds)
                if row.count >= limit.count:
                    row.blocked_until = at + _delay(row.count - limit.count)
            elif row.count >= limit.count:
                row.blocked_until = row.window_ends_at
            row.save(update_fields=["count", "window_ends_at", "blocked_until"])


def _sign_in_limits(*, email: str, address: str | None, device: str | None) -> tuple[Limit, ...]:
    count, window = settings.RATE_LOGIN
    limits = []
    if address is not None:
        limits.append(Limit(_key("sign-in-address", _address_value(address)), Reason.ADDRESS, count, window))
    # A known device of the account has a slow-down of its own, apart from everyone else's.
    account = normalised_email(email)
    key = _key("sign-in-device", f"{account}\n{device}") if device else _key("sign-in-account", account)
    limits.append(Limit(key, Reason.ACCOUNT, settings.LOGIN_FREE_FAILURES, FORGET_AFTER, slow_down=True))
    return tuple(limits)


def sign_in_attempt(*, email: str, address: str | None, device: str | None = None) -> SignInAttempt:
    """Count a sign-in attempt before its password is checked.

    Raises :class:`Throttled` (and counts nothing) when the client address, the account or
    the known device must wait. ``device`` is the known-device token the browser holds for
    this account (:func:`known_device`), if any.
    """
    limits = _sign_in_limits(email=email, address=address, device=device)
    _count(limits)
    return SignInAttempt(limits)


def sign_in_succeeded(attempt: SignInAttempt) -> None:
    """The password was right: the account's failures in a row end, the address gets its
    count back (it counts failures only)."""
    with transaction.atomic():
        for limit in attempt.limits:
            if limit.slow_down:
                Throttle.objects.filter(key=limit.key).delete()
            else:
                Throttle.objects.filter(key=limit.key, count__gt=0).update(count=F("count") - 1)
                Throttle.objects.filter(key=limit.key, count__lt=limit.count).update(blocked_until=None)


def account_failures_forget(*, email: str) -> None:
    """End the slow-down of an account (its owner proved it by resetting the password)."""
    Throttle.objects.filter(key=_key("sign-in-account", normalised_email(email))).delete()


def password_reset_attempt(*, email: str, address: str) -> None:
    """Count a password-reset request; raise :class:`Throttled` when one more is too many.

    Counted by the e-mail address typed, whether an account uses it or not.
    """
    account_count, account_window = settings.RATE_RESET_ACCOUNT
    address_count, address_window = settings.RATE_RESET_ADDRESS
    _count(
        (
            Limit(_key("reset-address", _address_value(address)), Reason.RESET, address_count, address_window),
            Limit(_key("reset-account", normalised_email(email)), Reason.RESET, account_count, account_window),
        )
    )


def throttles_forget_expired() -> int:
    """Delete the counts nobody needs any more (the worker runs it hourly)."""
    at = now()
    deleted, _kinds = Throttle.objects.filter(window_ends_at__lte=at).exclude(blocked_until__gt=at).delete()
    return deleted


# Known devices: a browser in which an account signed in (or reset its password) holds a
# signed cookie naming it, with a random token of its own for that account.


def _account_tag(email: str) -> str:
    return salted_hmac("wasl.account-tag", normalised_email(email), algorithm="sha256").hexdigest()[:20]


def _known_devices(request: HttpRequest) -> dict[str, str]:
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return {}
    try:
        value = signing.loads(raw, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(tag): str(token) for tag, token in value.items()}


def known_device(request: HttpRequest, email: str) -> str | None:
    """The token of this browser for the account of ``email``, when it is a known device."""
    return _known_devices(request).get(_account_tag(email))


def device_remember(request: HttpRequest, email: str) -> None:
    """Ask :class:`tenancy.middleware.KnownDeviceMiddleware` to remember this browser."""
    request.wasl_known_account = _account_tag(email)  # type: ignore[attr-defined]


def device_cookie_value(request: HttpRequest, tag: str) -> str:
    """The signed cookie with ``tag`` remembered last (its token kept, or a new one)."""
    devices = _known_devices(request)
    token = devices.pop(tag, None) or secrets.token_urlsafe(16)
    devices[tag] = token
    kept = dict(list(devices.items())[-DEVICE_MAX_ACCOUNTS:])
    return signing.dumps(kept, salt=DEVICE_SALT, compress=True)
