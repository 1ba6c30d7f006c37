"""The proof slip of a completed circuit: every act with its time, actor and the document's
fingerprint at that moment, sealed by the administration."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.urls import reverse

from documents.rendering import render_pdf
from parapheur.models import Folder, FolderEvent
from trust.sealing import seal_pdf
from trust.services import installation_pki

KIND_AR: dict[str, str] = {
    FolderEvent.Kind.SUBMITTED: "إيداع",
    FolderEvent.Kind.APPROVED: "تأشيرة",
    FolderEvent.Kind.SIGNED: "توقيع",
    FolderEvent.Kind.SEALED: "ختم الإدارة",
    FolderEvent.Kind.OPINION: "رأي",
    FolderEvent.Kind.REJECTED: "رفض",
    FolderEvent.Kind.RETURNED: "إرجاع إلى مرحلة سابقة",
    FolderEvent.Kind.ANNOTATED: "ملاحظة",
    FolderEvent.Kind.COMPLETED: "انتهاء المسار",
    FolderEvent.Kind.WITHDRAWN: "سحب",
    FolderEvent.Kind.REMINDED: "تذكير",
}
KIND_FR: dict[str, str] = {
    FolderEvent.Kind.SUBMITTED: "Dépôt",
    FolderEvent.Kind.APPROVED: "Visa",
    FolderEvent.Kind.SIGNED: "Signature",
    FolderEvent.Kind.SEALED: "Cachet de l'administration",
    FolderEvent.Kind.OPINION: "Avis",
    FolderEvent.Kind.REJECTED: "Rejet",
    FolderEvent.Kind.RETURNED: "Retour à une étape antérieure",
    FolderEvent.Kind.ANNOTATED: "Commentaire",
    FolderEvent.Kind.COMPLETED: "Circuit terminé",
    FolderEvent.Kind.WITHDRAWN: "Retrait",
    FolderEvent.Kind.REMINDED: "Relance",
}


def _when(moment: Any) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def proof_data(folder: Folder) -> dict[str, Any]:
    administration = folder.administration
    events = folder.events.select_related("actor", "on_behalf_of").exclude(kind=FolderEvent.Kind.REMINDED)
    return {
        "administration": {
            "code": administration.code,
            "name_ar": administration.name_ar,
            "name_fr": administration.name_fr,
        },
        "folder": {
            "id": f"P-{folder.pk}",
            "title": folder.title,
            "document_name": folder.document_name,
            "submitter": folder.submitter.full_name,
            "submitted_at": _when(folder.submitted_at),
            "finished_at": _when(folder.finished_at),
            "original": folder.original,
            "final": folder.document,
        },
        "acts": [
            {
                "at": _when(event.at),
                "step": str(event.step or ""),
                "kind_fr": KIND_FR.get(event.kind, event.kind),
                "kind_ar": KIND_AR.get(event.kind, event.kind),
                "actor": event.actor.full_name if event.actor else administration.name_fr,
                "on_behalf_of": event.on_behalf_of.full_name if event.on_behalf_of else "",
                "text": event.text[:500],
                "document": event.document,
            }
            for event in events
        ],
        "verification_url": settings.PUBLIC_URL.rstrip("/") + reverse("portal:verify"),
    }


def proof_pdf(folder: Folder) -> bytes:
    """Render and seal the slip of a completed ``folder`` (slow: never inside a transaction;
    :mod:`parapheur.services.finishing` records it)."""
    finished = folder.finished_at.replace(microsecond=0) if folder.finished_at else None
    pdf = render_pdf("proof", proof_data(folder), created_at=finished)
    return seal_pdf(
        pdf,
        pki=installation_pki(),
        administration_code=folder.administration.code,
        reason="Bordereau de preuve / وصل الإثبات",
    )
