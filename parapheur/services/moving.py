"""A folder moving on without anyone's turn, inside the transaction of the act that moved it:
opinions opened, the next visa or signature activated; a seal step or the end of the circuit
only recorded (the folder is then ``finishing``), their slow work left to the finisher
(:mod:`parapheur.services.finishing`) after commit."""

from __future__ import annotations

from datetime import datetime

from core.errors import NotFound
from core.text import plain_text
from parapheur.lifecycle import folder_move
from parapheur.models import Folder, FolderEvent, FolderStep, StepKind
from tenancy.models import User

Kind = FolderEvent.Kind
State = FolderStep.State


def _locked_folder(folder_id: int) -> Folder:
    folder = Folder.objects.select_for_update().select_related("administration").filter(pk=folder_id).first()
    if folder is None:
        raise NotFound
    return folder


def _event(
    folder: Folder,
    kind: str,
    *,
    actor: User | None,
    at: datetime,
    step: FolderStep | None = None,
    on_behalf_of: User | None = None,
    text: str = "",
    page: int | None = None,
    data: dict[str, object] | None = None,
) -> FolderEvent:
    return FolderEvent.objects.create(
        folder=folder,
        at=at,
        kind=kind,
        actor=actor,
        on_behalf_of=on_behalf_of,
        step=step.position if step is not None else None,
        text=plain_text(text),
        page=page,
        document=folder.document,
        data=data or {},
    )


def reply_wanted(folder: Folder) -> bool:
    """Whether the folder carries an answer drafted on the processing desk, to be registered
    when its circuit completes."""
    return folder.case_id is not None and bool(folder.reply)


def _advance(folder: Folder, moment: datetime) -> bool:
    """Open the next steps: opinions are opened and passed, and the first visa or signature
    waits for its people. A seal step is put under way, the circuit completed when no step is
    left: both then wait for the finisher, which is what the True returned says (the caller
    calls it after its commit). Saves the folder's document as the caller left it."""
    for step in folder.steps.filter(state=State.WAITING).order_by("position"):
        step.state, step.started_at = State.ACTIVE, moment
        step.save(update_fields=["state", "started_at"])
        if step.kind == StepKind.OPINION:
            continue
        sealing = step.kind == StepKind.SEAL
        folder.current, folder.updated_at, folder.finishing = step.position, moment, sealing
        folder.save(update_fields=["current", "updated_at", "document", "finishing"])
        return sealing
    _complete(folder, moment)
    return True


def _complete(folder: Folder, moment: datetime) -> None:
    """The circuit is complete; the folder waits for its finisher to register its reply (if it
    carries one) and issue its proof slip. The history says the circuit is completed with the
    final document's fingerprint: now, unless the final document is the reply's letter, made by
    its registration."""
    folder_move(
        folder,
        Folder.Status.COMPLETED,
        current=0,
        finished_at=moment,
        updated_at=moment,
        document=folder.document,
        finishing=True,
    )
    # Opinions never given stay open no longer.
    folder.steps.filter(state=State.ACTIVE).update(state=State.DONE, finished_at=moment)
    if not reply_wanted(folder):
        _event(folder, Kind.COMPLETED, actor=None, at=moment)
