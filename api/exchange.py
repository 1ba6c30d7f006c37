"""Exchange between administrations through the API: the directory, sending a letter to another
administration, and the letters sent and received with their acknowledgements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, Status, UploadedFile

from api import errors
from api.auth import ActingRequest, BearerToken, bearer
from api.errors import responses
from api.idempotency import IdempotencyKeyHeader, idempotent, idempotent_schema
from api.params import NO_NUL, Code, FormLong, FormShort, QueryCode, QueryWords
from documents.intake import check_files
from exchange import selectors, services
from exchange.models import Envelope
from exchange.selectors import DirectoryEntry
from registry.idempotency import Idempotency
from tenancy.access import readable_scope
from tenancy.http import ApiRequest
from tenancy.permissions import Action

router = Router(tags=["exchange"])


class DirectoryEntryOut(Schema):
    address: str
    code: str
    kind: str
    region: str
    name_ar: str
    name_fr: str
    name_zgh: str
    installation: str


class EnvelopeOut(Schema):
    id: str
    sender: str
    recipient: str
    subject: str
    outgoing_number: str
    incoming_number: str | None
    status: str
    created_at: datetime
    delivered_at: datetime | None
    last_error: str
    acknowledgement: str | None
    acknowledgement_valid: bool


def _envelope_out(envelope: Envelope) -> dict[str, Any]:
    delivered = envelope.status == Envelope.Status.DELIVERED
    return {
        "id": str(envelope.pk),
        "sender": envelope.sender_code,
        "recipient": envelope.recipient_code,
        "subject": envelope.subject,
        "outgoing_number": envelope.outgoing_number,
        "incoming_number": envelope.incoming_number or None,
        "status": envelope.status,
        "created_at": envelope.created_at,
        "delivered_at": envelope.delivered_at,
        "last_error": envelope.last_error,
        "acknowledgement": None if envelope.acknowledgement_pending else envelope.acknowledgement or None,
        "acknowledgement_valid": delivered and services.acknowledgement_valid(envelope),
    }


@router.get("/directory", response=responses({200: list[DirectoryEntryOut]}, 422), auth=None)
def directory(
    request: HttpRequest, q: QueryWords = "", kind: QueryCode = "", region: QueryCode = ""
) -> list[DirectoryEntry]:
    """The administrations reachable from this installation (its own, then those of the
    installations pinned to it, whose ``address`` is ``CODE@installation``), by name or code,
    kind and region; at most 200."""
    return selectors.directory_entries(q=q, kind=kind, region=region, limit=200)


@router.post(
    "/administrations/{code}/exchanges",
    response=responses({201: EnvelopeOut}, 400, 401, 404, 409, 413, 422),
    auth=BearerToken(acting=Action.SEND),
    openapi_extra=idempotent_schema(201),
)
def exchange_send(
    request: ActingRequest,
    code: Code,
    recipient: Annotated[str, Form(max_length=200, pattern=NO_NUL)] = "",
    subject: FormShort = "",
    body: FormLong = "",
    documents: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    idempotency_key: IdempotencyKeyHeader = "",
) -> HttpResponse | Status[dict[str, Any]]:
    """Send a letter to another administration: registered in the outgoing register now,
    delivered and acknowledged by the recipient shortly after (poll its status).

    With an ``Idempotency-Key``, a retry of a letter already registered gets the same 201 and
    body (``Idempotent-Replayed: true``) and registers nothing."""
    scope = request.scope  # who may not send for the administration got a 404 before the form was read
    files = check_files(errors.sent_files(request, "documents"))

    def run(idempotency: Idempotency | None) -> Status[dict[str, Any]]:
        envelope = services.mail_send(
            actor=scope.user,
            administration=scope.administration,
            recipient_code=recipient,
            subject=subject,
            body=body,
            files=files,
            idempotency=idempotency,
        )
        return Status(201, _envelope_out(envelope))

    def rebuild(correspondence_id: int) -> Status[dict[str, Any]]:
        return Status(201, _envelope_out(selectors.envelope_sent_as(scope.administration, correspondence_id)))

    return idempotent(
        request, key=idempotency_key, user=scope.user, files=files, out=EnvelopeOut, run=run, rebuild=rebuild
    )


@router.get(
    "/administrations/{code}/exchanges", response=responses({200: list[EnvelopeOut]}, 401, 404, 422), auth=bearer
)
def exchange_list(request: ApiRequest, code: Code) -> list[dict[str, Any]]:
    """Letters sent to and received from other administrations, newest first."""
    scope = readable_scope(request.auth, code)
    return [_envelope_out(e) for e in selectors.envelopes_of(scope.administration)]
