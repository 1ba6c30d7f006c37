"""One JSON shape for every API error: ``{"error": {"code", "message", "field"?, "fields"?}}``.

The message is translated into the caller's language (Accept-Language).
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from core.errors import NotFound, Refused
from core.ratelimit import RateLimited
from documents.intake import TOO_LARGE, FileRejected, Upload


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def sent_files(request: HttpRequest, field: str, *others: str) -> list[Upload]:
    """The files sent in the form field ``field``. A file sent under any name but ``field`` and
    ``others`` (the operation's other file fields) is refused with 422 naming it: read as none,
    a deposit whose client misnamed the field would be registered without its file."""
    unknown = sorted(set(request.FILES) - {field, *others})
    if unknown:
        raise ApiError(
            422,
            "unknown_file_field",
            _("Files go in the field “%(expected)s”; this request sent one in “%(field)s”.")
            % {"expected": field, "field": unknown[0]},
            field=unknown[0],
        )
    return cast("list[Upload]", request.FILES.getlist(field))


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None
    fields: dict[str, str] | None = None


class ErrorOut(Schema):
    """Every error answer: a stable ``code``, a ``message`` in the caller's language, the input
    at fault in ``field`` (and, for a request that does not match the schema, every input at
    fault in ``fields``)."""

    error: ErrorDetail


# What each error status means in this API, for the schema's descriptions.
MEANINGS = {
    400: "Refused by a rule: the request has the right shape, but the message says what is wrong with it.",
    401: "The bearer token is missing, wrong or expired (or its account's password changed since it was issued).",
    403: "Not allowed for this account.",
    404: "Not found, or not yours to know of.",
    409: "In conflict with the current state of the object.",
    413: "The files are larger than allowed.",
    422: "The request does not match this schema (fields at fault in `fields`).",
    429: "Too many requests: try again after the Retry-After header's seconds.",
}


def responses(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """An operation's responses: ``ok`` and the error statuses it can answer, with their shape."""
    return {**ok, **dict.fromkeys(sorted(errors), ErrorOut)}


def pdf_responses(*, pending: bool = False) -> dict[str, Any]:
    """The schema of an operation that answers with a PDF file (``openapi_extra``)."""
    documented: dict[str, Any] = {
        "200": {
            "description": "The PDF file.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
    if pending:
        documented["202"] = {
            "description": "Still being issued: try again after the Retry-After header's seconds (empty body).",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        }
    return {"responses": documented}


def error_body(code: str, message: str, *, field: str = "", fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if fields:
        error["fields"] = fields
    return {"error": error}


def install(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, error_body(exc.code, exc.message, field=exc.field))

    @api.exception_handler(Refused)
    def on_refused(request: HttpRequest, exc: Refused) -> HttpResponse:
        return respond(request, exc.status, error_body(exc.code, exc.message, field=exc.field))

    @api.exception_handler(FileRejected)
    def on_file_rejected(request: HttpRequest, exc: FileRejected) -> HttpResponse:
        status = 413 if exc.code in TOO_LARGE else 400
        return respond(request, status, error_body(exc.code, exc.message, field="attachments"))

    @api.exception_handler(RateLimited)
    def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        response = respond(
            request,
            429,
            error_body("rate_limited", exc.describe()),
        )
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NotFound)
    def on_not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
        return respond(request, 404, error_body("not_found", _("Not found.")))

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request, 401, error_body("unauthenticated", _("Sign in first: the token is missing, wrong or expired."))
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(ValidationError)
    def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, str] = {}
        for problem in exc.errors:
            location = [
                str(part)
                for part in problem.get("loc", [])
                if part not in ("body", "form", "query", "path", "file", "payload", "header")
            ]
            fields[".".join(location) or "request"] = str(problem.get("msg", ""))
        return respond(
            request,
            422,
            error_body(
                "invalid_request", _("Some fields are missing or invalid."), field=next(iter(fields), ""), fields=fields
            ),
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return respond(request, exc.status_code, error_body("http_error", str(exc.message)))
