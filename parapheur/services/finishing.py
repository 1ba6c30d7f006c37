"""Finishing a folder after the act that asked for it: the administration's seal of a seal step,
then, once the circuit is complete, the registration of the reply drafted on the processing desk
and the proof slip.

The act that reaches a seal step or the end of the circuit records it in its transaction (the
folder is ``finishing``: :mod:`parapheur.services.moving`). Here, after commit and outside any
transaction, the slow work is done — sealing, timestamping (an HTTP request when
``WASL_TSA_URL`` is set), rendering — and each result is recorded in a short transaction that
checks it is still wanted: two finishers at once (a request and the worker's sweep) make at most
a spare copy, dropped. The reply is registered once: its registration's transaction
(:func:`workflow.services.case_reply`) gives the folder its letter only if it has none yet, and
a second registration of the same case is refused by the case's lifecycle anyway. The letter is
sealed after that commit (:mod:`workflow.services.sealing`, which has its own sweep); once it is,
it becomes the folder's document, and the proof slip is issued last.

The act calls :func:`folder_finish_safely` at once, so that the person normally sees the result
in the response; the worker finishes the folders left finishing (:func:`folders_finish_pending`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F

from core.clock import now
from documents import storage
from parapheur.models import Folder, FolderEvent, FolderStep, StepKind
from parapheur.proof import proof_pdf
from parapheur.services.moving import _advance, _event, _locked_folder, reply_wanted
from registry.models import SealedDocument
from trust.sealing import add_validation_data, seal_pdf
from trust.services import installation_pki
from workflow.models import LetterTemplate, Reply
from workflow.services import LetterText, case_reply

logger = logging.getLogger(__name__)
Kind = FolderEvent.Kind
State = FolderStep.State

# A folder finishing for longer than this was left by an error or a crash: the sweep takes it.
RETRY_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 20


class _AlreadyRegistered(Exception):
    """Another finisher registered the folder's reply first: this registration is undone."""


def folder_finish(*, folder_id: int) -> Folder:
    """Do what the folder waits for, idempotently: seal its seal step under way (and move on);
    once its circuit is complete, register its reply, make the sealed letter its document, and
    issue its proof slip. Returns the folder as it is then, still ``finishing`` while its letter
    is being sealed. Raises on failure: the folder stays finishing, the failure is counted on it
    (``finish_attempts``, ``finish_error``) and logged, and the worker tries again."""
    try:
        _finish_completed(_seal_steps(_read(folder_id)))
    except Exception as exc:
        _failed(folder_id, exc)
        raise
    return _read(folder_id)


def folder_finish_safely(*, folder_id: int) -> Folder | None:
    """:func:`folder_finish` now if possible; on failure the folder is left to the worker (None)."""
    try:
        return folder_finish(folder_id=folder_id)
    except Exception:
        return None


def folder_finished(folder: Folder, *, waiting: bool) -> Folder:
    """After an act's commit: when the folder waits for its finisher, finished now (sealed,
    registered, its proof issued) and read again; else as the act left it. A failure leaves it
    to the worker."""
    if not waiting:
        return folder
    return folder_finish_safely(folder_id=folder.pk) or _read(folder.pk)


def folders_finish_pending(*, limit: int = 200) -> int:
    """Finish the folders left finishing by an error or a crash (long enough that no request is
    still finishing them, and not given up on); return how many were finished."""
    ids = list(
        Folder.objects.filter(
            finishing=True, updated_at__lt=now() - RETRY_AFTER, finish_attempts__lt=MAX_ATTEMPTS
        ).values_list("pk", flat=True)[:limit]
    )
    finished = 0
    for folder_id in ids:
        folder = folder_finish_safely(folder_id=folder_id)
        if folder is not None and not folder.finishing:
            finished += 1
    return finished


def _read(folder_id: int) -> Folder:
    return Folder.objects.select_related("administration", "submitter").get(pk=folder_id)


def _failed(folder_id: int, error: BaseException) -> None:
    logger.error("folder %s could not be finished: %s", folder_id, error, exc_info=error)
    Folder.objects.filter(pk=folder_id).update(
        finish_attempts=F("finish_attempts") + 1, finish_error=f"{type(error).__name__}: {error}"[:200]
    )


# ---------------------------------------------------------------- the seal of a seal step


