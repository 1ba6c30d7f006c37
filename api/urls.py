"""The public JSON API, version 1 (django-ninja). Thin: parse, authorise, call a service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import File, NinjaAPI, Schema, Status, UploadedFile
from ninja.openapi.schema import OpenAPISchema

from api import errors
from api.auth import bearer
from api.errors import responses
from api.exchange import router as exchange_router
from api.idempotency import IdempotencyKeyHeader, idempotent, idempotent_schema
from api.letters import router as letters_router
from api.params import EmailText, FormCode, FormLong, FormShort, Id, Limit, Offset, ShortText
from api.parapheur import router as parapheur_router
from api.processing import deposit_processing, router, with_processing
from api.schemas import AdministrationOut
from api.schemas import administration_out as _administration_out
from api.search import router as search_router
from core.errors import NotFound
from core.proxies import client_address
from core.ratelimit import rate_limit_hit
from documents.intake import check_files
from parapheur.verification import document_verify
from registry import selectors
from registry.downloads import receipt_response
from registry.idempotency import Idempotency
from registry.models import Attachment, Channel, Correspondence
from registry.receipts import verification_url
from registry.services import Party
from registry.verification import problem_message, stored_document_holds
from tenancy.http import ApiRequest
from tenancy.selectors import administration_by_code
from tenancy.services import api_token_issue
from workflow.services import Deposit, deposit_register


class _Api(NinjaAPI):
    """django-ninja's API, whose OpenAPI document (``/api/v1/openapi.json``) is built once per
    path prefix and language instead of at every request: building it walks the models of every
    operation (a second of CPU each time), and it changes only with the code."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        key = (path_prefix, get_language())
        if key not in _openapi_schemas:
            _openapi_schemas[key] = super().get_openapi_schema(path_prefix=path_prefix)
        return _openapi_schemas[key]


_openapi_schemas: dict[tuple[str, str], OpenAPISchema] = {}

api = _Api(
    title="Wasl API",
    version="1",
    description="Deposit correspondence to Moroccan administrations and verify sealed receipts.",
    urls_namespace="api",
    docs_url="/docs",
)
errors.install(api)
api.add_router("/", router)
api.add_router("/", parapheur_router)
api.add_router("/", exchange_router)
api.add_router("/", search_router)
api.add_router("/", letters_router)


class TokenIn(Schema):
    username: EmailText
    password: ShortText


class TokenOut(Schema):
    token: str
    expires_in: int


class AttachmentOut(Schema):
    filename: str
    sha256: str
    size: int
    pages: int | None
    content_type: str


class LetterOut(Schema):
    kind: str
    registration_number: str
    sent_at: datetime
    pdf_url: str


class DepositOut(Schema):
    id: int
    registration_number: str
    registered_at: datetime
    recipient: AdministrationOut
    subject: str
    channel: str
    receipt_status: str
    receipt_url: str
    verification_url: str
    attachments: list[AttachmentOut]
    status: str | None = None
    procedure: str | None = None
    due_on: date | None = None
    service: str | None = None
    reply: LetterOut | None = None
    letters: list[LetterOut] = []


class VerifiedAttachment(Schema):
    sha256: str
    pages: int | None


class SignatureOut(Schema):
    signer: str | None
    organization: str | None
    level: str  # seal, advanced, unknown
    valid: bool
    timestamp_at: datetime | None
    problem: str


class VerificationOut(Schema):
    valid: bool
    code: str
    message: str
    signatures: list[SignatureOut] = []
    folder: str | None = None  # "P-<id>" for a parapheur document or proof slip
    folder_kind: str | None = None  # document, proof; finishing: being sealed or finished, check again
    registration_number: str | None = None
    registered_at: datetime | None = None
    administration: AdministrationOut | None = None
    subject: str | None = None
    attachments: list[VerifiedAttachment] = []
    receipt_sha256: str | None = None


