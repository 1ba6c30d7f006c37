"""The parapheur through the API: create a folder, list my pending steps, act on a step, read a
folder, download its document and proof slip. Same permissions as the pages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import Field

from api import errors
from api.auth import ActingRequest, BearerToken, bearer
from api.errors import pdf_responses, responses
from api.idempotency import IdempotencyKeyHeader, idempotent, idempotent_schema
from api.params import (
    NO_NUL,
    Code,
    FormCode,
    FormLong,
    FormShort,
    Id,
    LongText,
    ShortText,
    body_after_access,
    json_body_schema,
)
from core.clock import now
from core.errors import NotFound
from documents import storage
from documents.intake import check_files
from parapheur import selectors, services
from parapheur.models import Folder, FolderStep
from parapheur.services import StepSpec
from registry.downloads import being_prepared
from registry.idempotency import Idempotency
from tenancy.access import Scope, readable_scope
from tenancy.http import ApiRequest
from tenancy.permissions import Action
from tenancy.selectors import user_ids_by_email
from workflow.calendar import local_date

router = Router(tags=["parapheur"])


class StepOut(Schema):
    position: int
    kind: str
    actor_kind: str
    state: str
    people: list[str]
    role: str
    started_at: datetime | None
    finished_at: datetime | None


class EventOut(Schema):
    at: datetime
    kind: str
    step: int | None
    actor: str | None
    on_behalf_of: str | None
    text: str
    page: int | None
    document_sha256: str


class FolderOut(Schema):
    id: int
    administration: str
    title: str
    status: str
    current_step: int | None
    submitter: str
    submitted_at: datetime
    finished_at: datetime | None
    document_name: str
    document_sha256: str
    original_sha256: str
    proof_sha256: str | None
    # Being sealed (a seal step under way) or finished (the reply registered, the proof slip
    # issued) after the act that asked for it: the document and the proof answer 202 meanwhile.
    finishing: bool
    steps: list[StepOut]
    history: list[EventOut]


class PendingOut(Schema):
    folder_id: int
    title: str
    kind: str
    position: int
    waiting_since: datetime | None
    document_sha256: str


class ActIn(Schema):
    action: Literal["approve", "sign", "reject", "return", "opinion", "comment"]
    fingerprint: Annotated[str, Field(max_length=64, pattern=r"^[0-9a-fA-F]*$")] = ""
    passphrase: ShortText = ""
    text: LongText = ""
    to_position: Annotated[int, Field(ge=0, le=1000)] | None = None
    # comment: the page it is about; sign: where the block goes (page from 1, 0: the last;
    # millimetres from the left and the bottom), all three or none
    page: Annotated[int, Field(ge=0, le=100_000)] | None = None
    x_mm: Annotated[int, Field(ge=0, le=1000)] | None = None
    y_mm: Annotated[int, Field(ge=0, le=1000)] | None = None


def _scope(request: ApiRequest, code: str) -> Scope:
    return readable_scope(request.auth, code)


def _folder_out(folder: Folder) -> dict[str, Any]:
    steps = folder.steps.prefetch_related("actors__user").order_by("position")
    events = folder.events.select_related("actor", "on_behalf_of")
    return {
        "id": folder.pk,
        "administration": folder.administration.code,
        "title": folder.title,
        "status": folder.status,
        "current_step": folder.current or None,
        "submitter": folder.submitter.email,
        "submitted_at": folder.submitted_at,
        "finished_at": folder.finished_at,
        "document_name": folder.document_name,
        "document_sha256": folder.document,
        "original_sha256": folder.original,
        "proof_sha256": folder.proof or None,
        "finishing": folder.finishing,
        "steps": [
            {
                "position": s.position,
                "kind": s.kind,
                "actor_kind": s.actor_kind,
                "state": s.state,
                "people": [a.user.email for a in s.actors.all()],
                "role": s.role,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
            }
            for s in steps
        ],
        "history": [
            {
                "at": e.at,
                "kind": e.kind,
                "step": e.step,
                "actor": e.actor.email if e.actor else None,
                "on_behalf_of": e.on_behalf_of.email if e.on_behalf_of else None,
                "text": e.text,
                "page": e.page,
                "document_sha256": e.document,
            }
            for e in events
        ],
    }


def _steps_in(raw: str) -> list[StepSpec] | None:
    """Steps as JSON: ``[{"kind": "visa", "people": ["a@x.ma"]}, {"kind": "seal"}, …]``."""
    if not raw.strip():
        return None
    try:
        items = json.loads(raw)
        assert isinstance(items, list)
        emails = {email.lower() for item in items for email in item.get("people", [])}
        users = user_ids_by_email(emails)
        return [
            StepSpec(
                kind=str(item["kind"]),
                actor_kind=str(item.get("actor_kind", "person")),
                people=tuple(users.get(email.lower(), 0) for email in item.get("people", [])),
                role=str(item.get("role", "")),
            )
            for item in items
        ]
    except (ValueError, AssertionError, KeyError, TypeError, AttributeError):
        raise errors.ApiError(
            400, "bad_steps", _("The steps must be a JSON list, as the API documentation describes."), field="steps"
        ) from None


@router.post(
    "/administrations/{code}/folders",
    response=responses({201: FolderOut}, 400, 401, 404, 409, 413, 422),
    auth=BearerToken(acting=Action.ACT_IN_CIRCUIT),
    openapi_extra=idempotent_schema(201),
)
def folder_create(
    request: ActingRequest,
    code: Code,
    title: FormShort = "",
    circuit: FormCode = "",
    steps: FormLong = "",
    document_type: Annotated[str, Form(max_length=60, pattern=NO_NUL)] = "",
    document: File[UploadedFile] = None,  # type: ignore[assignment]
    annexes: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    idempotency_key: IdempotencyKeyHeader = "",
) -> HttpResponse | Status[dict[str, Any]]:
    """Start a folder: ``document`` (PDF), optional ``annexes``, and a ``circuit`` code or
    ``steps`` as JSON (``[{"kind": "visa", "people": ["chief@…"]}, {"kind": "signature",
    "people": ["mayor@…"]}, {"kind": "seal"}]``).

    With an ``Idempotency-Key``, a retry of a folder already started gets the same 201 and body
    (``Idempotent-Replayed: true``) and starts nothing."""
    scope = request.scope  # who may not act in circuits there got a 404 before the form was read
    uploads = errors.sent_files(request, "document", "annexes")
    if len(uploads) != 1:
        raise errors.ApiError(400, "no_document", _("Send the document to sign."), field="document")
    main = check_files(uploads)[0]
    if main.content_type != "application/pdf":
        raise errors.ApiError(400, "not_pdf", _("The main document must be a PDF file."), field="document")
    extra = check_files(errors.sent_files(request, "annexes", "document"))
    chosen = None
    if circuit.strip():
        chosen = selectors.circuit_by_code(scope.administration, circuit)
        if chosen is None:
            raise errors.ApiError(400, "bad_circuit", _("This circuit is not offered here."), field="circuit")
    elif not steps.strip():
        # Neither chosen nor given: the circuit of the type of document, else of the caller's service.
        own = [s for s in scope.services if s.pk in scope.own_services]
        chosen = services.circuit_for(
            scope.administration, service=own[0] if own else None, document_type=document_type
        )
    main.upload.seek(0)
    annex_data = []
    for annex in extra:
        annex.upload.seek(0)
        annex_data.append((annex.filename, annex.upload.read(), annex.content_type))
    document_data = main.upload.read()
    specs = _steps_in(steps)

    def run(idempotency: Idempotency | None) -> Status[dict[str, Any]]:
        folder = services.folder_submit(
            actor=scope.user,
            administration=scope.administration,
            title=title,
            document=document_data,
            document_name=main.filename,
            circuit=chosen,
            steps=specs,
            annexes=annex_data,
            idempotency=idempotency,
        )
        return Status(201, _folder_out(folder))

    def rebuild(folder_id: int) -> Status[dict[str, Any]]:
        return Status(201, _folder_out(_readable(request, code, folder_id)[1]))

    return idempotent(
        request,
        key=idempotency_key,
        user=scope.user,
        files=[main, *extra],
        out=FolderOut,
        run=run,
        rebuild=rebuild,
    )


@router.get("/administrations/{code}/pending", response=responses({200: list[PendingOut]}, 401, 404, 422), auth=bearer)
def pending(request: ApiRequest, code: Code) -> list[dict[str, Any]]:
    """The steps waiting for me (named, by role, or by delegation), oldest first."""
    scope = _scope(request, code)
    steps: list[FolderStep] = list(selectors.pending_steps(scope.user, scope.administration, local_date(now()))[:500])
    return [
        {
            "folder_id": s.folder_id,
            "title": s.folder.title,
            "kind": s.kind,
            "position": s.position,
            "waiting_since": s.started_at,
            "document_sha256": s.folder.document,
        }
        for s in steps
    ]


def _readable(request: ApiRequest, code: str, folder_id: int) -> tuple[Scope, Folder]:
    scope = _scope(request, code)
    return scope, selectors.folder_for(scope, folder_id)


@router.get(
    "/administrations/{code}/folders/{folder_id}", response=responses({200: FolderOut}, 401, 404, 422), auth=bearer
)
def folder_detail(request: ApiRequest, code: Code, folder_id: Id) -> dict[str, Any]:
    """A folder: where it is, its steps and its whole history with the document's fingerprints."""
    folder = _readable(request, code, folder_id)[1]
    return _folder_out(folder)


