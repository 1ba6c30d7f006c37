"""The letters administrations sent to the caller: ``GET /api/v1/letters``.

An outgoing letter (an answer, a rejection, a request to complete a file) is addressed to the
depositor's account; it is never one of their deposits and has no deposit receipt: the letter
is sealed itself and its ``verification_url`` (its QR code) proves it. A letter addressed to
anyone else is "not found".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from ninja import Router, Schema

from api.auth import bearer
from api.errors import pdf_responses, responses
from api.params import Id, Limit, Offset
from api.schemas import AdministrationOut, administration_out
from registry import selectors
from registry.downloads import sealed_document_response
from registry.models import Correspondence, SealedDocument
from registry.receipts import verification_url
from tenancy.http import ApiRequest
from tenancy.models import User
from workflow.models import Reply
from workflow.selectors import replies_by_letter

router = Router()


class RegistrationRef(Schema):
    id: int
    registration_number: str


class ReceivedLetterOut(Schema):
    id: int
    registration_number: str
    sent_at: datetime
    sender: AdministrationOut
    subject: str
    kind: str  # answer, rejection, completion (a request to complete the file), or letter
    in_reply_to: RegistrationRef | None  # the caller's deposit it answers
    pdf_url: str
    verification_url: str


def _letter_out(
    request: HttpRequest, user: User, c: Correspondence, document: SealedDocument, reply: Reply | None
) -> dict[str, Any]:
    answered = c.in_reply_to
    return {
        "id": c.pk,
        "registration_number": c.number,
        "sent_at": c.registered_at,
        "sender": administration_out(c),
        "subject": c.subject,
        "kind": reply.kind if reply is not None else "letter",
        "in_reply_to": (
            {"id": answered.pk, "registration_number": answered.number}
            if answered is not None and answered.sender_account_id == user.pk
            else None
        ),
        "pdf_url": request.build_absolute_uri(reverse("api:letter_pdf", args=[c.pk])),
        "verification_url": verification_url(document.token),
    }


@router.get("/letters", response=responses({200: list[ReceivedLetterOut]}, 401, 422), auth=bearer, tags=["letters"])
def letter_list(request: ApiRequest, limit: Limit = 50, offset: Offset = 0) -> list[dict[str, Any]]:
    """The sealed letters administrations sent to the caller, newest first."""
    user = request.auth
    letters = list(selectors.letters_to(user)[offset : offset + limit])
    replies = replies_by_letter([c.pk for c in letters])
    return [_letter_out(request, user, c, c.letters[0], replies.get(c.pk)) for c in letters]  # type: ignore[attr-defined]


@router.get(
    "/letters/{letter_id}", response=responses({200: ReceivedLetterOut}, 401, 404, 422), auth=bearer, tags=["letters"]
)
def letter_detail(request: ApiRequest, letter_id: Id) -> dict[str, Any]:
    user = request.auth
    c, document = selectors.letter_for_addressee(user, letter_id)
    return _letter_out(request, user, c, document, replies_by_letter([c.pk]).get(c.pk))


@router.get(
    "/letters/{letter_id}/pdf",
    response=responses({}, 401, 404, 422),
    auth=bearer,
    tags=["letters"],
    url_name="letter_pdf",
    openapi_extra=pdf_responses(),
)
def letter_pdf(request: ApiRequest, letter_id: Id) -> HttpResponseBase:
    """The sealed letter (PDF)."""
    user = request.auth
    c, document = selectors.letter_for_addressee(user, letter_id)
    return sealed_document_response(document, f"{c.number}.pdf")
