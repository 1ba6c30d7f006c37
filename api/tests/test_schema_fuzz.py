"""The API against its own OpenAPI schema, fuzzed by schemathesis as a citizen and as a clerk.

Every operation is called with generated requests, valid and invalid (bounded: a few examples
each, a fixed seed through ``derandomize``), in-process through the WSGI application on the
test database. Every default check must pass: no server error, no status or content type the
schema does not document, every body of the documented shape, invalid input refused.

Two choices, said here so nobody wonders:
- a request of the schema's shape may still be refused by a rule the schema cannot state (an
  unknown administration code, an end date before the start): that is a documented 400 with
  the reason; what does not match the schema is a 422. So 400 counts as an answer to valid
  data, 422 never does.
- unknown query parameters are ignored, as HTTP APIs do, rather than refused.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import APIOperation
from schemathesis.transport.wsgi import WSGITransport
from urllib3 import encode_multipart_formdata
from werkzeug.datastructures import FileStorage

from api.testing import bearer
from api.urls import api
from tenancy.models import Administration, User
from workflow.testing import deposit, make_procedure


def _load() -> Any:
    from wasl.wsgi import application

    raw = json.loads(json.dumps(api.get_openapi_schema()))
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"allow-extra-parameters": False, "with-security-parameters": False},
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
                }
            },
        }
    )
    loaded = schemathesis.openapi.from_dict(raw, config=config)
    loaded.app = application
    return loaded


schema = _load()
# A generated request of any operation (schemathesis's own generic parameters).
AnyCase = Case[APIOperation[Any, Any, Any, Any]]


@pytest.fixture(autouse=True)
def _multipart_as_clients_send_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schemathesis 4.32's in-process (WSGI) transport hands a multipart form to Werkzeug, which
    writes an empty part without the line break before the next boundary, and also sets
    ``Content-Type: multipart/form-data`` without the boundary: no server can parse that. Real
    clients (curl, requests) encode it as RFC 7578 says: so does this one."""
    serialize = WSGITransport.serialize_case

    def serialize_case(self: WSGITransport, case: AnyCase, **kwargs: Any) -> dict[str, Any]:
        data = serialize(self, case, **kwargs)
        form = data.get("data")
        if isinstance(form, dict) and (case.media_type or "").startswith("multipart/"):
            fields: list[tuple[str, Any]] = []
            for name, value in form.items():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, FileStorage):
                        part = (
                            item.filename or name,
                            item.stream.read(),
                            item.content_type or "application/octet-stream",
                        )
                        fields.append((name, part))
                    else:
                        fields.append((name, item if isinstance(item, bytes) else str(item)))
            data["data"], data["headers"]["Content-Type"] = encode_multipart_formdata(fields)
        return data

    monkeypatch.setattr(WSGITransport, "serialize_case", serialize_case)


@pytest.fixture
def world(db: None, commune: Administration, citizen: User, clerk: User) -> None:
    cache.clear()
    make_procedure(commune)
    deposit(commune, citizen, procedure="URB-PC")


@pytest.fixture
def citizen_token(world: None, citizen: User) -> str:
    return bearer(citizen).defaults["HTTP_AUTHORIZATION"]


@pytest.fixture
def clerk_token(world: None, clerk: User) -> str:
    return bearer(clerk).defaults["HTTP_AUTHORIZATION"]


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=10, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_as_citizen(case: AnyCase, citizen_token: str) -> None:
    call(case, citizen_token)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=10, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_as_clerk(case: AnyCase, clerk_token: str) -> None:
    call(case, clerk_token)


def call(case: AnyCase, token: str) -> None:
    # The test client's way: keep the test's database connection open across the request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        case.call_and_validate(headers={"Authorization": token})
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
