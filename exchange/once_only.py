"""Once-only document requests (law 55-19: never ask a person for a document an administration
already holds).

The **holder** declares the kinds of documents it delivers (:class:`ProvidedDocument`), each
delivered automatically or after one of its agents approves, and keeps the documents it holds
about people (:class:`HeldDocument`). An agent handling a request whose procedure lists a document
as held by another administration asks that administration for it, for the person who wrote
(their national ID). Automatic kinds are answered at once with the latest document held for the
person, sealed by the holder (or refused when none is held); others wait for the holder's agent,
who delivers a held document (or a new one, kept for the next time) or refuses with a reason.

The person sees, on their request's page, that the document was obtained (they are not asked for
it), and every step in their access log (:mod:`exchange.access_log`), as does every time the
requester's staff opens the delivered copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.bidi import isolated
from core.clock import now
from core.errors import NotFound, Refused
from documents import storage
from documents.intake import PDF, CheckedFile, blob_of
from exchange.models import AccessLogEntry, DocumentRequest, HeldDocument, ProvidedDocument, RemoteAdministration
from exchange.once_only_answers import access_log, answer_automatically, answer_deliver, answer_refuse
from exchange.tasks import document_request_post_task
from tenancy import permissions
from tenancy.access import Scope, member_may
from tenancy.models import Administration, User
from workflow.calendar import local_date
from workflow.models import Case, CaseEvent, ProcedureDocument
from workflow.services import offered_actions

# The worker's sweep leaves a new request to another installation to its queued task this long.
SWEEP_AFTER = timedelta(seconds=60)
Action = AccessLogEntry.Action


class OnceOnlyRefused(Refused):
    pass


def _holder_check(actor: User, administration: Administration, *, admin_only: bool = False) -> None:
    wanted = permissions.Action.DECLARE_DOCUMENTS if admin_only else permissions.Action.ANSWER_DOCUMENT_REQUESTS
    if not member_may(actor, administration, wanted):
        raise NotFound


# -- the holder's side: what it delivers, what it holds ----------------------------------------


def provided_document_save(
    *, actor: User, administration: Administration, code: str, name_ar: str, name_fr: str, automatic: bool
) -> ProvidedDocument:
    """Declare (or change) a kind of document this administration delivers to others."""
    _holder_check(actor, administration, admin_only=True)
    code = code.strip().upper()
    if not code or not name_ar.strip() or not name_fr.strip():
        raise OnceOnlyRefused("incomplete", _("Give the code and the name in Arabic and in French."), field="code")
    with transaction.atomic():
        kind, _created = ProvidedDocument.objects.update_or_create(
            administration=administration,
            code=code[:40],
            defaults={"name_ar": name_ar.strip()[:200], "name_fr": name_fr.strip()[:200], "automatic": automatic},
        )
        audit_record(
            actor=actor,
            action=AuditAction.ONCE_ONLY_PROVIDED,
            obj=kind,
            administration=administration,
            data={"code": kind.code, "automatic": automatic},
        )
    return kind


def held_document_register(
    *,
    actor: User,
    administration: Administration,
    kind: ProvidedDocument,
    national_id: str,
    person_name: str,
    file: CheckedFile,
    issued_on: date,
    reference: str = "",
) -> HeldDocument:
    """Keep a document this administration holds about a person (a PDF it issued)."""
    _holder_check(actor, administration)
    if kind.administration_id != administration.pk:
        raise NotFound
    national_id = national_id.strip().upper()
    if not national_id or not person_name.strip():
        raise OnceOnlyRefused("no_person", _("Give the person's national ID and name."), field="national_id")
    if file.content_type != PDF:
        raise OnceOnlyRefused("not_pdf", _("The document must be a PDF."), field="document")
    with transaction.atomic():
        held = HeldDocument.objects.create(
            kind=kind,
            national_id=national_id[:20],
            person_name=person_name.strip()[:200],
            reference=reference.strip()[:60],
            blob=blob_of(file),
            filename=file.filename,
            issued_on=issued_on,
            registered_at=now(),
            registered_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.ONCE_ONLY_HELD,
            obj=held,
            administration=administration,
            data={"kind": kind.code, "reference": held.reference},
        )
    return held


# -- the requester's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Who holds a document: an administration here (with the kind it declared), or one of a
    peer's (as its directory announced it)."""

    local: Administration | None
    kind: ProvidedDocument | None
    remote: RemoteAdministration | None
    code: str  # the holder's code for the document

    @property
    def name_ar(self) -> str:
        return self.local.name_ar if self.local is not None else self.remote.name_ar  # type: ignore[union-attr]

    @property
    def name_fr(self) -> str:
        return self.local.name_fr if self.local is not None else self.remote.name_fr  # type: ignore[union-attr]


