"""Letters: answers, rejections, requests for completion, and internal notes between services.

Each one is sealed and registered in the outgoing register; the completion of a file comes
back as incoming mail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.bidi import isolated
from core.clock import now
from documents import storage
from documents.intake import CheckedFile, bytes_upload
from registry.models import Channel, Correspondence, Direction, SealedDocument, SenderKind
from registry.sealed import sealed_document_pending
from registry.services import (
    Party,
    Registration,
    correspondence_register,
    new_verification_token,
)
from tenancy.access import scope_of
from tenancy.models import Administration, Service, User
from tenancy.permissions import Action
from workflow import letters
from workflow.calendar import local_date
from workflow.models import (
    Case,
    LetterTemplate,
    Reply,
)
from workflow.selectors import calendar_for
from workflow.services.base import (
    BODY_MAX,
    ActionRefused,
    Kind,
    LetterText,
    _check_text,
    _event,
    _handler_check,
    _locked_case,
    _not_allowed,
    _not_found,
    _schedule_reminders,
    _scope,
    _service_of,
    _touch,
    action_allowed,
    case_move,
    may_return,
)
from workflow.services.sealing import note_receive, sealed_document_make_safely


def _register_letter(
    *,
    actor: User,
    administration: Administration,
    addressee: Party,
    subject: str,
    service: Service | None,
    request: Correspondence | None,
    channel: str,
    confidential: bool,
    decision: str,
    text: LetterText,
    items: list[dict[str, str]],
    signer: dict[str, str],
    annex: CheckedFile | None = None,
    signed: str = "",
    token: str = "",
    seal_at: tuple[int, int, int] | None = None,
    note: dict[str, Any] | None = None,
) -> tuple[Registration, SealedDocument]:
    """Register a letter in the outgoing register and record it, pending, for verification.

    Only the number, the register log's entry and the pending letter are written here, under
    the register's lock; the letter is rendered and sealed after commit
    (:mod:`workflow.services.sealing`), outside any lock, and attached first. ``annex``: a PDF
    sealed before the transaction, attached second. A letter already signed in a circuit
    (``signed``: the SHA-256 of the stored PDF, made with ``token``) is not rendered again: the
    seal of registration adds the number to it, visibly, without touching what was signed.
    ``note``: what an internal note's registration in the incoming register needs.
    Returns the registration and the pending letter.
    """
    token = token or new_verification_token()
    registration = correspondence_register(
        actor=actor,
        administration=administration,
        direction=Direction.OUTGOING,
        channel=channel,
        addressee=addressee,
        subject=subject,
        files=[annex] if annex is not None else [],
        recipient_service=service,
        confidential=confidential,
        in_reply_to=request,
        letter_follows=True,
    )
    outgoing = registration.correspondence
    draft: dict[str, Any]
    if signed:
        draft = {"signed": signed, "at": list(seal_at) if seal_at else None}
    else:
        draft = {
            "data": letters.letter_data(
                outgoing=outgoing,
                request=request,
                service=service,
                decision=decision,
                body_ar=text.body_ar,
                body_fr=text.body_fr,
                items=items,
                recourse_ar=text.recourse_ar,
                recourse_fr=text.recourse_fr,
                signature=signer,
                token=token,
            )
        }
    if note is not None:
        draft["note"] = note
    document = sealed_document_pending(
        correspondence=outgoing,
        kind=SealedDocument.Kind.LETTER,
        token=token,
        issued_at=outgoing.registered_at,
        draft=draft,
    )
    return registration, document


def _sealed_annex(case: Case, attachment: bytes, attachment_name: str) -> CheckedFile:
    """An answer's attached PDF, sealed and stored before the transaction (sealing asks the
    timestamping unit, which may be a remote server)."""
    sealed = letters.seal(attachment, case.administration, f"Annexe {case.correspondence.number}")
    sha256 = storage.store_bytes(sealed)
    return CheckedFile(
        filename=attachment_name,
        content_type="application/pdf",
        size=len(sealed),
        sha256=sha256,
        pages=None,
        upload=bytes_upload(sealed, attachment_name),
    )


def _unlocked_case(actor: User, case_id: int) -> Case:
    """The case, checked as the action will check it under its lock, before slow work that
    precedes the transaction (an annex to seal): nobody else makes Wasl seal anything."""
    case = Case.objects.select_related("correspondence__administration", "service").filter(pk=case_id).first()
    if case is None:
        raise _not_found()
    _handler_check(_scope(actor, case), case, actor)
    return case


LETTER_DECISIONS: dict[str, str] = {
    Reply.Kind.ANSWER: "answer",
    Reply.Kind.REJECTION: "rejection",
    Reply.Kind.COMPLETION: "completion",
}


def _send_letter(
    *,
    actor: User,
    case: Case,
    kind: str,
    text: LetterText,
    items: list[dict[str, str]],
    template: LetterTemplate | None,
    annex: CheckedFile | None = None,
    signed: str = "",
    token: str = "",
    seal_at: tuple[int, int, int] | None = None,
) -> tuple[Reply, SealedDocument]:
    """Send the depositor a letter about ``case``; return its reply row and the pending letter."""
    request = case.correspondence
    registration, document = _register_letter(
        actor=actor,
        administration=case.administration,
        addressee=Party(
            kind=request.sender_kind,
            name=request.sender_name,
            identifier=request.sender_identifier,
            email=request.sender_email,
            address=request.sender_address,
            account=request.sender_account,
        ),
        subject=request.subject,
        service=case.service,
        request=request,
        channel=Channel.ONLINE if request.sender_account_id else Channel.COUNTER,
        confidential=request.confidential,
        decision=LETTER_DECISIONS[kind],
        text=text,
        items=items,
        signer={"name": actor.full_name, "title_ar": "", "title_fr": ""},
        annex=annex,
        signed=signed,
        token=token,
        seal_at=seal_at,
    )
    outgoing = registration.correspondence
    reply = Reply.objects.create(
        case=case,
        kind=kind,
        outgoing=outgoing,
        template=template,
        items=items,
        created_at=outgoing.registered_at,
        created_by=actor,
    )
    return reply, document


def _check_reply(text: LetterText, *, reject: bool, attachment: bytes | None = None) -> None:
    _check_text(text)
    if reject and not text.body_ar.strip() and not text.body_fr.strip():
        raise ActionRefused("reason_required", _("Give the reasons of the rejection."), field="body_ar")
    if not reject and not (text.body_ar.strip() or text.body_fr.strip() or attachment):
        raise ActionRefused("reply_empty", _("Write the answer or attach it as a PDF file."), field="body_ar")


def case_reply(
    *,
    actor: User,
    case_id: int,
    text: LetterText,
    template: LetterTemplate | None = None,
    attachment: bytes | None = None,
    attachment_name: str = "",
    reject: bool = False,
    signed_pdf: bytes | None = None,
    token: str = "",
    seal_at: tuple[int, int, int] | None = None,
    registered: Callable[[Reply, SealedDocument], None] | None = None,
) -> Reply:
    """Answer the request (or reject it, with reasons and the route of recourse).

    The letter is registered in the outgoing register, linked to the request, then (after
    commit, outside any lock) sealed and delivered to the depositor's space with an e-mail; if
    sealing fails it is left pending for the worker, the answer stays registered.
    ``signed_pdf``: the letter as signed in a circuit of the parapheur (see
    :func:`case_reply_draft`), registered as it is. ``registered(reply, letter)`` is called in
    the registration's transaction, last: what must be recorded with it (the parapheur's folder
    takes its letter); raising there undoes the registration.
    """
    _check_reply(text, reject=reject, attachment=attachment)
    annex = _sealed_annex(_unlocked_case(actor, case_id), attachment, attachment_name) if attachment else None
    signed = storage.store_bytes(signed_pdf) if signed_pdf is not None else ""
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        _handler_check(scope, case, actor)
        if template is not None and template.administration_id != case.administration_id:
            raise ActionRefused(
                "unknown_template", _("Choose a letter template of this administration."), field="template"
            )
        case_move(case, "reject" if reject else "answer")
        reply, letter = _send_letter(
            actor=actor,
            case=case,
            kind=Reply.Kind.REJECTION if reject else Reply.Kind.ANSWER,
            text=text,
            items=[],
            template=template,
            annex=annex,
            signed=signed,
            token=token,
            seal_at=seal_at,
        )
        case.answered_at, case.suspended_on, case.remind_on, case.remind_point = now(), None, None, ""
        if case.agent_id is None and scope.handles_service(case.service_id):
            case.agent = actor
        _touch(case, "status", "answered_at", "suspended_on", "remind_on", "remind_point", "agent")
        _event(
            case,
            Kind.REJECTED if reject else Kind.ANSWERED,
            actor,
            service=case.service,
            public=True,
            data={"reply_id": reply.pk, "number": reply.outgoing.number},
        )
        audit_record(
            actor=actor,
            action=AuditAction.CASE_REJECTED if reject else AuditAction.CASE_ANSWERED,
            obj=case,
            administration=case.administration,
            subject_user=case.correspondence.sender_account,
            data={"number": case.correspondence.number, "reply": reply.outgoing.number},
        )
        if registered is not None:
            registered(reply, letter)
    sealed_document_make_safely(document_id=letter.pk)
    return reply


def case_reply_draft(
    *,
    actor: User,
    case_id: int,
    text: LetterText,
    reject: bool = False,
    signer: dict[str, str] | None = None,
    signatures: int = 1,
) -> tuple[bytes, str]:
    """The answer as a draft letter for a circuit of visas and signatures: checked like an answer,
    rendered like the letter (the outgoing number left to the registration), nothing registered.
    ``signatures``: how many visible signatures the letter makes room for. Returns the PDF and
    the verification token its QR code already names."""
    _check_reply(text, reject=reject)
    case = Case.objects.select_related("correspondence", "administration", "service").filter(pk=case_id).first()
    if case is None:
        raise _not_found()
    scope = _scope(actor, case)
    _handler_check(scope, case, actor)
    if not action_allowed(case, "reject" if reject else "answer"):
        raise _not_allowed()
    request = case.correspondence
    draft = Correspondence(
        administration=case.administration,
        direction=Direction.OUTGOING,
        number=letters.DRAFT_NUMBER,
        registered_at=now(),
        addressee_name=request.sender_name,
        addressee_address=request.sender_address,
        subject=request.subject,
    )
    token = new_verification_token()
    data = letters.letter_data(
        outgoing=draft,
        request=request,
        service=case.service,
        decision=LETTER_DECISIONS[Reply.Kind.REJECTION if reject else Reply.Kind.ANSWER],
        body_ar=text.body_ar,
        body_fr=text.body_fr,
        items=[],
        recourse_ar=text.recourse_ar,
        recourse_fr=text.recourse_fr,
        signature=signer or {"name": actor.full_name, "title_ar": "", "title_fr": ""},
        token=token,
        signature_tag=letters.SIGNATURE_TAG,
        # Two blocks a row: the seal of registration, then each signature.
        signature_rows=(signatures + 2) // 2,
    )
    return letters.draft_letter_pdf(data), token


def case_request_completion(
    *,
    actor: User,
    case_id: int,
    document_ids: Sequence[int],
    text: LetterText | None = None,
    template: LetterTemplate | None = None,
) -> Reply:
    """Ask the depositor, once, for documents of the procedure's catalogue; the clock stops.

    Only documents the catalogue lists can be asked for, and none that another
    administration holds (law 55-19). ``template``: the letter template the text came from.
    """
    text = text or LetterText()
    _check_text(text)
    with transaction.atomic():
        case = _locked_case(case_id)
        scope = _scope(actor, case)
        _handler_check(scope, case, actor)
        if template is not None and template.administration_id != case.administration_id:
            raise ActionRefused(
                "unknown_template", _("Choose a letter template of this administration."), field="template"
            )
        if case.completion_requested:
            raise ActionRefused(
                "completion_already_requested",
                _("The file may be completed only once, and it was already requested."),
                status=409,
            )
        case_move(case, "request_completion")
        if case.procedure is None:
            raise ActionRefused(
                "no_catalogue",
                _("Only documents of a procedure's catalogue can be requested, and this request names no procedure."),
                field="documents",
            )
        catalogue = {d.pk: d for d in case.procedure.documents.all()}
        wanted = list(dict.fromkeys(document_ids))
        if not wanted:
            raise ActionRefused("documents_required", _("Choose the missing documents."), field="documents")
        unknown = [i for i in wanted if i not in catalogue]
        if unknown:
            raise ActionRefused(
                "document_not_in_catalogue",
                _("Only documents listed in the procedure's catalogue can be requested."),
                field="documents",
            )
        held = [catalogue[i] for i in wanted if catalogue[i].held_elsewhere]
        if held:
            raise ActionRefused(
                "document_held_elsewhere",
                _(
                    "%(document)s is held by %(holder)s: it cannot be asked of the depositor (law 55-19). "
                    "Ask %(holder)s for it from the file."
                )
                % {
                    "document": isolated(held[0].name),
                    "holder": isolated(held[0].held_by_name or held[0].held_by_code),
                },
                field="documents",
            )
        items = [{"id": str(i), "name_ar": catalogue[i].name_ar, "name_fr": catalogue[i].name_fr} for i in wanted]
        reply, letter = _send_letter(
            actor=actor,
            case=case,
            kind=Reply.Kind.COMPLETION,
            text=text,
            items=items,
            template=template,
        )
        case.completion_requested = True
        case.suspended_on = local_date(now())
        case.remind_on, case.remind_point = None, ""
        _touch(case, "status", "completion_requested", "suspended_on", "remind_on", "remind_point")
        _event(
            case,
            Kind.COMPLETION_REQUESTED,
            actor,
            service=case.service,
            public=True,
            data={"reply_id": reply.pk, "number": reply.outgoing.number, "items": items},
        )
        audit_record(
            actor=actor,
            action=AuditAction.CASE_COMPLETION_REQUESTED,
            obj=case,
            administration=case.administration,
            subject_user=case.correspondence.sender_account,
            data={"number": case.correspondence.number, "items": [i["name_fr"] for i in items]},
        )
    sealed_document_make_safely(document_id=letter.pk)
    return reply


def case_complete(
    *,
    actor: User | None,
    case_id: int,
    files: Sequence[CheckedFile],
    note: str = "",
    channel: str = Channel.ONLINE,
) -> Registration:
    """The depositor sends the missing documents: registered as incoming mail linked to the
    request (with its own receipt); the clock resumes with the suspended days added.

    ``actor`` is the depositor (online) or the clerk who received the papers at the counter.
    """
    if not files:
        raise ActionRefused("files_required", _("Attach the documents that were requested."), field="attachments")
    if len(note) > BODY_MAX:
        raise ActionRefused("text_too_long", _("The text is too long."), field="body")
    with transaction.atomic():
        case = _locked_case(case_id)
        request = case.correspondence
        if channel == Channel.ONLINE:
            if actor is None or request.sender_account_id != actor.pk:
                raise _not_found()
        else:
            scope = _scope(actor, case) if actor is not None else None
            if scope is None or not may_return(scope, case):
                raise _not_allowed()
        case_move(case, "complete")
        calendar = calendar_for(case.administration)
        today = local_date(now())
        suspended = calendar.suspended_days(case.delay_kind, case.suspended_on or today, today)
        case.suspended_days += suspended
        if case.delay_days is not None:  # (a letter from an administration has no delay)
            case.due_on = calendar.due_date(case.registered_on, case.delay_days, case.delay_kind, case.suspended_days)
        case.suspended_on = None
        sender = (
            Party.of_account(request.sender_account)
            if channel == Channel.ONLINE and request.sender_account is not None
            else Party(
                kind=request.sender_kind,
                name=request.sender_name,
                identifier=request.sender_identifier,
                email=request.sender_email,
                address=request.sender_address,
                account=request.sender_account,
            )
        )
        registration = correspondence_register(
            actor=actor,
            administration=case.administration,
            channel=channel,
            sender=sender,
            subject=_("Completion of %(number)s") % {"number": request.number},
            body=note,
            files=files,
            recipient_service=case.service,
            confidential=request.confidential,
            in_reply_to=request,
        )
        _schedule_reminders(case, calendar, after=today)
        _touch(case, "status", "suspended_days", "due_on", "suspended_on", "remind_on", "remind_point")
        _event(
            case,
            Kind.COMPLETED,
            actor,
            service=case.service,
            public=True,
            data={
                "number": registration.correspondence.number,
                "suspended_days": suspended,
                "due_on": case.due_on.isoformat() if case.due_on else None,
            },
        )
        audit_record(
            actor=actor,
            action=AuditAction.CASE_COMPLETED,
            obj=case,
            administration=case.administration,
            subject_user=request.sender_account,
            data={"number": request.number, "completion": registration.correspondence.number},
        )
    return registration


def internal_note_send(
    *,
    actor: User,
    administration: Administration,
    from_service: Service | None,
    to_service: Service | None,
    subject: str,
    text: LetterText,
) -> Registration:
    """A note from one service to another of the same administration (central ↔ decentralised).

    The same machinery as mail: a note registered in the outgoing register, sealed after commit,
    then registered in the incoming register, where its case is assigned to the receiving
    service. Returns the registration received; while the note is not sealed yet (sealing
    failed, the worker retries), the registration sent.
    """
    sender_service = _service_of(administration, from_service, "from_service")
    target = _service_of(administration, to_service, "to_service")
    if sender_service.pk == target.pk:
        raise ActionRefused("same_service", _("Choose another service than the sender."), field="to_service")
    scope = scope_of(actor, administration)
    if not (scope.may(Action.ROUTE) or scope.handles_service(sender_service.pk)):
        raise _not_allowed()
    _check_text(text)
    if not (text.body_ar.strip() or text.body_fr.strip()):
        raise ActionRefused("reply_empty", _("Write the note."), field="body_ar")
    with transaction.atomic():
        sent, letter = _register_letter(
            actor=actor,
            administration=administration,
            addressee=Party(kind=SenderKind.ADMINISTRATION, name=f"{target.name_ar} / {target.name_fr}"),
            subject=subject,
            service=sender_service,
            request=None,
            channel=Channel.INTERNAL,
            confidential=False,
            decision="note",
            text=text,
            items=[],
            signer={"name": actor.full_name, "title_ar": sender_service.name_ar, "title_fr": sender_service.name_fr},
            note={
                "actor": actor.pk,
                "to_service": target.pk,
                "sender": f"{sender_service.name_ar} / {sender_service.name_fr}",
                "body": text.body_ar or text.body_fr,
            },
        )
    made = sealed_document_make_safely(document_id=letter.pk)
    received = note_receive(made) if made is not None else None
    if received is None:
        return sent
    return Registration(correspondence=received, receipt=getattr(received, "receipt", None))
