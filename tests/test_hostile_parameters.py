"""Every URL pattern of the site, asked with hostile parameters by a signed-in staff member
(every role of the administration) and by a citizen: never a server error.

The patterns are read from the resolver, so a new page is swept as soon as it exists. Each is
asked with real ids and codes (to reach the view's code) and with ids past 64 bits, and each
time with query parameters and form fields that are negative, huge, not numbers, far dates,
NUL characters and overlong text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Literal, TypedDict

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from api.testing import bearer
from tenancy.models import Administration, Membership, User
from workflow.testing import deposit, make_procedure

Role = Membership.Role

# Names a view may read from the query string or a form, each given the same hostile value.
NAMES = [
    "page",
    "rows",
    "ids",
    "box",
    "year",
    "date_from",
    "date_to",
    "direction",
    "q",
    "template",
    "to",
    "procedure",
    "code",
    "sort",
    "service",
    "status",
    "register",
    "sender",
    "version",
    "offset",
    "limit",
    "number",
    "subject",
    "kind",
    "region",
    "which",
    "next",
    "format",
]
HOSTILE = {
    "negative": "-1",
    "huge": "9" * 25,
    "far date": "9999-12-31",
    "not a number, with a NUL": "a\x00b",
}


def patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Every route of the site as a regular expression source, included ones joined."""
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern.regex.pattern).lstrip("^")
        if isinstance(entry, URLResolver):
            yield from patterns(entry, pattern.rstrip("$").replace("\\Z", ""))
        elif isinstance(entry, URLPattern):
            yield pattern


GROUP = re.compile(r"\(\?P<(\w+)>([^)]*)\)")


def fill(pattern: str, values: dict[str, str]) -> str | None:
    """A concrete path for ``pattern``: each named group takes ``values[name]`` (or a value of its
    shape); None when the pattern has unnamed parts this sweep cannot fill."""

    def value(match: re.Match[str]) -> str:
        name, shape = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if "0-9a-f" in shape:  # a UUID
            return str(uuid.uuid4())
        if shape in ("[0-9]+", "\\d+"):
            return values["<int>"]
        return "x"

    path = GROUP.sub(value, pattern)
    path = path.replace("\\Z", "").replace("$", "").replace("\\.", ".").replace("\\", "")
    if any(c in path for c in "()[]*+?"):
        return None
    return "/" + path.lstrip("/")


class HostileWorld(TypedDict):
    staff: User
    citizen: User
    pk: str
    code: str


@pytest.fixture
def world(commune: Administration, citizen: User, clerk: User) -> HostileWorld:
    cache.clear()
    staff = clerk
    for role in (Role.ADMIN, Role.AUDITOR, Role.HEAD, Role.AGENT, Role.SIGNATORY):
        Membership.objects.create(user=staff, administration=commune, role=role)
    make_procedure(commune)
    registration = deposit(commune, citizen, procedure="URB-PC")
    return {"staff": staff, "citizen": citizen, "pk": str(registration.correspondence.pk), "code": commune.code}


def sweep(client: Client, world: HostileWorld) -> list[str]:
    failures = []
    for pattern in patterns():
        for ids in (world["pk"], str(2**63), "9" * 25):
            path = fill(
                pattern,
                {"code": world["code"], "<int>": ids, "pk": ids, "token": "x" * 10, "uidb64": "x", "path": "x"},
            )
            if path is None:
                continue
            for label, hostile in HOSTILE.items():
                query = dict.fromkeys(NAMES, hostile)
                for method in ("get", "post") if ids == world["pk"] else ("get",):
                    response = getattr(client, method)(path, query)
                    if response.status_code >= 500:
                        failures.append(f"{method.upper()} {path} ({label}): {response.status_code}")
                if ids != world["pk"]:
                    break  # past-64-bit ids: one family of parameters is enough
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("who", ["staff", "citizen"])
def test_no_page_or_endpoint_answers_a_server_error_to_hostile_parameters(
    world: HostileWorld, who: Literal["staff", "citizen"]
) -> None:
    # Signed in on the pages, and with a bearer token for the API.
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=bearer(world[who]).defaults["HTTP_AUTHORIZATION"])
    client.force_login(world[who])
    failures = sweep(client, world)
    assert not failures, "\n".join(failures)
