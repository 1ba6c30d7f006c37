"""The endpoints other installations call: who we are, our directory, and the inbox.

Not for browsers: no session, no CSRF token (requests are authenticated by their signature,
:mod:`exchange.protocol`), JSON in and out, every answer signed by this installation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from exchange import inbox as receiving
from exchange.anchors import CHECKPOINTS_PATH, KEPT_PATH, checkpoints_give_back, checkpoints_receive
from exchange.inbox import Answer
from exchange.models import Peer, ProvidedDocument
from exchange.once_only_remote import ANSWERS_PATH, REQUESTS_PATH, answer_receive, request_receive
from exchange.protocol import DIRECTORY_PATH, INBOX_PATH, INSTALLATION, ProtocolError, check, load_root, sign
from tenancy.models import Administration
from trust.services import installation_pki

logger = logging.getLogger(__name__)

STATUS = {
    "unknown_peer": 403,
    "certificate_mismatch": 403,
    "bad_signature": 403,
    "stale": 403,
    "replayed": 409,
    "conflict": 422,  # an envelope id known with another manifest (as a reused Idempotency-Key)
    "unknown_recipient": 404,
    "tampered": 422,
    "rejected_content": 422,
    "too_large": 413,
    "unknown_document": 404,
    "unknown_request": 404,
    "acknowledgement_pending": 503,  # registered; the sender asks again for the sealed acknowledgement
}
# An envelope of the largest deposit, in base64 inside JSON, with room for its manifest.
MAX_BODY = settings.MAX_DEPOSIT_SIZE * 4 // 3 + 1024 * 1024


def _signed(data: dict[str, Any], *, status: int, kind: str, path: str, nonce: str = "") -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in sign(installation_pki(), kind=kind, path=path, body=body, nonce=nonce).items():
        response[name] = value
    return response


@require_GET
def installation(request: HttpRequest) -> JsonResponse:
    """What another installation's administrators need to pin this one."""
    pki = installation_pki()
    return JsonResponse(
        {
            "name": pki.installation_name,
            "fingerprint": pki.fingerprint,
            "ca_certificate": pki.ca_certificate_pem.decode(),
            "inbox": f"{settings.PUBLIC_URL}{INBOX_PATH}",
        }
    )


@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    """Every administration that accepts correspondence here, signed (peers copy it)."""
    rows = Administration.objects.filter(is_active=True).order_by("code")
    entries: list[dict[str, Any]] = [
        dict(row) for row in rows.values("id", "code", "kind", "region", "name_ar", "name_fr", "name_zgh")
    ]
    provides: dict[int, list[dict[str, Any]]] = {}
    for kind in ProvidedDocument.objects.filter(is_active=True, administration__is_active=True).order_by("code"):
        provides.setdefault(kind.administration_id, []).append(
            {"code": kind.code, "name_ar": kind.name_ar, "name_fr": kind.name_fr, "automatic": kind.automatic}
        )
    for entry in entries:
        entry["provides"] = provides.get(entry.pop("id"), [])
    return _signed({"administrations": entries}, status=200, kind="directory", path=DIRECTORY_PATH)


def _from_peer(
    request: HttpRequest, *, kind: str, path: str, receive: Callable[[Peer, str, bytes], Answer]
) -> HttpResponse:
    """A signed request from a pinned installation, handed to ``receive``; refused with a code
    and a reason (and nothing changed) when it is not what it claims."""
    nonce = ""
    try:
        peer = Peer.objects.filter(fingerprint=request.headers.get(INSTALLATION, ""), is_active=True).first()
        if peer is None:
            raise ProtocolError("unknown_peer", "this installation is not pinned here")
        if int(request.headers.get("Content-Length") or 0) > MAX_BODY:
            raise ProtocolError("too_large", "the envelope is larger than this installation accepts")
        body = request.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise ProtocolError("too_large", "the envelope is larger than this installation accepts")
        signed = check(request.headers, root=load_root(peer.ca_certificate), kind=kind, path=path, body=body)
        nonce = signed.nonce
        answer = receive(peer, signed.nonce, body)
    except ProtocolError as exc:
        logger.info("%s refused: %s", kind, exc)
        return _signed(
            {"error": exc.code, "detail": exc.detail},
            status=STATUS.get(exc.code, 400),
            kind="answer",
            path=path,
            nonce=nonce or request.headers.get("X-Wasl-Nonce", "")[:64],
        )
    response = _signed(answer.data, status=answer.status, kind="answer", path=path, nonce=nonce)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@csrf_exempt
@require_POST
def inbox(request: HttpRequest) -> HttpResponse:
    """An envelope from a pinned installation: registered once, answered with the recipient's
    sealed acknowledgement, or refused with a code and a reason (nothing registered)."""
    return _from_peer(request, kind="envelope", path=INBOX_PATH, receive=receiving.envelope_receive)


@csrf_exempt
@require_POST
def document_requests(request: HttpRequest) -> HttpResponse:
    """A once-only request from a pinned installation for a document one of ours holds."""
    return _from_peer(request, kind="document-request", path=REQUESTS_PATH, receive=request_receive)


@csrf_exempt
@require_POST
def checkpoints(request: HttpRequest) -> HttpResponse:
    """Sealed checkpoints of a pinned installation's register logs, to keep for it."""
    return _from_peer(request, kind="checkpoints", path=CHECKPOINTS_PATH, receive=checkpoints_receive)


@csrf_exempt
@require_POST
def checkpoints_kept(request: HttpRequest) -> HttpResponse:
    """What we keep of one of a pinned installation's administrations, given back to it."""
    return _from_peer(request, kind="checkpoints-kept", path=KEPT_PATH, receive=checkpoints_give_back)


@csrf_exempt
@require_POST
def document_answers(request: HttpRequest) -> HttpResponse:
    """A pinned installation's answer to a once-only request we sent it."""
    return _from_peer(request, kind="document-answer", path=ANSWERS_PATH, receive=answer_receive)
