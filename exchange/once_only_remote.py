"""Once-only requests between installations.

The requester's installation posts the request to the holder's (``/exchange/v1/document-requests``,
signed like envelopes, :mod:`exchange.protocol`); the holder keeps its own row with the same id
and answers at once when it delivers that kind automatically. Otherwise its agent answers later
and the holder's worker posts the answer back (``/exchange/v1/document-answers``). Both sides
record each step in their own access log; the person's log is on the requester's installation,
where they wrote. A request is posted by the worker, never during the agent's page: a task
queued when it is made, then the periodic sweep while the peer cannot be reached, with a growing
delay (:data:`exchange.lifecycle.RETRY_DELAYS`); after the retry window it is marked *failed*,
and may be asked again. Answers are retried the same way. A request or an answer received twice
is applied once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from documents import storage
from documents.intake import pdf_blob
from exchange.inbox import Answer, remember_nonce
from exchange.lifecycle import RETRY_WINDOW, document_request_move, next_attempt
from exchange.models import AccessLogEntry, DocumentRequest, Peer, ProvidedDocument
from exchange.once_only_answers import access_log, answer_automatically, case_told
from exchange.protocol import ProtocolError
from exchange.remote import PeerUnreachable, signed_post
from tenancy.models import Administration, User

logger = logging.getLogger(__name__)
REQUESTS_PATH = "/exchange/v1/document-requests"
ANSWERS_PATH = "/exchange/v1/document-answers"
Action = AccessLogEntry.Action
Status = DocumentRequest.Status


def _post(peer: Peer, path: str, kind: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return signed_post(peer, path, kind, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


# -- the requester's side ----------------------------------------------------------------------


def request_post(request_id: UUID | str) -> bool:
    """Send a request to the peer that holds the document; apply its answer if it has one."""
    request = (
        DocumentRequest.objects.select_related("requester", "peer", "requested_by")
        .filter(pk=request_id, requester__isnull=False, peer__isnull=False)
        .first()
    )
    if request is None or request.sent_at is not None or request.status != Status.PENDING:
        return False
    assert request.peer is not None and request.requester is not None
    data = {
        "id": str(request.pk),
        "requester": {
            "code": request.requester.code,
            "name_ar": request.requester.name_ar,
            "name_fr": request.requester.name_fr,
        },
        "requested_by": request.requested_by.full_name if request.requested_by else "",
        "holder": request.remote_code,
        "kind": request.remote_kind,
        "document": {"ar": request.document_name_ar, "fr": request.document_name_fr},
        "procedure": {"code": request.procedure_code, "ar": request.procedure_name_ar, "fr": request.procedure_name_fr},
        "file": request.file_number,
        "national_id": request.national_id,
        "person_name": request.person_name,
    }
    try:
        status, answer = _post(request.peer, REQUESTS_PATH, "document-request", data)
    except PeerUnreachable as exc:
        logger.warning("document request %s not sent: %s", request.pk, exc)
        _request_postpone(request, str(exc))
        return False
    if status >= 400:  # refused by the holder's installation: final, with its reason
        reason = f"{answer.get('error', 'refused')}: {answer.get('detail', '')}"
        answer = {"status": Status.REFUSED, "reason": reason, "answered_by": ""}
    DocumentRequest.objects.filter(pk=request.pk).update(
        sent_at=now(), attempts=request.attempts + 1, last_error="", next_attempt_at=None
    )
    if answer.get("status") in (Status.DELIVERED, Status.REFUSED):
        try:
            answer_apply(request.pk, answer)
        except ProtocolError as refused:
            # The holder's copy does not match its own fingerprint: keep nothing of it, and end
            # the request so that it may be asked again (it would otherwise wait for good).
            logger.warning("document request %s: answer refused: %s", request.pk, refused)
            with transaction.atomic():
                _request_give_up(request, str(refused), attempts=request.attempts + 1)
    return True


def _request_give_up(request: DocumentRequest, reason: str, *, attempts: int) -> None:
    """End a request that could not be sent, or whose answer was refused (in the caller's
    transaction): failed, with its reason, in the audit trail; a new request may then be made."""
    if document_request_move(request, Status.FAILED, attempts=attempts, last_error=reason[:300], next_attempt_at=None):
        audit_record(
            actor=None,
            action=AuditAction.ONCE_ONLY_FAILED,
            obj=request,
            administration=request.requester,
            data={"holder": request.holder_code, "reason": reason[:300]},
        )


def _request_postpone(request: DocumentRequest, reason: str) -> None:
    """Try again later, or, past the retry window, mark the request failed (then it may be
    asked again)."""
    moment = now()
    attempts = request.attempts + 1
    with transaction.atomic():
        if moment - request.requested_at > RETRY_WINDOW:
            _request_give_up(request, reason, attempts=attempts)
            return
        DocumentRequest.objects.filter(pk=request.pk, status=Status.PENDING, sent_at__isnull=True).update(
            attempts=attempts, last_error=reason[:300], next_attempt_at=next_attempt(attempts, moment)
        )


def answer_apply(request_id: UUID | str, answer: dict[str, Any]) -> bool:
    """Record the holder's answer once: the delivered copy, or the refusal and its reason."""
    with transaction.atomic():
        request = (
            DocumentRequest.objects.select_for_update(of=("self",))
            .select_related("peer", "requester", "case")
            .filter(pk=request_id, requester__isnull=False, peer__isnull=False)
            .first()
        )
        if request is None or request.status != Status.PENDING:
            return False
        pdf = b""
        changes: dict[str, object]
        if answer.get("status") == Status.DELIVERED:
            try:
                pdf = base64.b64decode(str(answer.get("pdf", "")), validate=True)
            except (binascii.Error, ValueError):
                pdf = b""
            if not pdf.startswith(b"%PDF") or hashlib.sha256(pdf).hexdigest() != answer.get("sha256"):
                raise ProtocolError("tampered", "the delivered document does not match its fingerprint")
            to, changes = Status.DELIVERED, {"blob": pdf_blob(pdf)}
        elif answer.get("status") == Status.REFUSED:
            to, changes = Status.REFUSED, {"reason": str(answer.get("reason", ""))[:500]}
        else:
            return False
        moment = now()
        document_request_move(
            request,
            to,
            answered_at=moment,
            answered_by_name=str(answer.get("answered_by", ""))[:200],
            sent_at=request.sent_at or moment,
            **changes,
        )
        holder = f"{request.remote_name_fr} ({request.peer.label or request.peer.name})"  # type: ignore[union-attr]
        access_log(
            request,
            Action.DELIVERED if pdf else Action.REFUSED,
            None,
            administration_name=holder,
            actor_name=request.answered_by_name,
        )
        if pdf and request.case is not None:
            case_told(request, request.remote_name_ar, request.remote_name_fr)
        audit_record(
            actor=None,
            action=AuditAction.ONCE_ONLY_ANSWERED,
            obj=request,
            administration=request.requester,
            data={"holder": request.holder_code, "status": request.status},
        )
    return True