def _deposit_out(
    request: HttpRequest, correspondence: Correspondence, *, attachments: Iterable[Attachment] | None = None
) -> dict[str, Any]:
    receipt = correspondence.receipt
    if attachments is None:
        attachments = correspondence.attachments.select_related("blob").order_by("position")
    return {
        **deposit_processing(request, correspondence),
        "id": correspondence.pk,
        "registration_number": correspondence.number,
        "registered_at": correspondence.registered_at,
        "recipient": _administration_out(correspondence),
        "subject": correspondence.subject,
        "channel": correspondence.channel,
        "receipt_status": "issued" if receipt.is_issued else "pending",
        "receipt_url": request.build_absolute_uri(reverse("api:deposit_receipt", args=[correspondence.pk])),
        "verification_url": verification_url(receipt.token),
        "attachments": [
            {
                "filename": a.filename,
                "sha256": a.blob_id,
                "size": a.blob.size,
                "pages": a.blob.pages,
                "content_type": a.blob.content_type,
            }
            for a in attachments
        ],
    }


@api.post("/auth/token", response=responses({200: TokenOut}, 400, 401, 422, 429), auth=None, tags=["auth"])
def auth_token(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    """Exchange an e-mail and password for a bearer token.

    Failed attempts are limited per client address and per account (429 with ``Retry-After``
    saying when to try again). The token ends when it expires or when the password changes.
    """
    issued = api_token_issue(email=payload.username, password=payload.password, request=request)
    if issued is None:
        raise errors.ApiError(401, "wrong_credentials", _("Wrong e-mail or password."))
    _user, token = issued
    return {"token": token, "expires_in": settings.API_TOKEN_TTL_HOURS * 3600}


@api.post(
    "/deposits",
    response=responses({201: DepositOut}, 400, 401, 403, 404, 409, 413, 422, 429),
    auth=bearer,
    tags=["deposits"],
    openapi_extra=idempotent_schema(201),
)
def deposit_create(
    request: ApiRequest,
    recipient: FormCode = "",
    subject: FormShort = "",
    body: FormLong = "",
    procedure: FormCode = "",
    attachments: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    idempotency_key: IdempotencyKeyHeader = "",
) -> HttpResponse | Status[dict[str, Any]]:
    """Deposit a correspondence to an administration; the sealed receipt comes back with it.

    Send an ``Idempotency-Key`` header to make retries safe: a retry of a deposit that was
    registered gets the same 201 and body (with ``Idempotent-Replayed: true``) and registers
    nothing; 409 while the first is still being processed; 422 if the key came with another
    request.
    """
    user = request.auth
    rate_limit_hit(scope="deposit", key=str(user.pk), rate=settings.RATE_DEPOSIT)
    if not user.is_email_verified:
        raise errors.ApiError(403, "email_not_verified", _("Confirm your e-mail address before depositing."))
    files = check_files(errors.sent_files(request, "attachments"))

    def run(idempotency: Idempotency | None) -> Status[dict[str, Any]]:
        registration = deposit_register(
            actor=user,
            administration=administration_by_code(recipient) if recipient.strip() else None,
            channel=Channel.API,
            deposit=Deposit(
                sender=Party.of_account(user), subject=subject, body=body, files=files, procedure_code=procedure
            ),
            idempotency=idempotency,
        )
        correspondence = registration.correspondence
        return Status(201, _deposit_out(request, correspondence, attachments=registration.attachments))

    def rebuild(correspondence_id: int) -> Status[dict[str, Any]]:
        return Status(201, deposit_detail(request, correspondence_id))

    return idempotent(request, key=idempotency_key, user=user, files=files, out=DepositOut, run=run, rebuild=rebuild)


@api.get("/deposits", response=responses({200: list[DepositOut]}, 401, 422), auth=bearer, tags=["deposits"])
def deposit_list(request: ApiRequest, limit: Limit = 50, offset: Offset = 0) -> list[dict[str, Any]]:
    """The caller's own deposits, newest first."""
    user = request.auth
    deposits = with_processing(selectors.deposits_of(user)).prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.select_related("blob"))
    )[offset : offset + limit]
    return [_deposit_out(request, c, attachments=c.attachments.all()) for c in deposits]


