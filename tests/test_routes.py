"""The outsider test, generated from Django's URL resolver and the table of routes.

Every route the resolver knows has one entry in ``tests.routes.ROUTES`` (a route added without
one fails here), and for each route every persona the entry does not allow gets a refusal — 404
or 403, 401 from the API to a caller without a token, a redirect to the sign-in page — on each
of the route's methods, and changes nothing in the database. Personas that are allowed get no
server error on GET.

The objects of ``tests.world`` are built once for the module, in a transaction rolled back at
its end; each test runs in a savepoint of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from pytest_django import DjangoDbBlocker

from tests.once import built_for_the_module
from tests.routes import ADMIN_SITE, API, EXCHANGE, PAGE, ROUTES, Route
from tests.world import ANONYMOUS, OUTSIDER, OUTSIDER_OWN_CODE, PERSONAS, World, build_world

BY_NAME = {route.name: route for route in ROUTES}


def resolver_routes(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, bool]]:
    """Each route of the resolver: ``namespace:name`` (and True), or its full pattern when it
    has no name (and False)."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace or "") if part)
            yield from resolver_routes(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            if entry.name:
                yield (f"{namespace}:{entry.name}" if namespace else entry.name), True
            else:
                yield prefix + str(entry.pattern), False


NAMED = {key for key, named in resolver_routes() if named}


def test_every_route_has_an_entry_in_the_table() -> None:
    missing = sorted({key for key, _named in resolver_routes()} - set(BY_NAME))
    assert not missing, f"routes with no entry in tests/routes.py (say who may reach them): {missing}"


def test_every_entry_of_the_table_is_a_route() -> None:
    gone = sorted(set(BY_NAME) - {key for key, _named in resolver_routes()})
    assert not gone, f"entries of tests/routes.py naming no route: {gone}"
    assert len(BY_NAME) == len(ROUTES), "a route has two entries"


def test_the_table_tries_each_method_the_api_serves() -> None:
    from api.urls import api

    served = {
        operation.view_func.__name__: tuple(operation.methods)
        for _prefix, router in api._routers
        for path_view in router.path_operations.values()
        for operation in path_view.operations
    }
    for name, methods in served.items():
        assert BY_NAME[f"api:{name}"].methods == methods, name


# ---------------------------------------------------------------- the generated test


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[World, Path, dict[str, Client]]]:
    files = tmp_path_factory.mktemp("world-files")
    with built_for_the_module(django_db_blocker), override_settings(FILES_DIR=str(files)):
        built = build_world()
        yield built, files, clients(built)


def clients(world: World) -> dict[str, Client]:
    """A browser and an API client for each persona (keyed ``persona`` and ``persona/api``)."""
    made: dict[str, Client] = {ANONYMOUS: Client(), f"{ANONYMOUS}/api": Client()}
    for persona, user in world.users.items():
        made[persona] = Client()
        made[persona].force_login(user)
        made[f"{persona}/api"] = Client(headers={"Authorization": f"Bearer {world.tokens[persona]}"})
    return made


def url_of(route: Route, world: World, persona: str, variant: dict[str, str] | None = None) -> str:
    values = {
        key: world.code_for(persona) if value == "@code" else str(world.ids[value[1:]]) if value[:1] == "@" else value
        for key, value in {**route.kwargs, **(variant or {})}.items()
    }
    if route.name in NAMED:
        url = reverse(route.name, kwargs=values)
    else:  # an unnamed route: fill its pattern
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", lambda m: values[m[1] or m[2]], route.name)
        url = url.replace("^", "").replace("$", "")
    query = re.sub(r"@(\w+)", lambda m: str(world.ids[m[1]]), route.query)
    return url + query


def personas_to_try(route: Route) -> list[str]:
    """The outsider naming its own administration's code matters only where the URL also names
    an object of ours."""
    names_ours = "code" in route.kwargs and any(
        value[:1] == "@" for key, value in route.kwargs.items() if key != "code"
    )
    return [p for p in PERSONAS if p != OUTSIDER_OWN_CODE or names_ours]