@router.post(
    "/administrations/{code}/folders/{folder_id}/act",
    response=responses({200: FolderOut}, 400, 401, 403, 404, 409, 422),
    auth=bearer,
    openapi_extra=json_body_schema(ActIn),
)
def folder_act(request: ApiRequest, code: Code, folder_id: Id) -> dict[str, Any]:
    """Act at one's step: ``approve`` and ``sign`` need the ``fingerprint`` of the document
    seen (and ``sign`` the ``passphrase``); ``reject`` and ``return`` (``to_position``) a reason
    in ``text``; ``opinion`` and ``comment`` (``page``) their ``text``."""
    scope, folder = _readable(request, code, folder_id)
    payload = body_after_access(request, ActIn)  # once the folder is known readable: else a 404
    user = scope.user
    action = payload.action
    if action == "approve":
        services.folder_approve(
            actor=user,
            folder_id=folder.pk,
            fingerprint=payload.fingerprint,
            text=payload.text,
            passphrase=payload.passphrase,
        )
    elif action == "sign":
        values = (payload.page, payload.x_mm, payload.y_mm)
        services.folder_sign(
            actor=user,
            folder_id=folder.pk,
            fingerprint=payload.fingerprint,
            passphrase=payload.passphrase,
            placement=(int(values[0]), int(values[1]), int(values[2])) if None not in values else None,  # type: ignore[arg-type]
        )
    elif action == "reject":
        services.folder_reject(actor=user, folder_id=folder.pk, reason=payload.text)
    elif action == "return":
        services.folder_return(
            actor=user, folder_id=folder.pk, to_position=payload.to_position or 0, reason=payload.text
        )
    elif action == "opinion":
        services.folder_give_opinion(actor=user, folder_id=folder.pk, text=payload.text)
    elif action == "comment":
        services.folder_comment(actor=user, folder_id=folder.pk, text=payload.text, page=payload.page)
    else:
        raise errors.ApiError(400, "bad_action", _("Unknown action."), field="action")
    folder.refresh_from_db()
    return _folder_out(folder)