def answer_receive(peer: Peer, nonce: str, body: bytes) -> Answer:
    """A holder on a peer answers a request we sent it."""
    remember_nonce(peer, nonce)
    try:
        answer = dict(json.loads(body))
        request_id = str(UUID(str(answer["id"])))
    except (ValueError, KeyError, TypeError):
        raise ProtocolError("tampered", "unreadable answer") from None
    if not DocumentRequest.objects.filter(pk=request_id, peer=peer, requester__isnull=False).exists():
        raise ProtocolError("unknown_request", "no such request was sent to this installation")
    answer_apply(request_id, answer)
    return Answer(200, {"id": request_id, "received": True})


# -- the holder's side -------------------------------------------------------------------------


def _state(request: DocumentRequest) -> dict[str, Any]:
    """What the holder tells the requester about its request (with the copy once delivered)."""
    state: dict[str, Any] = {
        "id": str(request.pk),
        "status": request.status,
        "reason": request.reason,
        "answered_by": request.answered_by.full_name if request.answered_by else "",
    }
    if request.status == Status.DELIVERED and request.blob_id:
        pdf = storage.read_bytes(request.blob_id)
        state["pdf"] = base64.b64encode(pdf).decode()
        state["sha256"] = hashlib.sha256(pdf).hexdigest()
    return state