def body_for(route: Route, world: World) -> dict[str, Any]:
    """A form or JSON body that would act if the persona were allowed to."""
    ids = world.ids
    special = {key: ids[value[1:]] if value[:1] == "@" else value for key, value in route.body.items()}
    return {
        "service": "SG",
        "assign-service": ids["service"],
        "cases": [ids["correspondence"]],
        "folders": [ids["folder"]],
        "reason": "x",
        "agent": "agent@commune.ma",
        "text": "x",
        "body_fr": "x",
        "documents": ["1"],
        "document": "2",
        "passphrase": "passphrase-for-tests",
        "request": str(ids["document_request"]),
        "refusal-reason": "x",
        "is_working": "0",
        "day": "2026-12-01",
        "email": "new.staff@example.ma",
        "role": "admin",
        "recipient": "COMMUNE-TEST",
        "subject": "x",
        "sender_name": "x",
        "title": "x",
        "decision": "approve",
        "keywords": "x",
        **special,
    }


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables of Wasl's apps and the task queue."""
    rows = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            meta = model._meta
            if meta.managed and not meta.proxy and not meta.app_label.startswith(("auth", "contenttypes", "sessions")):
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(meta.db_table)} ORDER BY 1")
                rows[meta.db_table] = cursor.fetchall()
    return rows


def changed(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    return [table for table in before if before[table] != after[table]]


def refused(route: Route, persona: str, response: HttpResponseBase) -> bool:
    status = response.status_code
    location = str(response.get("Location", "")) if status in (301, 302) else ""
    if persona == ANONYMOUS and route.kind == API:
        return status == 401
    if persona == ANONYMOUS and route.kind == PAGE and route.sign_in:
        return location.startswith("/login/")
    if status in (403, 404):
        return True
    if route.redirect_to and location.startswith(route.redirect_to):
        return True
    if route.kind == ADMIN_SITE:
        return location.startswith("/admin/login/")
    if route.kind == EXCHANGE:
        return status == 401
    return False


def send(client: Client, route: Route, method: str, url: str, body: dict[str, Any]) -> Any:
    if method == "GET":
        return client.get(url)
    if route.kind == API:
        return client.post(url, body, content_type="application/json")
    return client.post(url, body)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
def test_personas_not_allowed_are_refused_and_change_nothing(
    route: Route, world: tuple[World, Path, dict[str, Client]], settings: Any
) -> None:
    built, files, made = world
    settings.FILES_DIR = str(files)
    cache.clear()
    body = body_for(route, built)
    rows = snapshot() if route.methods != ("GET",) else {}
    smoked = False
    failures = []
    for persona in personas_to_try(route):
        key = persona.replace(OUTSIDER_OWN_CODE, OUTSIDER)
        client = made[f"{key}/api" if route.kind == API else key]
        urls = [url_of(route, built, persona, variant) for variant in route.variants or ({},)]
        url = urls[0]
        for method in route.methods:
            if route.reached_by(persona, method):
                # The first persona that reaches the route opens it: the URL names a real object,
                # so the refusals below are not the 404 of an address that leads nowhere.
                if method == "GET" and not smoked:
                    smoked = True
                    status = client.get(url).status_code
                    if status >= (500 if route.vacant else 400):
                        failures.append(f"{persona} {method} {url}: {status} (reached: must open)")
                continue
            for url in urls:
                response = send(client, route, method, url, body)
                if not refused(route, persona, response):
                    failures.append(f"{persona} {method} {url}: {response.status_code} {response.get('Location', '')}")
                if method != "GET":
                    after = snapshot()
                    if tables := changed(rows, after):
                        failures.append(f"{persona} {method} {url}: changed {tables}")
                    rows = after
    assert not failures, "\n".join(failures)
