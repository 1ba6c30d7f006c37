"""The verification verdict of an uploaded PDF, as the public page and the API give it.

A file is authentic when it is a receipt or a letter Wasl registered and sealed (checked by
:func:`registry.verification.receipt_check_pdf`), or a document finished by a circuit of the
parapheur or its proof slip. Every signature it carries is listed as well. This lives in the
parapheur, the first app that knows every kind of document Wasl seals (``registry`` and
``trust`` do not import it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.canonical import sha256_hex
from parapheur.models import Folder
from parapheur.selectors import folder_by_file_hash
from registry.verification import ReceiptCheck, receipt_check_pdf
from trust.services import installation_pki
from trust.verification import SignatureVerdict, verify_pdf_signatures

# Files that are not a signed PDF of a reasonable size: their signatures are not listed.
NO_SIGNATURES_LISTED = ("too_large", "unreadable", "no_signature")


@dataclass(frozen=True)
class DocumentVerdict:
    """``check``: the register's verdict; ``signatures``: every signature of the file, None
    when the file is not a signed PDF that could be read; ``folder`` and ``folder_kind``
    (``document`` or ``proof``) when the file is what a circuit of the parapheur finished,
    (``finishing``) the document of a folder still being sealed or finished: not confirmed yet."""

    check: ReceiptCheck
    signatures: list[SignatureVerdict] | None
    folder: Folder | None = None
    folder_kind: str = ""

    @property
    def valid(self) -> bool:
        return self.check.valid or (self.folder is not None and not self.finishing)

    @property
    def finishing(self) -> bool:
        return self.folder_kind == "finishing"

    @property
    def code(self) -> str:
        if self.folder is None:
            return self.check.code
        return "folder_being_finished" if self.finishing else f"ok_folder_{self.folder_kind}"

    @property
    def message(self) -> str:
        """The verdict in words, in the reader's language."""
        if self.folder is None:
            return str(self.check.message)
        if self.finishing:
            return _(
                "This document's circuit of visas and signatures is being finished (sealed, registered): "
                "check it again in a moment."
            )
        if self.folder_kind == "proof":
            return _("This proof slip is authentic: its seal is valid and it is the one of this circuit.")
        return _("This document is authentic: it is the document as finished by its circuit of visas and signatures.")


def document_verify(pdf: bytes) -> DocumentVerdict:
    """The verdict on ``pdf``: a registered receipt or letter, a document finished by the
    parapheur or its proof slip, or why it is none of these. Reads only (a register found
    altered is recorded in the audit trail by :func:`receipt_check_pdf`)."""
    check = receipt_check_pdf(pdf)
    signatures = None
    if check.code not in NO_SIGNATURES_LISTED:
        signatures = verify_pdf_signatures(pdf, pki=installation_pki())
    if check.code == "not_registered":
        found = folder_by_file_hash(sha256_hex(pdf))
        if found is not None:
            kind, folder = found
            return DocumentVerdict(check, signatures, folder, kind)
    return DocumentVerdict(check, signatures)
