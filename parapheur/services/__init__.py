"""The parapheur's acts: circuits, submitting a folder, visas, signatures, the seal, opinions,
rejection, return to an earlier step, comments, withdrawal.

Every act locks its folder (``select_for_update``), checks that it is the actor's turn and that
the document is the one they saw (its fingerprint), does everything or nothing, and writes one
line of history with the document's fingerprint. Acts by delegation are audited. Signing,
sealing and rendering happen outside the transactions (:mod:`parapheur.services.acts`,
:mod:`parapheur.services.finishing`).
"""

from parapheur.services.acts import (
    BatchResult,
    delegation_create,
    delegation_end,
    fingerprint,
    folder_approve,
    folder_comment,
    folder_give_opinion,
    folder_reject,
    folder_return,
    folder_sign,
    folder_withdraw,
    folders_sign,
    signer_for,
)
from parapheur.services.finishing import folder_finish, folder_finish_safely, folders_finish_pending
from parapheur.services.folders import check_pdf, folder_submit, reply_submit
from parapheur.services.steps import (
    FolderRefused,
    StepSpec,
    adjusted,
    circuit_for,
    circuit_save,
    role_holders,
)

__all__ = [
    "BatchResult",
    "FolderRefused",
    "StepSpec",
    "adjusted",
    "check_pdf",
    "circuit_for",
    "circuit_save",
    "delegation_create",
    "delegation_end",
    "fingerprint",
    "folder_approve",
    "folder_comment",
    "folder_finish",
    "folder_finish_safely",
    "folder_give_opinion",
    "folder_reject",
    "folder_return",
    "folder_sign",
    "folder_submit",
    "folder_withdraw",
    "folders_finish_pending",
    "folders_sign",
    "reply_submit",
    "role_holders",
    "signer_for",
]