@router.get(
    "/administrations/{code}/folders/{folder_id}/document",
    response=responses({}, 401, 404, 422),
    auth=bearer,
    openapi_extra=pdf_responses(pending=True),
)
def folder_document(
    request: ApiRequest,
    code: Code,
    folder_id: Id,
    version: Annotated[Literal["current", "original"], Query()] = "current",
) -> HttpResponseBase:
    """The document as it is now (``version=original``: as submitted). While the folder is being
    sealed or finished: 202 with Retry-After."""
    folder = _readable(request, code, folder_id)[1]
    if version != "original" and folder.finishing:
        return being_prepared()
    sha = folder.original if version == "original" else folder.document
    return _pdf(sha, folder.document_name)


@router.get(
    "/administrations/{code}/folders/{folder_id}/proof",
    response=responses({}, 401, 404, 422),
    auth=bearer,
    openapi_extra=pdf_responses(pending=True),
)
def folder_proof(request: ApiRequest, code: Code, folder_id: Id) -> HttpResponseBase:
    """The sealed proof slip of a completed circuit. While it is being issued: 202 with
    Retry-After."""
    folder = _readable(request, code, folder_id)[1]
    if selectors.proof_pending(folder):
        return being_prepared()
    if not folder.proof:
        raise NotFound
    return _pdf(folder.proof, f"proof-P-{folder.pk}.pdf")


def _pdf(sha: str, name: str) -> HttpResponseBase:
    response = FileResponse(storage.open_file(sha), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name.replace(chr(34), "")}"'
    return response
