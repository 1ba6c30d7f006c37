"""Letters and attestations made after the change that issues them (:mod:`registry.sealed`).

An answer, a rejection, a request for completion, an internal note and an attestation of
silence-acceptance are decided in a transaction that records the document pending (its number
when it is a letter, its token, its draft). Here, after commit and outside any lock, it is
rendered, sealed and timestamped, then recorded; then what waited for it follows: the e-mail
that carries the letter to the depositor, the internal note's registration in the incoming
register. The service that issued it calls :func:`sealed_document_make_safely` at once, so the
user normally sees the document in the response; the worker makes those left pending
(:func:`sealed_documents_make_pending`).
"""

from __future__ import annotations

from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from documents import storage
from documents.intake import bytes_upload, check_files, store_checked
from registry.anchors import head_anchor
from registry.models import Channel, Correspondence, Direction, SealedDocument, SenderKind
from registry.sealed import sealed_document_failed, sealed_document_store, sealed_documents_pending
from registry.services import Party, Registration
from tenancy.models import Service, User
from workflow import letters
from workflow.models import CaseEvent, Reply
from workflow.services.requests import request_register
from workflow.tasks import case_event_email_task


def sealed_document_make(*, document_id: int) -> SealedDocument:
    """Render, seal and record a pending letter or attestation unless it is made already; then
    send what waited for it. Raises on failure: the document stays pending, the failure is
    counted on its row (``attempts``, ``last_error``) and logged."""
    document = SealedDocument.objects.select_related("correspondence__administration").get(pk=document_id)
    if not document.is_issued:
        try:
            pdf = _render_and_seal(document)
        except Exception as exc:
            sealed_document_failed(document, exc)
            raise
        letter = document.kind == SealedDocument.Kind.LETTER
        attach_as = f"{document.correspondence.number}.pdf" if letter else ""
        if not sealed_document_store(document, pdf, attach_as=attach_as, pages=None if letter else 1):
            return SealedDocument.objects.get(pk=document.pk)
    _follow_up(document)
    return document


def sealed_document_make_safely(*, document_id: int) -> SealedDocument | None:
    """Make it now if possible; on failure leave it pending for the worker (None)."""
    try:
        return sealed_document_make(document_id=document_id)
    except Exception:
        return None


def sealed_documents_make_pending(*, limit: int = 200) -> int:
    """Make the documents left pending by an error or a crash; return how many were made."""
    made = 0
    for document_id in sealed_documents_pending(limit=limit):
        if sealed_document_make_safely(document_id=document_id) is not None:
            made += 1
    # A crash between an internal note's seal and its registration in the incoming register.
    for document_id in (
        SealedDocument.objects.filter(
            kind=SealedDocument.Kind.LETTER,
            blob__isnull=False,
            correspondence__channel=Channel.INTERNAL,
            correspondence__direction=Direction.OUTGOING,
        )
        .exclude(correspondence__follow_ups__direction=Direction.INCOMING)
        .values_list("pk", flat=True)[:limit]
    ):
        sealed_document_make_safely(document_id=document_id)
    return made


def _render_and_seal(document: SealedDocument) -> bytes:
    correspondence = document.correspondence
    administration = correspondence.administration
    draft = document.draft
    # The document states the register log's head as it is sealed (registry.anchors): for a
    # letter, its own registration entry is in it.
    anchor = head_anchor(administration, correspondence.number).text()
    if document.kind == SealedDocument.Kind.ATTESTATION:
        return letters.attestation_pdf(draft["data"], administration, anchor=anchor)
    if draft.get("signed"):  # a letter signed in a circuit: only the seal of registration is added
        at = draft.get("at")
        return letters.registration_seal(
            storage.read_bytes(draft["signed"]),
            administration,
            number=correspondence.number,
            registered_at=correspondence.registered_at,
            anchor=anchor,
            at=(int(at[0]), int(at[1]), int(at[2])) if at else None,
        )
    return letters.letter_pdf(draft["data"], administration, anchor=anchor)


def _follow_up(document: SealedDocument) -> None:
    """What waited for the letter: the depositor's e-mail that carries it, or the internal
    note's registration in the incoming register. Each is done once."""
    if document.kind != SealedDocument.Kind.LETTER:
        return
    if "note" in document.draft:
        note_receive(document)
        return
    reply = Reply.objects.filter(outgoing_id=document.correspondence_id).first()
    if reply is None:
        return
    for event_id in CaseEvent.objects.filter(
        case_id=reply.case_id, public=True, emailed_at__isnull=True, data__reply_id=reply.pk
    ).values_list("pk", flat=True):
        case_event_email_task.enqueue(event_id=event_id)


def note_receive(document: SealedDocument) -> Correspondence | None:
    """Register a sealed internal note in the incoming register, for its receiving service,
    once; return the copy received (None while the note is not sealed yet)."""
    outgoing = document.correspondence
    received = Correspondence.objects.filter(in_reply_to=outgoing, direction=Direction.INCOMING).first()
    if received is not None or not document.is_issued:
        return received
    note = document.draft["note"]
    files = check_files([bytes_upload(storage.read_bytes(str(document.blob_id)), f"{outgoing.number}.pdf")])
    store_checked(files)
    administration = outgoing.administration
    target = Service.objects.get(pk=note["to_service"], administration=administration)
    actor = User.objects.get(pk=note["actor"])
    with transaction.atomic():
        # The note's lock: two makers never register it twice.
        Correspondence.objects.select_for_update().filter(pk=outgoing.pk).first()
        received = Correspondence.objects.filter(in_reply_to=outgoing, direction=Direction.INCOMING).first()
        if received is not None:
            return received
        registration: Registration = request_register(
            actor=actor,
            administration=administration,
            channel=Channel.INTERNAL,
            sender=Party(kind=SenderKind.ADMINISTRATION, name=note["sender"]),
            subject=outgoing.subject,
            body=note["body"],
            files=files,
            recipient_service=target,
            in_reply_to=outgoing,
        )
        audit_record(
            actor=actor,
            action=AuditAction.NOTE_SENT,
            obj=outgoing,
            administration=administration,
            data={
                "number": outgoing.number,
                "received_as": registration.correspondence.number,
                "to": target.code,
            },
        )
    return registration.correspondence
