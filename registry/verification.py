"""Checking a receipt: by its token, or from an uploaded PDF.

An uploaded file is authentic when its seal is valid and trusted, the document is intact
and nothing was added after sealing, and its bytes are exactly those of a receipt that
Wasl issued. Each failure has a code and a translated explanation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.canonical import sha256_hex
from documents import storage
from documents.intake import file_work_limits
from documents.sandbox import LimitExceeded, Refused, WorkFailed, run_limited
from registry.anchors import HOLDS, Anchor, anchor_in_pdf, anchor_problem
from registry.models import Correspondence, Receipt, SealedDocument
from registry.selectors import receipt_by_file_hash, sealed_document_by_file_hash
from tenancy.models import Administration

logger = logging.getLogger(__name__)


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
        "register_altered": _(
            "The seal is genuine, but the register no longer holds what it held when this document was "
            "sealed: the register was altered afterwards. Keep this document and report it to the administration."
        ),
    }
    return messages.get(code, messages["invalid"])


MAX_RECEIPT_SIZE = 5 * 1024 * 1024
# A receipt or a letter inflates to a few megabytes (its fonts and pictures): far below this.
MAX_RECEIPT_INFLATED = 64 * 1024 * 1024


def receipt_check_pdf(pdf: bytes) -> ReceiptCheck:
    from trust.services import installation_pki
    from trust.verification import verify_pdf

    if len(pdf) > MAX_RECEIPT_SIZE:
        return ReceiptCheck(False, "too_large", problem_message("too_large"))
    # The verifier parses the file in this process: first, a child process makes sure it cannot
    # cost more than a receipt's worth of inflated streams (anyone may upload here).
    try:
        run_limited("pdf_measure", pdf, max_inflated=MAX_RECEIPT_INFLATED, limits=file_work_limits())
    except Refused:
        return ReceiptCheck(False, "too_large", problem_message("too_large"))
    except (LimitExceeded, WorkFailed):
        return ReceiptCheck(False, "unreadable", problem_message("unreadable"))
    verdict = verify_pdf(pdf, pki=installation_pki())
    if not verdict.valid:
        code = verdict.problem or "invalid"
        return ReceiptCheck(False, code, problem_message(code), sealed_by=verdict.signer_code)
    sha256 = sha256_hex(pdf)
    receipt = receipt_by_file_hash(sha256)
    document = sealed_document_by_file_hash(sha256) if receipt is None else None
    anchor = Anchor.parse(verdict.anchor)
    if anchor is not None and anchor.administration == verdict.signer_code:
        correspondence = (
            receipt.correspondence if receipt is not None else document.correspondence if document else None
        )
        if not anchor_holds(anchor, correspondence, receipt=receipt is not None, sha256=sha256):
            return ReceiptCheck(
                False,
                "register_altered",
                problem_message("register_altered"),
                receipt=receipt,
                document=document,
                sealed_by=verdict.signer_code,
                timestamp_at=verdict.timestamp_at,
            )
    if receipt is None:
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


def anchor_holds(anchor: Anchor, correspondence: Correspondence | None, *, receipt: bool, sha256: str) -> bool:
    """Whether the register still holds what a genuine sealed document states (its anchor): the
    administration, the correspondence it names, and the log entry with the same hash (for a
    receipt, the entry of that correspondence's registration). When it does not, the register was
    altered after the document was issued: recorded in the audit trail, for the administration."""
    administration = Administration.objects.filter(code=anchor.administration).first()
    problem = "administration_missing"
    if administration is not None:
        if correspondence is None or correspondence.number != anchor.number:
            problem = "document_missing"
        else:
            problem = anchor_problem(anchor, administration, receipt_of=correspondence.pk if receipt else None)
    if problem == HOLDS:
        return True
    logger.error(
        "a sealed document states what the register of %s no longer holds (%s): entry #%s, file %s",
        anchor.administration,
        problem,
        anchor.position,
        sha256,
    )
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.REGISTER_ALTERED,
            administration=administration,
            data={
                "problem": problem,
                "number": anchor.number,
                "position": anchor.position,
                "stated_hash": anchor.entry_hash,
                "file_sha256": sha256,
            },
        )
    return False


def stored_document_holds(sha256: str, correspondence: Correspondence, *, receipt: bool) -> bool:
    """The check of :func:`anchor_holds` for a document Wasl keeps (the verification by token):
    its stored bytes must still be those of its fingerprint, and what they state must hold."""
    try:
        data = storage.read_bytes(sha256)
    except (OSError, ValueError):
        data = b""
    if sha256_hex(data) != sha256:
        logger.error("stored sealed document %s of %s is missing or changed", sha256, correspondence.number)
        return False
    anchor = anchor_in_pdf(data)
    return anchor is None or anchor_holds(anchor, correspondence, receipt=receipt, sha256=sha256)