def _holders(documents: list[ProcedureDocument]) -> dict[int, Holder]:
    """The holder of each document (by position) that delivers it: ``CODE`` here, ``CODE@peer``."""
    local_codes = {d.held_by_code for d in documents if "@" not in d.held_by_code}
    kinds = {
        (k.administration.code, k.code): k
        for k in ProvidedDocument.objects.filter(
            administration__code__in=local_codes, administration__is_active=True, is_active=True
        ).select_related("administration")
    }
    remote_keys = [d.held_by_code.partition("@") for d in documents if "@" in d.held_by_code]
    remotes = {
        (r.code, r.peer.name): r
        for r in RemoteAdministration.objects.filter(
            code__in={code for code, _at, _peer in remote_keys}, is_active=True, peer__is_active=True
        ).select_related("peer")
    }
    found: dict[int, Holder] = {}
    for d in documents:
        code, _at, peer_name = d.held_by_code.partition("@")
        if not peer_name:
            kind = kinds.get((code, d.held_document_code))
            if kind is not None:
                found[d.position] = Holder(local=kind.administration, kind=kind, remote=None, code=kind.code)
            continue
        remote = remotes.get((code, peer_name.lower()))
        if remote is not None and any(p.get("code") == d.held_document_code for p in remote.provides):
            found[d.position] = Holder(local=None, kind=None, remote=remote, code=d.held_document_code)
    return found


def _askable_holders(case: Case) -> dict[int, tuple[ProcedureDocument, Holder]]:
    """By position, the documents of the case's procedure another administration delivers, with
    their holder."""
    if case.procedure_id is None:
        return {}
    documents = [d for d in case.procedure.documents.all() if d.held_by_code and d.held_document_code]  # type: ignore[union-attr]
    holders = _holders(documents)
    return {d.position: (d, holders[d.position]) for d in documents if d.position in holders}


def askable(case: Case) -> list[ProcedureDocument]:
    """The documents of the case's procedure that another administration (here or on a pinned
    installation) holds and delivers: the ones an agent can ask for instead of the person."""
    return [document for document, _holder in _askable_holders(case).values()]


