"""Typed access to the ``WASL_*`` environment variables.

Every setting Wasl reads from the environment goes through one of these helpers, which
raise :class:`ConfigurationError` on a malformed value instead of silently falling back.
Each call records the variable in ``DECLARED`` so that a test can check that
``docs/configuration.md`` documents all of them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping

PREFIX = "WASL_"
DECLARED: set[str] = set()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?b?)?\s*$", re.IGNORECASE)
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigurationError(Exception):
    pass


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    if not name.startswith(PREFIX):
        raise ValueError(f"{name} must start with {PREFIX}")
    DECLARED.add(name)
    return (os.environ if environ is None else environ).get(name)


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a boolean (use true or false)")


def env_flag(name: str, *, environ: Mapping[str, str] | None = None) -> bool | None:
    """A boolean that may be left unset: None then, so that the caller can tell "not said"
    from "said false"."""
    if _raw(name, environ) is None:
        return None
    return env_bool(name, False, environ=environ)


def env_int(name: str, default: int, *, minimum: int | None = None, environ: Mapping[str, str] | None = None) -> int:
    value = _raw(name, environ)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ConfigurationError(f"{name}={number} is below the minimum {minimum}")
    return number


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_size(text: str) -> int:
    """``"20MB"`` → 20971520. Units are binary (1 KB = 1024 bytes)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def env_size(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> int:
    value = _raw(name, environ)
    text = default if value is None or not value.strip() else value
    try:
        return parse_size(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a size such as 512KB or 20MB") from None


def parse_rate(text: str) -> tuple[int, int]:
    """``"30/m"`` → (30, 60); ``"100/15m"`` → (100, 900)."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(text)
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _SECONDS[unit]


def env_rate(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    value = _raw(name, environ)
    text = default if value is None or not value.strip() else value
    try:
        return parse_rate(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a rate such as 30/m or 500/h") from None


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(name: str, items: list[str], also: str = "") -> list[IPNetwork]:
    networks: list[IPNetwork] = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{name}: {item!r} is not an IP address or network such as 10.0.0.0/8{also}"
            ) from None
    return networks


def env_networks(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[IPNetwork]:
    """Comma-separated addresses or networks: ``"127.0.0.1, 10.0.0.0/8, ::1"``."""
    return _networks(name, env_list(name, default, environ=environ))


UNIX_SOCKET = "unix"


def env_proxies(name: str, *, environ: Mapping[str, str] | None = None) -> tuple[list[IPNetwork], bool]:
    """Reverse proxies: addresses or networks, and the word ``unix`` for whatever reaches the web
    server through a Unix socket (a peer without an address). Returns the networks and whether
    ``unix`` was listed."""
    items = env_list(name, [], environ=environ)
    unix = any(item.lower() == UNIX_SOCKET for item in items)
    addresses = [item for item in items if item.lower() != UNIX_SOCKET]
    return _networks(name, addresses, also=", or unix"), unix
