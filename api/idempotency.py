"""The ``Idempotency-Key`` header of the operations that make something (a deposit, a letter to
another administration, a folder): a retry gets the first answer again; nothing is made twice.

What each answer means is in :mod:`registry.idempotency` and ``docs/api.md``. Here: reading the
header, the request's fingerprint, and the answer, rendered once and kept as it was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Header, Schema, Status
from ninja.renderers import JSONRenderer

from api import errors
from documents.intake import CheckedFile
from registry.idempotency import (
    Idempotency,
    Outcome,
    idempotency_answer,
    idempotency_claim,
    idempotency_release,
    in_progress_message,
)
from tenancy.models import User

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Printable ASCII (as the draft's sf-string), no space at either end, 1 to 100 characters.
KEY_PATTERN = r"^[!-~]([ -~]{0,98}[!-~])?$"

IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias=HEADER,
        max_length=100,
        pattern=KEY_PATTERN,
        description=(
            "Makes a retry safe: a unique value per request (a UUID), sent again with the same request "
            "when its answer was lost. The request is done once; a retry gets the same answer (with "
            f"`{REPLAYED}: true`). 409 while the first is still being processed, 422 when the key came "
            "with a different request. Keys are the account's own, remembered for 24 hours (docs/api.md)."
        ),
    ),
]

_renderer = JSONRenderer()
CONTENT_TYPE = f"{_renderer.media_type}; charset={_renderer.charset}"


def idempotent_schema(status: int) -> dict[str, Any]:
    """What the schema says of an operation taking the header (``openapi_extra``): the header
    marking a replayed answer, and what 409 and 422 mean there."""
    return {
        "responses": {
            status: {  # an int, as the operation's own responses: merged into them
                "headers": {
                    REPLAYED: {
                        "description": "`true` when this is the answer kept for an earlier request with the "
                        "same Idempotency-Key (nothing was done again); absent otherwise.",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
                }
            },
            409: {
                "description": "A request with the same Idempotency-Key is still being processed "
                "(`idempotency_key_in_progress`): try again after Retry-After; or the object is in "
                "another state than the request needs.",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            },
            422: {
                "description": "The request does not match this schema (fields at fault in `fields`), or its "
                "Idempotency-Key was used with a different request (`idempotency_key_reused`).",
            },
        }
    }


def request_hash(request: HttpRequest, files: Sequence[CheckedFile]) -> str:
    """The fingerprint of a request: its method, path, form fields and files (name and SHA-256,
    in order). A retry has the same; another request under the same key does not."""
    digest = hashlib.sha256()

    def part(text: str) -> None:
        digest.update(text.encode())
        digest.update(b"\x00")

    part(request.method or "")
    part(request.path)
    for name, values in sorted(request.POST.lists()):
        part(name)
        for value in values:
            part(value)
    for file in files:
        part(file.filename)
        part(file.sha256)
    return digest.hexdigest()


def _rendered(request: HttpRequest, result: Status[Any], out: type[Schema]) -> str:
    data = out.model_validate(result.value, from_attributes=True).model_dump()
    return str(_renderer.render(request, data, response_status=result.status_code))


def _answer(status: int, body: str, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPE)
    if replayed:
        response[REPLAYED] = "true"
    return response


def idempotent(
    request: HttpRequest,
    *,
    key: str,
    user: User,
    files: Sequence[CheckedFile],
    out: type[Schema],
    run: Callable[[Idempotency | None], Status[Any]],
    rebuild: Callable[[int], Status[Any]],
) -> HttpResponse | Status[Any]:
    """Answer the request with ``run`` (given the claim to bind its object to), once per key.

    Without a key, ``run(None)``. With one: the kept answer of an earlier request with it, or
    409 while that request is still running, or 422 (raised) if the key came with another
    request; otherwise ``run`` and keep its answer. ``rebuild(object_id)`` answers a retry of a
    request that made its object but never answered (its process stopped). ``out`` is the
    schema of the success answer, which is rendered here so that what is kept is what was sent.
    """
    if not key:
        return run(None)
    claim = idempotency_claim(user=user, key=key, request_hash=request_hash(request, files))
    if claim.outcome == Outcome.REPLAY:
        return _answer(claim.status, claim.body, replayed=True)
    if claim.outcome == Outcome.REBUILD:
        assert claim.object_id is not None
        result = rebuild(claim.object_id)
        body = _rendered(request, result, out)
        idempotency_answer(claim.key_id, status=result.status_code, body=body)
        return _answer(result.status_code, body, replayed=True)
    if claim.outcome == Outcome.IN_PROGRESS:
        refusal = errors.error_body("idempotency_key_in_progress", in_progress_message())
        response = _answer(409, str(_renderer.render(request, refusal, response_status=409)), replayed=False)
        response["Retry-After"] = "1"
        return response
    assert claim.idempotency is not None
    try:
        result = run(claim.idempotency)
        body = _rendered(request, result, out)
    except BaseException:
        idempotency_release(claim.idempotency)
        raise
    idempotency_answer(claim.key_id, status=result.status_code, body=body)
    return _answer(result.status_code, body, replayed=False)