def document_request(*, scope: Scope, case: Case, position: int) -> DocumentRequest:
    """Ask the holder of document ``position`` of the case's procedure for it, for the person who
    wrote; answered at once if the holder delivers that kind automatically. A holder on another
    installation is asked by the worker after the commit (a task, then retries with a growing
    delay: :mod:`exchange.once_only_remote`), never while the clerk waits."""
    if not offered_actions(scope, case)["request_completion"]:
        raise OnceOnlyRefused("not_allowed", _("You cannot ask for documents on this file now."), status=403)
    found = _askable_holders(case).get(position)
    if found is None:
        raise OnceOnlyRefused(
            "not_held", _("This document is not listed as delivered by another administration."), field="document"
        )
    document, holder = found
    correspondence = case.correspondence
    national_id = correspondence.sender_identifier.strip().upper()
    if not national_id:
        raise OnceOnlyRefused(
            "no_identity", _("The request does not give the person's national ID: the holder cannot find the document.")
        )
    procedure = case.procedure
    assert procedure is not None
    moment = now()
    try:
        with transaction.atomic():
            remote = holder.remote
            request = DocumentRequest.objects.create(
                requester=scope.administration,
                case=case,
                provider=holder.local,
                kind=holder.kind,
                peer=remote.peer if remote is not None else None,
                remote_code=remote.code if remote is not None else "",
                remote_name_ar=remote.name_ar if remote is not None else "",
                remote_name_fr=remote.name_fr if remote is not None else "",
                remote_kind=holder.code if remote is not None else "",
                file_number=correspondence.number,
                document_name_ar=document.name_ar,
                document_name_fr=document.name_fr,
                procedure_code=procedure.code,
                procedure_name_ar=procedure.name_ar,
                procedure_name_fr=procedure.name_fr,
                national_id=national_id,
                person_name=correspondence.sender_name,
                citizen=correspondence.sender_account,
                requested_at=moment,
                requested_by=scope.user,
                next_attempt_at=moment + SWEEP_AFTER if remote is not None else None,
            )
            access_log(request, Action.REQUESTED, scope.administration, actor=scope.user)
            CaseEvent.objects.create(
                case=case,
                at=moment,
                kind=CaseEvent.Kind.DOCUMENT_ASKED,
                actor=scope.user,
                public=True,
                text=f"{isolated(document.name_ar)} — {isolated(document.name_fr)} "
                f"({isolated(holder.name_ar)} — {isolated(holder.name_fr)})",
            )
            audit_record(
                actor=scope.user,
                action=AuditAction.ONCE_ONLY_REQUESTED,
                obj=request,
                administration=scope.administration,
                data={"holder": request.holder_code, "kind": holder.code, "case": correspondence.number},
            )
            if holder.kind is not None and holder.kind.automatic:
                answer_automatically(request, holder.kind)
            if remote is not None:
                # Posted to the peer by the worker, never during the clerk's page: queued once
                # the request is committed; the worker's sweep sends it if the queueing is lost.
                request_id = str(request.pk)
                transaction.on_commit(lambda: document_request_post_task.enqueue(request_id=request_id))
    except IntegrityError:
        raise OnceOnlyRefused(
            "already_asked", _("This document has already been asked for and not answered yet.")
        ) from None
    return request


def _pending_for(actor: User, administration: Administration, request_id: str) -> DocumentRequest:
    _holder_check(actor, administration)
    request = (
        DocumentRequest.objects.select_for_update(of=("self",))
        .select_related("requester", "provider", "case__correspondence", "kind")
        .filter(pk=request_id, provider=administration)
        .first()
    )
    if request is None:
        raise NotFound
    if request.status != DocumentRequest.Status.PENDING:
        raise OnceOnlyRefused("answered", _("This request has already been answered."))
    return request


def request_deliver(
    *,
    actor: User,
    administration: Administration,
    request_id: str,
    held: HeldDocument | None = None,
    file: CheckedFile | None = None,
    issued_on: date | None = None,
) -> DocumentRequest:
    """The holder's agent delivers a document it holds, or a new one (kept for the next time)."""
    with transaction.atomic():
        request = _pending_for(actor, administration, request_id)
        if held is not None:
            if held.kind_id != request.kind_id or held.national_id != request.national_id:
                raise OnceOnlyRefused("wrong_document", _("This document is not about this person."), field="held")
        elif file is not None and request.kind is not None:
            held = held_document_register(
                actor=actor,
                administration=administration,
                kind=request.kind,
                national_id=request.national_id,
                person_name=request.person_name,
                file=file,
                issued_on=issued_on or local_date(now()),
            )
        else:
            raise OnceOnlyRefused("no_document", _("Choose a document held for this person or add it."), field="held")
        answer_deliver(request, held, actor)
    return request


def request_refuse(*, actor: User, administration: Administration, request_id: str, reason: str) -> DocumentRequest:
    if not reason.strip():
        raise OnceOnlyRefused("no_reason", _("Give the reason for the refusal."), field="reason")
    with transaction.atomic():
        request = _pending_for(actor, administration, request_id)
        answer_refuse(request, actor, reason.strip())
    return request


def delivered_copy_read(*, scope: Scope, request: DocumentRequest) -> bytes:
    """The delivered copy, for the requester's staff who may see the case; each read is logged."""
    if request.requester_id != scope.administration.pk or request.blob_id is None:
        raise NotFound
    with transaction.atomic():
        access_log(request, Action.READ, scope.administration, actor=scope.user)
    return storage.read_bytes(request.blob_id)
