"""Deposit receipts: rendered with Typst, sealed (PAdES B-T) with the administration's seal.

Only an incoming letter gets one: it acknowledges a deposit. An outgoing letter (a reply, a
letter to a person or an administration) is sealed itself and carries its own QR code; it
never gets a receipt, and a receipt row made for one before this rule (or still pending) is
never issued.

A receipt row is created, pending, in the registration transaction. Issuing renders and
seals outside any transaction (it is the slow part), then records the sealed file in a
short one; if two processes issue the same receipt at once, the first to record wins and
the other's file is dropped. Receipts left pending by a crash are issued again by
:func:`receipts_issue_pending`, which the worker runs periodically.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.bidi import isolated
from core.clock import now
from core.text import plain_text
from documents import storage
from documents.models import Blob
from documents.qr import qr_svg
from documents.rendering import render_pdf
from registry.anchors import Anchor, entry_anchor
from registry.models import Attachment, Channel, Correspondence, Direction, Receipt, RegisterLogEntry, SenderKind
from registry.services import LOCAL_ZONE, Registration
from registry.tasks import receipt_email_task
from tenancy.selectors import mask_identifier

logger = logging.getLogger(__name__)

REGISTER_NAMES = {
    Direction.INCOMING: {"ar": "سجل الوارد", "fr": "Registre des arrivées"},
    Direction.OUTGOING: {"ar": "سجل الصادر", "fr": "Registre des départs"},
}
CHANNEL_NAMES = {
    Channel.ONLINE: {"ar": "إيداع إلكتروني", "fr": "Dépôt en ligne"},
    Channel.COUNTER: {"ar": "إيداع بالشباك", "fr": "Dépôt au guichet"},
    Channel.API: {"ar": "إيداع عبر واجهة برمجية", "fr": "Dépôt par API"},
    Channel.EXCHANGE: {"ar": "إرسال من إدارة", "fr": "Envoi d'une administration"},
    Channel.INTERNAL: {"ar": "مذكرة داخلية", "fr": "Note interne"},
}
SENDER_KIND_NAMES = {
    SenderKind.PERSON: {"ar": "شخص ذاتي", "fr": "Personne physique"},
    SenderKind.COMPANY: {"ar": "شخص معنوي", "fr": "Personne morale"},
    SenderKind.ADMINISTRATION: {"ar": "إدارة", "fr": "Administration"},
}
LEGAL_AR_BASIS = "سُلّم هذا الوصل طبقاً للقانون رقم 55.19 المتعلق بتبسيط المساطر والإجراءات الإدارية."
LEGAL_AR = LEGAL_AR_BASIS + " يسري أجل معالجة الطلب ابتداءً من تاريخ هذا الوصل."
LEGAL_FR_BASIS = (
    "Récépissé délivré en application de la loi n° 55-19 relative à la simplification des procédures "
    "et formalités administratives."
)
LEGAL_FR = LEGAL_FR_BASIS + " Le délai de traitement court à compter de la date du présent récépissé."
RETRY_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 20


# Code points the receipt's vendored fonts draw (Noto Sans, Noto Naskh Arabic, Noto Sans
# Tifinagh). Typst refuses to make a PDF/A with a glyph no font has, so anything else a
# depositor typed (emoji, CJK, Hebrew…) is shown as "?" on the receipt; the register keeps it.
_DRAWN = (
    (0x0A, 0x0A),
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x370, 0x3FF),
    (0x400, 0x4FF),
    (0x600, 0x6FF),
    (0x750, 0x77F),
    (0x2000, 0x206F),
    (0x20A0, 0x20C0),
    (0x2D30, 0x2D7F),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)


# Any one code point outside _DRAWN.
_UNDRAWN = re.compile("[^" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in _DRAWN) + "]")


def printable(text: str) -> str:
    """``text`` as a sealed document can show it: line breaks of every kind as one LF (a
    browser's CR LF must not print a stray mark at each line's end), tabulations as a space,
    no control characters, and "?" for what the fonts cannot draw."""
    return _UNDRAWN.sub("?", plain_text(text).replace("\t", " "))


def verification_url(token: str) -> str:
    return f"{settings.PUBLIC_URL}/v/{token}"


def receipt_data(
    correspondence: Correspondence, attachments: list[Attachment], token: str, anchor: Anchor | None = None
) -> dict[str, Any]:
    administration = correspondence.administration
    local = correspondence.registered_at.astimezone(LOCAL_ZONE)
    offset = local.strftime("%z")
    url = verification_url(token)
    with translation.override("fr"):
        sizes = [str(filesizeformat(a.blob.size)) for a in attachments]
    return {
        "administration": {
            "code": administration.code,
            "name_ar": printable(administration.name_ar),
            "name_fr": printable(administration.name_fr),
            "name_zgh": printable(administration.name_zgh),
        },
        "kingdom_ar": "المملكة المغربية",
        "kingdom_fr": "Royaume du Maroc",
        "register": REGISTER_NAMES[Direction(correspondence.direction)],
        "number": correspondence.number,
        "registered_at": {
            "date": local.strftime("%Y-%m-%d"),
            "time": local.strftime("%H:%M:%S"),
            "zone": f"Africa/Casablanca (UTC{offset[:3]}:{offset[3:]})",
        },
        "depositor": {
            "name": printable(correspondence.sender_name),
            "identifier": mask_identifier(correspondence.sender_identifier),
            "kind_ar": SENDER_KIND_NAMES[SenderKind(correspondence.sender_kind)]["ar"],
            "kind_fr": SENDER_KIND_NAMES[SenderKind(correspondence.sender_kind)]["fr"],
        },
        "subject": printable(correspondence.subject),
        "channel": CHANNEL_NAMES[Channel(correspondence.channel)],
        "attachments": [
            {"filename": printable(a.filename), "sha256": a.blob_id, "pages": a.blob.pages, "size": size}
            for a, size in zip(attachments, sizes, strict=True)
        ],
        "verification_url": url,
        "qr_svg": qr_svg(url),
        # The 55-19 receipt model: the procedure, the due date and what silence means.
        "terms": {k: printable(v) if isinstance(v, str) else v for k, v in correspondence.terms.items()} or None,
        "tracking_code": correspondence.tracking_code,
        "log": {"position": anchor.position, "hash": anchor.entry_hash} if anchor is not None else None,
        # The delay's sentence only on a receipt that states a delay (none for a letter from an
        # administration, for instance).
        "legal_ar": LEGAL_AR if correspondence.terms else LEGAL_AR_BASIS,
        "legal_fr": LEGAL_FR if correspondence.terms else LEGAL_FR_BASIS,
    }


def receipt_render_and_seal(
    correspondence: Correspondence, attachments: list[Attachment], token: str, log_entry: RegisterLogEntry
) -> bytes:
    """The sealed receipt. It states, printed and in its seal, the log entry of the
    registration (:mod:`registry.anchors`), so that its holder witnesses the register."""
    from trust.sealing import seal_pdf
    from trust.services import installation_pki

    administration = correspondence.administration
    anchor = entry_anchor(administration, log_entry, correspondence.number)
    pki = installation_pki()
    pki.seal_for(code=administration.code, name_fr=administration.name_fr, name_ar=administration.name_ar)
    pdf = render_pdf("receipt", receipt_data(correspondence, attachments, token, anchor))
    return seal_pdf(
        pdf,
        pki=pki,
        administration_code=administration.code,
        reason=f"Accusé de réception {correspondence.number}",
        location=administration.name_fr,
        anchor=anchor.text(),
    )


def registration_entry(correspondence: Correspondence) -> RegisterLogEntry:
    return RegisterLogEntry.objects.get(correspondence=correspondence, action="registered")


def receipt_issue(*, receipt_id: int) -> Receipt:
    """Render, seal and record the receipt unless it is already issued; return it.

    Side effect: a task, committed with the receipt, e-mails it to the depositor.
    """
    receipt = Receipt.objects.select_related("correspondence__administration", "correspondence__sender_account").get(
        pk=receipt_id
    )
    if receipt.is_issued:
        return receipt
    correspondence = receipt.correspondence
    if correspondence.direction != Direction.INCOMING:
        raise ValueError(f"{correspondence.number} is an outgoing letter: it gets no deposit receipt")
    attachments = list(correspondence.attachments.select_related("blob").order_by("position"))
    return _issue(receipt, correspondence, attachments, registration_entry(correspondence))


def receipt_issue_registered(registration: Registration) -> Receipt | None:
    """Issue the receipt of a registration just made, reusing the rows it already holds.

    On failure the receipt stays pending for the periodic retry, and None is returned; an
    outgoing letter has no receipt (None).
    """
    if registration.receipt is None:
        return None
    try:
        entry = registration.log_entry or registration_entry(registration.correspondence)
        return _issue(registration.receipt, registration.correspondence, registration.attachments, entry)
    except Exception:
        return None


def _issue(
    receipt: Receipt, correspondence: Correspondence, attachments: list[Attachment], log_entry: RegisterLogEntry
) -> Receipt:
    try:
        sealed = receipt_render_and_seal(correspondence, attachments, receipt.token, log_entry)
    except Exception as exc:
        logger.exception("receipt %s of %s could not be issued", receipt.pk, correspondence.number)
        Receipt.objects.filter(pk=receipt.pk).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:200]
        )
        raise
    sha256 = storage.store_bytes(sealed)
    issued_at = now()
    with transaction.atomic():
        Blob.objects.bulk_create(
            [Blob(sha256=sha256, size=len(sealed), content_type="application/pdf", pages=1)], ignore_conflicts=True
        )
        # Only a pending receipt is recorded: when two processes issue it at once, the first
        # to commit wins and the other's copy is dropped.
        recorded = Receipt.objects.filter(pk=receipt.pk, blob__isnull=True).update(
            blob_id=sha256, issued_at=issued_at, attempts=F("attempts") + 1, last_error=""
        )
        if not recorded:
            transaction.on_commit(lambda: storage.discard(sha256))
            return Receipt.objects.get(pk=receipt.pk)
        receipt.blob_id, receipt.issued_at, receipt.last_error = sha256, issued_at, ""
        audit_record(
            actor=None,
            action=AuditAction.RECEIPT_ISSUED,
            obj=receipt,
            administration=correspondence.administration,
            subject_user=correspondence.sender_account,
            data={"number": correspondence.number, "sha256": sha256},
        )
        if correspondence.sender_email:
            # The task is a row of the same transaction: it exists if and only if the receipt
            # does, and costs no commit of its own.
            receipt_email_task.enqueue(receipt_id=receipt.pk)
    return receipt


def receipt_issue_safely(*, receipt_id: int) -> Receipt | None:
    """Issue now if possible; on failure leave it pending for the periodic retry."""
    try:
        return receipt_issue(receipt_id=receipt_id)
    except Exception:
        return None


def receipts_issue_pending(*, limit: int = 200) -> int:
    """Issue receipts left pending (a crash or error after registration); return how many."""
    cutoff = now() - RETRY_AFTER
    pending = list(
        Receipt.objects.filter(
            blob__isnull=True,
            correspondence__direction=Direction.INCOMING,
            correspondence__registered_at__lt=cutoff,
            attempts__lt=MAX_ATTEMPTS,
        ).values_list("pk", flat=True)[:limit]
    )
    issued = 0
    for receipt_id in pending:
        if receipt_issue_safely(receipt_id=receipt_id) is not None:
            issued += 1
    return issued


def receipt_email(*, receipt_id: int) -> bool:
    """E-mail the sealed receipt to the depositor, once. Return whether it was sent now."""
    receipt = Receipt.objects.select_related("correspondence__administration", "correspondence__sender_account").get(
        pk=receipt_id
    )
    correspondence = receipt.correspondence
    if (
        receipt.emailed_at is not None
        or not receipt.is_issued
        or correspondence.direction != Direction.INCOMING
        or not correspondence.sender_email
    ):
        return False
    account = correspondence.sender_account
    language = account.language if account is not None else "ar"
    administration = isolated(correspondence.administration.name)
    with translation.override(language):
        subject = _("Receipt %(number)s — %(administration)s") % {
            "number": correspondence.number,
            "administration": administration,
        }
        body = _(
            "Your correspondence was registered by %(administration)s under number %(number)s.\n"
            "The sealed receipt is attached. Anyone can check it at:\n%(url)s\n"
        ) % {
            "administration": administration,
            "number": correspondence.number,
            "url": verification_url(receipt.token),
        }
    message = EmailMessage(subject=subject, body=body, to=[correspondence.sender_email])
    message.attach(f"receipt-{correspondence.number}.pdf", storage.read_bytes(str(receipt.blob_id)), "application/pdf")
    message.send()
    Receipt.objects.filter(pk=receipt.pk).update(emailed_at=now())
    return True
