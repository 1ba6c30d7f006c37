"""The acts at a folder's steps, each locking the folder, checking the actor's turn and the
document's fingerprint: visas, signatures, opinions, rejection, return, comments, withdrawal;
delegations and batch signing.

Nothing slow under the folder's lock (on SQLite, the database's write lock): a signature is made
on the folder read unlocked, then recorded in a short transaction that checks again that the
folder did not move; the seal of a seal step, the registration of a reply and the proof slip are
made after commit (:mod:`parapheur.services.finishing`)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from core.errors import NotFound, Refused
from documents import storage
from parapheur.certificates import Signer, current_certificate, draw_block, unlock
from parapheur.lifecycle import folder_move
from parapheur.models import (
    ActorKind,
    Delegation,
    Folder,
    FolderEvent,
    FolderStep,
    StepActor,
    StepKind,
)
from parapheur.selectors import delegators_of
from parapheur.services.finishing import folder_finished
from parapheur.services.moving import _advance, _event, _locked_folder
from parapheur.services.steps import BLOCK_WIDTH_MM, BLOCKING, FolderRefused, _members, role_holders
from tenancy.access import member_may
from tenancy.models import Administration, User
from tenancy.permissions import Action, allowed
from trust.pdf_update import POINTS_PER_MM, Appearance, BlockImage, UnsupportedPdf, page_size
from trust.sealing import add_validation_data, sign_pdf
from trust.services import installation_pki
from workflow.calendar import local_date

logger = logging.getLogger(__name__)
Kind = FolderEvent.Kind
State = FolderStep.State


# ---------------------------------------------------------------- who may act


def _acting_for(user: User, folder: Folder, step: FolderStep, today: date) -> tuple[int, User | None] | None:
    """Whom ``user`` acts for at ``step``: (the person expected there, the person they stand in
    for or None), or None when it is not theirs to act. Reads only."""
    if step.actor_kind == ActorKind.ROLE:
        holders = role_holders(folder.administration, step.role, step.service_id)
        if user.pk in holders:
            return user.pk, None
        for delegator_id in (
            delegators_of(user, folder.administration, today, document_type=folder.document_type) & holders
        ):
            return delegator_id, User.objects.get(pk=delegator_id)
        return None
    waiting = {row.user_id: row for row in step.actors.filter(acted_at=None).select_related("user")}
    if user.pk in waiting:
        return user.pk, None
    for delegator_id in delegators_of(user, folder.administration, today, document_type=folder.document_type):
        if delegator_id in waiting:
            return delegator_id, waiting[delegator_id].user
    return None


def _read_folder(folder_id: int) -> Folder:
    """The folder, unlocked: read before the slow work of an act, checked again under its lock."""
    folder = Folder.objects.select_related("administration").filter(pk=folder_id).first()
    if folder is None:
        raise NotFound
    return folder


def _whose_turn(folder: Folder, actor: User, kinds: Sequence[str]) -> tuple[FolderStep, int, User | None]:
    """The step at which it is ``actor``'s turn, the person expected there, whom they stand in
    for; refused when there is none. Reads only."""
    if folder.status != Folder.Status.IN_PROGRESS:
        raise FolderRefused("finished", _("This folder is no longer in a circuit."), status=409)
    today = local_date(now())
    steps = folder.steps.filter(state=State.ACTIVE, kind__in=kinds).order_by("position")
    for step in steps:
        if step.kind in BLOCKING and step.position != folder.current:
            continue
        found = _acting_for(actor, folder, step, today)
        if found is not None:
            return step, found[0], found[1]
    raise FolderRefused("not_your_turn", _("It is not your turn to act on this folder."), status=409)


def _turn(folder: Folder, actor: User, kinds: Sequence[str]) -> tuple[FolderStep, StepActor, User | None]:
    """:func:`_whose_turn`, with the row of the person expected (made for a role's member): under
    the folder's lock."""
    step, person, delegator = _whose_turn(folder, actor, kinds)
    row, _created = StepActor.objects.get_or_create(step=step, user_id=person)
    return step, row, delegator


def _same_document(folder: Folder, fingerprint: str) -> None:
    if fingerprint != folder.document:
        raise FolderRefused(
            "document_changed",
            _("The document changed since you opened it: open it again and check it before acting."),
            field="fingerprint",
            status=409,
        )


def _still_turn(
    folder_id: int, actor: User, kinds: Sequence[str], seen: FolderStep, delegator: User | None, fingerprint: str
) -> tuple[Folder, FolderStep, StepActor]:
    """Under the folder's lock, after the slow work of an act done unlocked: still ``actor``'s
    turn at the same step, for the same person, on the same document; else refused (409), as
    what was signed can no longer be recorded."""
    folder = _locked_folder(folder_id)
    try:
        step, row, now_for = _turn(folder, actor, kinds)
        moved = step.pk != seen.pk or getattr(now_for, "pk", None) != getattr(delegator, "pk", None)
    except FolderRefused:
        moved = True
    if moved or folder.document != fingerprint:
        raise FolderRefused(
            "folder_changed",
            _("This folder changed while your signature was being made, and nothing was recorded: look at it again."),
            status=409,
        )
    return folder, step, row


def _done(step: FolderStep, row: StepActor, actor: User, moment: datetime) -> bool:
    """Record ``row``'s act; True when the whole step is done."""
    row.acted_at = moment
    row.acted_by = actor if actor.pk != row.user_id else None
    row.save(update_fields=["acted_at", "acted_by"])
    if step.actor_kind == ActorKind.ALL and step.actors.filter(acted_at=None).exists():
        return False
    step.state, step.finished_at = State.DONE, moment
    step.save(update_fields=["state", "finished_at"])
    return True


def _audit_delegation(folder: Folder, actor: User, delegator: User | None, act: AuditAction) -> None:
    if delegator is not None:
        audit_record(
            actor=actor,
            action=act,
            obj=folder,
            administration=folder.administration,
            subject_user=delegator,
            data={"delegator": delegator.pk},
        )


def _moved_on(folder: Folder, step: FolderStep, row: StepActor, actor: User, moment: datetime) -> bool:
    """Record the act at ``step`` and move the folder on when the step is done; True when the
    folder then waits for its finisher (call :func:`_finished` after the commit)."""
    if _done(step, row, actor, moment):
        return _advance(folder, moment)
    folder.updated_at = moment
    folder.save(update_fields=["updated_at", "document"])
    return False


def _signature_recorded(
    *,
    folder_id: int,
    actor: User,
    kinds: Sequence[str],
    seen: FolderStep,
    delegator: User | None,
    fingerprint: str,
    signed: str,
    moment: datetime,
    kind: str,
    data: dict[str, object],
    audit: AuditAction,
    text: str = "",
) -> Folder:
    """Record a signature made before the transaction (``signed``, the stored file): under the
    folder's lock, only if the turn, the person and the document are still those it was made
    for (else ``folder_changed``), the folder takes the file, its history the event and its
    step the act. The file is removed when nothing records it. Then the folder is finished
    when it waits for that."""
    try:
        with transaction.atomic():
            folder, step, row = _still_turn(folder_id, actor, kinds, seen, delegator, fingerprint)
            folder.document = signed
            _event(folder, kind, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=text, data=data)
            _audit_delegation(folder, actor, delegator, audit)
            waiting = _moved_on(folder, step, row, actor, moment)
    except BaseException:
        storage.discard(signed)
        raise
    return folder_finished(folder, waiting=waiting)


# ---------------------------------------------------------------- acts


def folder_approve(
    *, actor: User, folder_id: int, fingerprint: str, text: str = "", passphrase: str = "", signer: Signer | None = None
) -> Folder:
    """A visa: the actor approves the document whose fingerprint they were shown. With their
    passphrase (or an unlocked ``signer``), the visa is also signed into the PDF: an invisible
    PAdES signature ("Visa"), so that the document itself carries it; without, it is recorded
    in the history and the proof slip (a simple electronic signature).

    The signature is made before the transaction, on the folder read unlocked; the transaction
    records it only if the folder did not move meanwhile (else ``folder_changed``, 409)."""
    if not (passphrase or signer is not None):
        with transaction.atomic():
            folder = _locked_folder(folder_id)
            step, row, delegator = _turn(folder, actor, [StepKind.VISA])
            _same_document(folder, fingerprint)
            moment = now()
            data: dict[str, object] = {"level": "simple"}
            _event(
                folder, Kind.APPROVED, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=text, data=data
            )
            _audit_delegation(folder, actor, delegator, AuditAction.FOLDER_APPROVED_BY_DELEGATION)
            waiting = _moved_on(folder, step, row, actor, moment)
        return folder_finished(folder, waiting=waiting)
    folder = _read_folder(folder_id)
    seen, _person, delegator = _whose_turn(folder, actor, [StepKind.VISA])
    _same_document(folder, fingerprint)
    if signer is None:
        signer = signer_for(actor, folder.administration, passphrase)
    moment = now()
    pki = installation_pki()
    visa = sign_pdf(
        storage.read_bytes(folder.document),
        identity=signer.identity,
        pki=pki,
        reason=f"Visa ({seen.position})" + (f" p.o. {delegator.email}" if delegator else ""),
        field_name=f"Visa{seen.position}",
        signing_time=moment,
    )
    return _signature_recorded(
        folder_id=folder_id,
        actor=actor,
        kinds=[StepKind.VISA],
        seen=seen,
        delegator=delegator,
        fingerprint=fingerprint,
        signed=storage.store_bytes(add_validation_data(visa, pki=pki, identity=signer.identity)),
        moment=moment,
        kind=Kind.APPROVED,
        data={"level": "advanced", "pades": "B-LT", "signed": fingerprint, "certificate": signer.certificate.serial},
        audit=AuditAction.FOLDER_APPROVED_BY_DELEGATION,
        text=text,
    )


def folder_give_opinion(*, actor: User, folder_id: int, text: str) -> Folder:
    """An opinion, asked for but never waited for."""
    if not text.strip():
        raise FolderRefused("no_text", _("Write your opinion."), field="text")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, row, delegator = _turn(folder, actor, [StepKind.OPINION])
        moment = now()
        _event(folder, Kind.OPINION, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=text.strip())
        _audit_delegation(folder, actor, delegator, AuditAction.FOLDER_OPINION_BY_DELEGATION)
        _done(step, row, actor, moment)
    return folder


def signer_for(actor: User, administration: Administration, passphrase: str) -> Signer:
    """The actor's unlocked signing key (refused: none, revoked, expired, wrong passphrase)."""
    return unlock(current_certificate(actor, administration), passphrase)


def folder_sign(
    *,
    actor: User,
    folder_id: int,
    fingerprint: str,
    passphrase: str = "",
    signer: Signer | None = None,
    placement: tuple[int, int, int] | None = None,
) -> Folder:
    """A signature: the document shown (``fingerprint``) is signed, visibly, with the actor's
    certificate; one more incremental signature, earlier ones untouched. ``placement`` (page
    from 1, 0 for the last; millimetres from the left and from the bottom) is where the
    signatory puts their block, instead of where the circuit or the document's tag says.

    The signature is made before the transaction, on the folder read unlocked; the transaction
    records it only if the folder did not move meanwhile (else ``folder_changed``, 409)."""
    folder = _read_folder(folder_id)
    seen, _person, delegator = _whose_turn(folder, actor, [StepKind.SIGNATURE])
    _same_document(folder, fingerprint)
    if signer is None:
        signer = signer_for(actor, folder.administration, passphrase)
    elif signer.certificate.user_id != actor.pk or signer.certificate.administration_id != folder.administration_id:
        raise NotFound
    moment = now()
    pdf = storage.read_bytes(folder.document)
    block = signer.block
    if delegator is not None:
        certificate = signer.certificate
        block = draw_block(
            signer=actor.full_name,
            administration=folder.administration,
            title_fr=certificate.title_fr,
            title_ar=certificate.title_ar,
            delegator=delegator.full_name,
        )
    pki = installation_pki()
    made = sign_pdf(
        pdf,
        identity=signer.identity,
        pki=pki,
        reason=f"Signature ({seen.position})" + (f" p.o. {delegator.email}" if delegator else ""),
        field_name=f"Signature{seen.position}",
        appearance=_appearance(pdf, _placed_at(seen, placement), block, moment),
        signing_time=moment,
    )
    return _signature_recorded(
        folder_id=folder_id,
        actor=actor,
        kinds=[StepKind.SIGNATURE],
        seen=seen,
        delegator=delegator,
        fingerprint=fingerprint,
        # B-LT: the chain and the CRL travel with the document.
        signed=storage.store_bytes(add_validation_data(made, pki=pki, identity=signer.identity)),
        moment=moment,
        kind=Kind.SIGNED,
        data={"signed": fingerprint, "certificate": signer.certificate.serial, "level": "advanced", "pades": "B-LT"},
        audit=AuditAction.FOLDER_SIGNED_BY_DELEGATION,
    )


def _placed_at(step: FolderStep, placement: tuple[int, int, int] | None) -> FolderStep:
    if placement is None:
        return step
    page, x_mm, y_mm = placement
    if page < 0 or x_mm < 0 or y_mm < 0:
        raise FolderRefused("bad_placement", _("Give a page and a position inside it."), field="page")
    step.page, step.x_mm, step.y_mm = page, x_mm, y_mm  # for this signature only (not saved)
    return step


def _appearance(pdf: bytes, step: FolderStep, block: BlockImage, moment: datetime) -> Appearance:
    page = step.page - 1 if step.page > 0 else -1
    try:
        x0, y0, x1, y1 = page_size(pdf, page)
    except UnsupportedPdf:
        raise FolderRefused("bad_placement", _("The document has no such page."), field="page") from None
    width = min(BLOCK_WIDTH_MM * POINTS_PER_MM, (x1 - x0) - 10)
    x = min(max(x0 + step.x_mm * POINTS_PER_MM, x0), x1 - width)
    y = min(max(y0 + step.y_mm * POINTS_PER_MM, y0), y1 - 20)
    stamp = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    return Appearance(page=page, x=x, y=y, width=width, image=block, lines=(stamp,))


def folder_reject(*, actor: User, folder_id: int, reason: str) -> Folder:
    """Back to the submitter, with the reason; the folder leaves the circuit."""
    if not reason.strip():
        raise FolderRefused("no_reason", _("Say why the folder is rejected."), field="reason")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, _row, delegator = _turn(folder, actor, BLOCKING)
        moment = now()
        folder_move(folder, Folder.Status.REJECTED, current=0, finished_at=moment, updated_at=moment)
        folder.steps.filter(state=State.ACTIVE).update(state=State.WAITING, started_at=None)
        _event(folder, Kind.REJECTED, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=reason.strip())
        _audit_delegation(folder, actor, delegator, AuditAction.FOLDER_REJECTED_BY_DELEGATION)
    return folder


def folder_return(*, actor: User, folder_id: int, to_position: int, reason: str) -> Folder:
    """Send the folder back to an earlier visa or signature, which is then done again."""
    if not reason.strip():
        raise FolderRefused("no_reason", _("Say why the folder goes back."), field="reason")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, _row, delegator = _turn(folder, actor, BLOCKING)
        target = folder.steps.filter(position=to_position, kind__in=BLOCKING, position__lt=step.position).first()
        if target is None:
            raise FolderRefused("bad_return", _("Choose an earlier visa or signature."), field="to_position")
        moment = now()
        again = folder.steps.filter(position__gte=target.position, position__lte=step.position, kind__in=BLOCKING)
        StepActor.objects.filter(step__in=again, step__actor_kind=ActorKind.ROLE).delete()
        StepActor.objects.filter(step__in=again).update(acted_at=None, acted_by=None)
        again.update(state=State.WAITING, started_at=None, finished_at=None)
        _event(
            folder,
            Kind.RETURNED,
            actor=actor,
            at=moment,
            step=step,
            on_behalf_of=delegator,
            text=reason.strip(),
            data={"to": target.position},
        )
        target.refresh_from_db()
        target.state, target.started_at = State.ACTIVE, moment
        target.save(update_fields=["state", "started_at"])
        folder.current = target.position
        folder.updated_at = moment
        folder.save(update_fields=["current", "updated_at"])
    return folder


def folder_comment(*, actor: User, folder_id: int, text: str, page: int | None = None) -> FolderEvent:
    if not text.strip():
        raise FolderRefused("no_text", _("Write the comment."), field="text")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        if not member_may(actor, folder.administration, Action.ACT_IN_CIRCUIT):
            raise NotFound  # the auditor reads folders; a comment is written in their history
        if page is not None and page < 1:
            raise FolderRefused("bad_page", _("Pages are numbered from 1."), field="page")
        return _event(folder, Kind.ANNOTATED, actor=actor, at=now(), text=text.strip()[:4000], page=page)


def folder_withdraw(*, actor: User, folder_id: int) -> Folder:
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        if folder.submitter_id != actor.pk:
            raise NotFound
        if folder.status != Folder.Status.IN_PROGRESS:
            raise FolderRefused("finished", _("This folder is no longer in a circuit."), status=409)
        moment = now()
        folder_move(folder, Folder.Status.CANCELLED, current=0, finished_at=moment, updated_at=moment, finishing=False)
        # Its steps wait no longer (a seal under way is not applied).
        folder.steps.filter(state=State.ACTIVE).update(state=State.WAITING, started_at=None)
        _event(folder, Kind.WITHDRAWN, actor=actor, at=moment)
    return folder


def delegation_create(
    *,
    actor: User,
    administration: Administration,
    delegate: User,
    starts_on: date,
    ends_on: date,
    document_types: Sequence[str] = (),
) -> Delegation:
    """``actor`` declares an absence: ``delegate`` acts at their steps from ``starts_on`` to
    ``ends_on`` (for these types of document, or all)."""
    members = _members(administration)
    if not allowed(members.get(actor.pk, ()), Action.ACT_IN_CIRCUIT):
        raise NotFound
    if delegate.pk == actor.pk or not allowed(members.get(delegate.pk, ()), Action.ACT_IN_CIRCUIT):
        raise FolderRefused(
            "bad_delegate", _("Choose someone else who works for this administration."), field="delegate"
        )
    if ends_on < starts_on:
        raise FolderRefused("bad_period", _("The end comes before the start."), field="ends_on")
    if ends_on < local_date(now()):
        raise FolderRefused("bad_period", _("This period is already over."), field="ends_on")
    with transaction.atomic():
        delegation = Delegation.objects.create(
            administration=administration,
            delegator=actor,
            delegate=delegate,
            starts_on=starts_on,
            ends_on=ends_on,
            document_types=[t.strip() for t in document_types if t.strip()],
            created_at=now(),
        )
        audit_record(
            actor=actor,
            action=AuditAction.DELEGATION_CREATED,
            obj=delegation,
            administration=administration,
            subject_user=delegate,
            data={"from": starts_on.isoformat(), "until": ends_on.isoformat()},
        )
    return delegation


def delegation_end(*, actor: User, delegation_id: int) -> None:
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().filter(pk=delegation_id, delegator=actor).first()
        if delegation is None:
            raise NotFound
        if delegation.ended_at is None:
            delegation.ended_at = now()
            delegation.save(update_fields=["ended_at"])
            audit_record(
                actor=actor,
                action=AuditAction.DELEGATION_ENDED,
                obj=delegation,
                administration=delegation.administration,
                subject_user=delegation.delegate,
            )


@dataclass(frozen=True)
class BatchResult:
    folder_id: int
    title: str
    ok: bool
    message: str = ""


def folders_sign(
    *, actor: User, administration: Administration, folder_ids: Sequence[int], passphrase: str
) -> list[BatchResult]:
    """Sign many folders: the key is unlocked once; each folder is signed in its own transaction,
    so a failure on one is reported and the others go on."""
    signer = signer_for(actor, administration, passphrase)  # refused as a whole: nothing signed
    results = []
    titles = dict(Folder.objects.filter(pk__in=folder_ids, administration=administration).values_list("pk", "title"))
    for folder_id in folder_ids:
        if folder_id not in titles:
            results.append(BatchResult(folder_id, "", False, _("Not found.")))
            continue
        current = Folder.objects.filter(pk=folder_id).values_list("document", flat=True).first() or ""
        try:
            folder_sign(actor=actor, folder_id=folder_id, fingerprint=current, signer=signer)
        except Refused as refused:
            results.append(BatchResult(folder_id, titles[folder_id], False, refused.message))
        except Exception:  # a broken document must not stop the others; logged, reported
            logger.exception("batch signature of folder %s failed", folder_id)
            results.append(BatchResult(folder_id, titles[folder_id], False, _("This folder could not be signed.")))
        else:
            results.append(BatchResult(folder_id, titles[folder_id], True))
    return results


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
