"""The lifecycle of a parapheur folder; :func:`folder_move` is the only code that writes its
status (:mod:`core.lifecycle`).

A folder is in its circuit until the circuit completes, a signatory rejects it, or its submitter
withdraws it; all three are final (a rejected document is submitted again as a new folder).
"""

from __future__ import annotations

from core.lifecycle import Lifecycle, status_move
from parapheur.models import Folder

Status = Folder.Status

FOLDER = Lifecycle(
    "folder",
    {
        Status.IN_PROGRESS: frozenset({Status.COMPLETED, Status.REJECTED, Status.CANCELLED}),
        Status.COMPLETED: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
    },
)


def folder_move(folder: Folder, to: Status, /, **fields: object) -> bool:
    """Move ``folder`` to ``to`` with ``fields``, if it still has the status read on it."""
    return status_move(FOLDER, folder, folder.status, to, **fields)