def _seal_steps(folder: Folder) -> Folder:
    """Seal the seal step under way, then move on (to another seal step, possibly); the folder
    as it is then."""
    if folder.status != Folder.Status.IN_PROGRESS or not folder.finishing:
        return folder
    folder_id = folder.pk
    for _round in range(folder.steps.count()):
        if folder.status != Folder.Status.IN_PROGRESS or not folder.finishing:
            break
        step = folder.steps.filter(kind=StepKind.SEAL, state=State.ACTIVE, position=folder.current).first()
        if step is None:
            break
        sealed = storage.store_bytes(_sealed(folder))
        with transaction.atomic():
            locked = _locked_folder(folder_id)
            wanted = (
                locked.status == Folder.Status.IN_PROGRESS
                and locked.document == folder.document
                and locked.steps.filter(pk=step.pk, state=State.ACTIVE).exists()
            )
            if wanted:
                moment = now()
                locked.document = sealed
                step.state, step.finished_at = State.DONE, moment
                step.save(update_fields=["state", "finished_at"])
                _event(locked, Kind.SEALED, actor=None, at=moment, step=step)
                _advance(locked, moment)
        if not wanted:  # sealed by another finisher meanwhile, or withdrawn
            storage.discard(sealed)
        folder = _read(folder_id)
    return folder


def _sealed(folder: Folder) -> bytes:
    administration = folder.administration
    pki = installation_pki()
    sealed = seal_pdf(
        storage.read_bytes(folder.document),
        pki=pki,
        administration_code=administration.code,
        reason=f"Cachet de {administration.name_fr}",
    )
    return add_validation_data(sealed, pki=pki, identity=pki.seal_for(code=administration.code))


# ---------------------------------------------------------------- a completed circuit


def _finish_completed(folder: Folder) -> None:
    folder_id = folder.pk
    if folder.status != Folder.Status.COMPLETED or not folder.finishing:
        return
    if reply_wanted(folder):
        if folder.letter_id is None:
            _register_reply(folder)
            folder = _read(folder_id)
        letter = folder.letter
        if letter is None or not letter.is_issued:
            return  # being sealed: workflow.services.sealing's sweep makes it, then ours goes on
        if folder.document != letter.blob_id:
            _letter_is_the_document(folder_id, str(letter.blob_id))
            folder = _read(folder_id)
    if folder.proof:
        Folder.objects.filter(pk=folder_id).update(finishing=False, finish_error="")
        return
    proof = storage.store_bytes(proof_pdf(folder))
    # The first finisher to record its slip wins; another's copy is dropped.
    if not Folder.objects.filter(pk=folder_id, proof="").update(proof=proof, finishing=False, finish_error=""):
        storage.discard(proof)


def _register_reply(folder: Folder) -> None:
    """Register the folder's reply, signed in its circuit, in the outgoing register; its letter
    is sealed after that commit. Once: a folder that has its letter is not registered again."""
    spec = folder.reply

    def record(reply: Reply, letter: SealedDocument) -> None:
        # In the registration's transaction: the folder takes its letter unless another
        # finisher's registration gave it one first (the UPDATE waits for it on PostgreSQL).
        if not Folder.objects.filter(pk=folder.pk, letter=None).update(letter=letter):
            raise _AlreadyRegistered

    template = LetterTemplate.objects.filter(pk=spec.get("template"), administration=folder.administration).first()
    assert folder.case_id is not None
    try:
        case_reply(
            actor=folder.submitter,
            case_id=folder.case_id,
            text=LetterText(
                body_ar=spec.get("body_ar", ""),
                body_fr=spec.get("body_fr", ""),
                recourse_ar=spec.get("recourse_ar", ""),
                recourse_fr=spec.get("recourse_fr", ""),
            ),
            template=template,
            reject=bool(spec.get("reject")),
            signed_pdf=storage.read_bytes(folder.document),
            token=str(spec["token"]),
            seal_at=tuple(spec["seal_at"]) if spec.get("seal_at") else None,
            registered=record,
        )
    except Exception:
        # Refused because another finisher registered it first (the case is answered, or the
        # folder has its letter): nothing to do. Anything else is a failure.
        if not Folder.objects.filter(pk=folder.pk, letter__isnull=False).exists():
            raise


def _letter_is_the_document(folder_id: int, letter: str) -> None:
    """The sealed letter becomes the folder's final document; the history says the circuit is
    completed with its fingerprint, at the moment it completed."""
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        if folder.document == letter:
            return
        folder.document = letter
        folder.save(update_fields=["document"])
        assert folder.finished_at is not None
        _event(folder, Kind.COMPLETED, actor=None, at=folder.finished_at)