@api.get("/deposits/{deposit_id}", response=responses({200: DepositOut}, 401, 404, 422), auth=bearer, tags=["deposits"])
def deposit_detail(request: ApiRequest, deposit_id: Id) -> dict[str, Any]:
    user = request.auth
    correspondence = with_processing(selectors.deposits_of(user)).filter(pk=deposit_id).first()
    if correspondence is None:
        raise NotFound
    return _deposit_out(request, correspondence)


@api.get(
    "/deposits/{deposit_id}/receipt",
    response=responses({}, 401, 404, 422),
    auth=bearer,
    tags=["deposits"],
    url_name="deposit_receipt",
    openapi_extra=errors.pdf_responses(pending=True),
)
def deposit_receipt(request: ApiRequest, deposit_id: Id) -> HttpResponseBase:
    """The sealed receipt (PDF). While it is still being issued: 202 with Retry-After."""
    user = request.auth
    correspondence = selectors.deposit_for_owner(user, deposit_id)
    return receipt_response(correspondence)


def verification_facts(receipt: Any, *, show_subject: bool) -> dict[str, Any]:
    correspondence = receipt.correspondence
    return {
        "registration_number": correspondence.number,
        "registered_at": correspondence.registered_at,
        "administration": _administration_out(correspondence),
        "subject": correspondence.subject if show_subject and not correspondence.confidential else None,
        "attachments": [
            {"sha256": a.blob_id, "pages": a.blob.pages}
            for a in correspondence.attachments.select_related("blob").order_by("position")
        ],
        "receipt_sha256": receipt.blob_id,
    }


@api.get(
    "/verify/{token}",
    response={200: VerificationOut, 404: VerificationOut, 409: VerificationOut, 429: errors.ErrorOut},
    auth=None,
    tags=["verification"],
)
def verify_token(request: HttpRequest, token: str) -> Status[dict[str, Any]]:
    """Check a receipt by the token of its QR code."""
    rate_limit_hit(scope="verify", key=client_address(request), rate=settings.RATE_VERIFY)
    receipt = selectors.receipt_by_token(token)
    if receipt is None:
        return Status(
            404, {"valid": False, "code": "unknown_token", "message": _("No receipt has this verification code.")}
        )
    if not stored_document_holds(str(receipt.blob_id), receipt.correspondence, receipt=True):
        return Status(409, {"valid": False, "code": "register_altered", "message": problem_message("register_altered")})
    return Status(
        200,
        {
            "valid": True,
            "code": "ok",
            "message": _("This receipt is registered."),
            **verification_facts(receipt, show_subject=True),
        },
    )


@api.post("/verify", response=responses({200: VerificationOut}, 413, 422, 429), auth=None, tags=["verification"])
def verify_upload(request: HttpRequest, file: File[UploadedFile]) -> dict[str, Any]:
    """Check an uploaded PDF: every signature (signer, level, timestamp, validity), and that it
    is a registered receipt or letter, or a document finished by the parapheur or its proof slip."""
    rate_limit_hit(scope="verify", key=client_address(request), rate=settings.RATE_VERIFY)
    verdict = document_verify(file.read())
    check = verdict.check
    body: dict[str, Any] = {"valid": verdict.valid, "code": verdict.code, "message": verdict.message}
    if verdict.signatures is not None:
        body["signatures"] = [
            {
                "signer": v.signer,
                "organization": v.organization,
                "level": v.level,
                "valid": v.valid,
                "timestamp_at": v.timestamp_at,
                "problem": v.problem,
            }
            for v in verdict.signatures
        ]
    if verdict.folder is not None:
        body.update({"folder": f"P-{verdict.folder.pk}", "folder_kind": verdict.folder_kind})
    if check.receipt is not None:
        body.update(verification_facts(check.receipt, show_subject=False))
    elif check.document is not None:
        correspondence = check.document.correspondence
        body.update(
            {
                "registration_number": correspondence.number,
                "registered_at": correspondence.registered_at,
                "administration": _administration_out(correspondence),
            }
        )
    return body
