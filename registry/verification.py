"""Checking a receipt: by its token, or from an uploaded PDF.

An uploaded file is authentic when its seal is valid and trusted, the document is intact
and nothing was added after sealing, and its bytes are exactly those of a receipt that
Wasl issued. Each failure has a code and a translated explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from core.canonical import sha256_hex
from registry.models import Receipt, SealedDocument
from registry.selectors import receipt_by_file_hash, sealed_document_by_file_hash


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    code: str
    message: str
    receipt: Receipt | None = None
    document: SealedDocument | None = None
    sealed_by: str | None = None
    timestamp_at: datetime | None = None


def problem_message(code: str) -> str:
    messages = {
        "ok": _("This receipt is authentic: the seal is valid and it matches the register."),
        "ok_document": _("This document is authentic: the seal is valid and Wasl issued it exactly so."),
        "unreadable": _("This file is not a readable PDF document."),
        "no_signature": _("This PDF carries no electronic seal: it is not a receipt issued by Wasl."),
        "not_intact": _("The document was modified after it was sealed."),
        "modified_after_signing": _("Content was added to the document after it was sealed."),
        "untrusted": _("The seal was not made by this installation's certificate authority."),
        "invalid": _("The seal does not verify."),
        "not_registered": _("The seal is genuine but this document is not a receipt in the register."),
        "too_large": _("This file is too large to be a receipt."),
    }
    return messages.get(code, messages["invalid"])


MAX_RECEIPT_SIZE = 5 * 1024 * 1024


def receipt_check_pdf(pdf: bytes) -> ReceiptCheck:
    from trust.services import installation_pki
    from trust.verification import verify_pdf

    if len(pdf) > MAX_RECEIPT_SIZE:
        return ReceiptCheck(False, "too_large", problem_message("too_large"))
    verdict = verify_pdf(pdf, pki=installation_pki())
    if not verdict.valid:
        code = verdict.problem or "invalid"
        return ReceiptCheck(False, code, problem_message(code), sealed_by=verdict.signer_code)
    sha256 = sha256_hex(pdf)
    receipt = receipt_by_file_hash(sha256)
    if receipt is None:
        document = sealed_document_by_file_hash(sha256)
        if document is not None:
            return ReceiptCheck(
                True,
                "ok_document",
                problem_message("ok_document"),
                document=document,
                sealed_by=verdict.signer_code,
                timestamp_at=verdict.timestamp_at,
            )
        return ReceiptCheck(False, "not_registered", problem_message("not_registered"), sealed_by=verdict.signer_code)
    return ReceiptCheck(
        True,
        "ok",
        problem_message("ok"),
        receipt=receipt,
        sealed_by=verdict.signer_code,
        timestamp_at=verdict.timestamp_at,
    )