def request_receive(peer: Peer, nonce: str, body: bytes) -> Answer:
    """A requester on a peer asks one of our administrations for a document it holds."""
    remember_nonce(peer, nonce)
    try:
        data = dict(json.loads(body))
        request_id = str(UUID(str(data["id"])))
        requester, document, procedure = dict(data["requester"]), dict(data["document"]), dict(data["procedure"])
        national_id = str(data["national_id"]).strip().upper()[:20]
    except (ValueError, KeyError, TypeError):
        raise ProtocolError("tampered", "unreadable request") from None
    known = DocumentRequest.objects.filter(pk=request_id).select_related("answered_by").first()
    if known is not None:
        if known.peer_id != peer.pk or known.provider_id is None:
            raise ProtocolError("conflict", "a request with this id is known here from elsewhere")
        return Answer(200, _state(known))
    holder = Administration.objects.filter(code=str(data.get("holder", "")), is_active=True).first()
    if holder is None:
        raise ProtocolError("unknown_recipient", f"no administration {data.get('holder')!r} here")
    kind = ProvidedDocument.objects.filter(
        administration=holder, code=str(data.get("kind", "")), is_active=True
    ).first()
    if kind is None or not national_id:
        raise ProtocolError("unknown_document", f"{holder.code} does not deliver {data.get('kind')!r}")
    try:
        with transaction.atomic():
            request = DocumentRequest.objects.create(
                id=request_id,
                provider=holder,
                kind=kind,
                peer=peer,
                remote_code=str(requester.get("code", ""))[:40],
                remote_name_ar=str(requester.get("name_ar", ""))[:200],
                remote_name_fr=str(requester.get("name_fr", ""))[:200],
                file_number=str(data.get("file", ""))[:32],
                document_name_ar=str(document.get("ar", ""))[:200],
                document_name_fr=str(document.get("fr", ""))[:200],
                procedure_code=str(procedure.get("code", ""))[:40],
                procedure_name_ar=str(procedure.get("ar", ""))[:200],
                procedure_name_fr=str(procedure.get("fr", ""))[:200],
                national_id=national_id,
                person_name=str(data.get("person_name", ""))[:200],
                citizen=User.objects.filter(national_id=national_id).first(),
                requested_at=now(),
                requested_by_name=str(data.get("requested_by", ""))[:200],
                sent_at=now(),
            )
            access_log(
                request,
                Action.REQUESTED,
                None,
                administration_name=f"{request.remote_name_fr} ({peer.label or peer.name})",
                actor_name=request.requested_by_name,
            )
            audit_record(
                actor=None,
                action=AuditAction.ONCE_ONLY_RECEIVED,
                obj=request,
                administration=holder,
                data={"from": request.requester_code, "kind": kind.code},
            )
            if kind.automatic:
                answer_automatically(request, kind)
                request.answer_sent_at = now()  # the answer goes back with this response
                request.save(update_fields=["answer_sent_at"])
    except IntegrityError:  # the same request, received meanwhile
        known = DocumentRequest.objects.filter(pk=request_id, peer=peer).first()
        if known is None:
            raise
        return Answer(200, _state(known))
    return Answer(201 if request.status != Status.PENDING else 202, _state(request))


def _due() -> Q:
    """Never tried yet, or its delay after the last failed attempt is over."""
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now())


def answers_post_due() -> int:
    """Post the answers our agents gave to peers' requests and that the peer does not have yet."""
    due = (
        DocumentRequest.objects.filter(requester__isnull=True, peer__isnull=False, answer_sent_at__isnull=True)
        .exclude(status=Status.PENDING)
        .filter(_due())
    )
    posted = 0
    for request in due.select_related("peer", "answered_by")[:200]:
        assert request.peer is not None
        try:
            status, _answer = _post(request.peer, ANSWERS_PATH, "document-answer", _state(request))
        except PeerUnreachable as exc:
            attempts = request.attempts + 1
            DocumentRequest.objects.filter(pk=request.pk).update(
                attempts=attempts, last_error=str(exc)[:300], next_attempt_at=next_attempt(attempts, now())
            )
            continue
        if status < 400:
            DocumentRequest.objects.filter(pk=request.pk).update(
                answer_sent_at=now(), last_error="", next_attempt_at=None
            )
            posted += 1
        else:  # the peer may accept it later (pinned again, its clock set right): not every 10 s
            logger.warning("answer %s refused by %s: %s", request.pk, request.peer.name, _answer)
            attempts = request.attempts + 1
            DocumentRequest.objects.filter(pk=request.pk).update(
                attempts=attempts, last_error=str(_answer)[:300], next_attempt_at=next_attempt(attempts, now())
            )
    return posted


def requests_post_due() -> int:
    """Send the requests a peer has not received yet and whose delay is over (the worker's
    sweep: a new request is left to its task for a minute, a failed one waits its delay)."""
    due = DocumentRequest.objects.filter(
        requester__isnull=False, peer__isnull=False, sent_at__isnull=True, status=Status.PENDING
    ).filter(_due())
    return sum(request_post(pk) for pk in due.order_by("requested_at").values_list("pk", flat=True)[:200])


def once_only_exchanges() -> dict[str, int]:
    """The worker's job: requests and answers still to send to peers."""
    return {"requests": requests_post_due(), "answers": answers_post_due()}
