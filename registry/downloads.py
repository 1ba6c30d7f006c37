"""HTTP responses for files of the register (shared by the citizen pages, the desk and the API)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.translation import gettext as _

from core.errors import NotFound
from documents import storage
from registry.models import Attachment, Correspondence, Direction, Receipt, SealedDocument
from registry.receipts import receipt_issue_safely


def receipt_response(correspondence: Correspondence) -> HttpResponseBase:
    """The sealed receipt as a PDF download; while it is still being issued, 202 + Retry-After.
    Not found for a letter without one (an outgoing letter: a receipt issued for one before
    outgoing letters stopped getting them is still given, it is part of the register)."""
    receipt: Receipt | None = getattr(correspondence, "receipt", None)
    if receipt is None or (not receipt.is_issued and correspondence.direction != Direction.INCOMING):
        raise NotFound
    if not receipt.is_issued:
        receipt = receipt_issue_safely(receipt_id=receipt.pk) or receipt
    if not receipt.is_issued:
        pending = HttpResponse(status=202)
        pending["Retry-After"] = "5"
        return pending
    return file_response(str(receipt.blob_id), "application/pdf", f"receipt-{correspondence.number}.pdf")


def attachment_response(attachment: Attachment) -> HttpResponseBase:
    return file_response(attachment.blob_id, attachment.blob.content_type, attachment.filename)


def sealed_document_response(document: SealedDocument, filename: str) -> HttpResponseBase:
    """The sealed PDF; while it is still being made (registry.sealed), 202 + Retry-After and a
    sentence saying so."""
    if document.blob_id is None:
        return being_prepared()
    return file_response(document.blob_id, "application/pdf", filename)


def being_prepared() -> HttpResponse:
    """A document that is still being sealed: 202 with a sentence, to try again shortly."""
    pending = HttpResponse(
        _("This document is being prepared. Please try again in a moment."),
        status=202,
        content_type="text/plain; charset=utf-8",
    )
    pending["Retry-After"] = "5"
    return pending


def file_response(sha256: str, content_type: str, filename: str) -> HttpResponseBase:
    response = StreamingHttpResponse(storage.open_file(sha256), content_type=content_type)
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
