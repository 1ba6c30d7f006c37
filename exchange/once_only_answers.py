"""Answering a once-only request and recording its steps, for requests made here and received
from peers alike: the holder's answer (the sealed copy, or the refusal), the access log entry
of each step, the line on the person's file.

The caller holds the request, pending, in its transaction (locked, or just created).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from audit.models import AuditAction
from audit.services import audit_record
from core.bidi import isolated
from core.clock import now
from documents import storage
from documents.intake import pdf_blob
from exchange.access_log import access_record
from exchange.lifecycle import document_request_move
from exchange.models import AccessLogEntry, DocumentRequest, HeldDocument, ProvidedDocument
from tenancy.models import Administration, User
from trust.sealing import seal_pdf
from trust.services import installation_pki
from workflow.models import CaseEvent

Action = AccessLogEntry.Action


def answer_automatically(request: DocumentRequest, kind: ProvidedDocument) -> None:
    """The holder's automatic answer: the latest document held for the person, or a refusal."""
    held = _latest_held(kind, request.national_id)
    if held is None:
        answer_refuse(request, None, _bilingual(gettext_noop("No such document is held for this person.")))
    else:
        answer_deliver(request, held, None)


def _bilingual(message: str) -> str:
    """A reason written by Wasl itself, kept in Arabic and French: it is read by both sides and
    the person, each in their language."""
    with override("ar"):
        arabic = _(message)
    with override("fr"):
        french = _(message)
    return f"{arabic} — {french}"


def _latest_held(kind: ProvidedDocument, national_id: str) -> HeldDocument | None:
    return HeldDocument.objects.filter(kind=kind, national_id=national_id).order_by("-issued_on", "-pk").first()


def request_facts(request: DocumentRequest) -> dict[str, Any]:
    return {
        "document": {"ar": request.document_name_ar, "fr": request.document_name_fr},
        "procedure": {"code": request.procedure_code, "ar": request.procedure_name_ar, "fr": request.procedure_name_fr},
        "requester": request.requester_code,
        "holder": request.holder_code,
        "file": request.file_number,
        "reason": request.reason,
    }


def access_log(
    request: DocumentRequest,
    action: str,
    administration: Administration | None,
    *,
    actor: User | None = None,
    administration_name: str = "",
    actor_name: str = "",
) -> None:
    """Record an access in this installation's log (``administration`` None: one of a peer's,
    by ``administration_name``)."""
    access_record(
        action=action,
        administration=administration,
        administration_name=administration_name,
        national_id=request.national_id,
        citizen=request.citizen,
        actor=actor,
        actor_name=actor_name,
        at=now(),
        facts=request_facts(request),
        request=request,
    )


def answer_deliver(request: DocumentRequest, held: HeldDocument, actor: User | None) -> None:
    """Seal a copy of ``held`` by the holder for the requester, and record the delivery."""
    provider = request.provider
    assert provider is not None
    requester = request.requester.name_fr if request.requester is not None else request.remote_name_fr
    copy = seal_pdf(
        storage.read_bytes(held.blob_id),
        pki=installation_pki(),
        administration_code=provider.code,
        reason=f"Copie délivrée à {requester} — {request.procedure_name_fr} (dossier {request.file_number})",
    )
    moved = document_request_move(
        request,
        DocumentRequest.Status.DELIVERED,
        held=held,
        blob=pdf_blob(copy, pages=held.blob.pages),
        answered_at=now(),
        answered_by=actor,
    )
    assert moved, "the caller holds the pending request"
    access_log(request, Action.DELIVERED, provider, actor=actor)
    if request.case is not None:
        case_told(request, provider.name_ar, provider.name_fr)
    audit_record(
        actor=actor,
        action=AuditAction.ONCE_ONLY_DELIVERED,
        obj=request,
        administration=provider,
        data={"to": request.requester_code, "held": held.pk},
    )


def case_told(request: DocumentRequest, holder_ar: str, holder_fr: str) -> None:
    """The person's file says the document was obtained from its holder."""
    assert request.case is not None
    CaseEvent.objects.create(
        case=request.case,
        at=now(),
        kind=CaseEvent.Kind.DOCUMENT_FETCHED,
        public=True,
        text=f"{isolated(request.document_name_ar)} — {isolated(request.document_name_fr)} "
        f"({isolated(holder_ar)} — {isolated(holder_fr)})",
    )


def answer_refuse(request: DocumentRequest, actor: User | None, reason: str) -> None:
    moved = document_request_move(
        request, DocumentRequest.Status.REFUSED, reason=reason[:500], answered_at=now(), answered_by=actor
    )
    assert moved, "the caller holds the pending request"
    access_log(request, Action.REFUSED, request.provider, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.ONCE_ONLY_REFUSED,
        obj=request,
        administration=request.provider,
        data={"to": request.requester_code, "reason": request.reason},
    )
