"""Test helpers for the once-only exchange: a holder's ownership certificate, and a copy it holds."""

from __future__ import annotations

from datetime import date
from typing import Any

from documents.intake import bytes_upload, check_files
from exchange import once_only
from exchange.models import HeldDocument, ProvidedDocument
from tenancy.models import Administration, User
from trust.testing import sample_pdf


def property_certificate(actor: User, administration: Administration) -> ProvidedDocument:
    """The ownership certificate (CERT-PROP), delivered automatically by ``administration``."""
    return once_only.provided_document_save(
        actor=actor,
        administration=administration,
        code="CERT-PROP",
        name_ar="شهادة الملكية",
        name_fr="Certificat de propriété",
        automatic=True,
    )


def certificate_hold(
    actor: User,
    kind: ProvidedDocument,
    *,
    national_id: str,
    person_name: str,
    text: str,
    issued_on: date,
    **extra: Any,
) -> HeldDocument:
    """A copy of ``kind`` held for a person, a one-page PDF saying ``text``."""
    return once_only.held_document_register(
        actor=actor,
        administration=kind.administration,
        kind=kind,
        national_id=national_id,
        person_name=person_name,
        file=check_files([bytes_upload(sample_pdf(text), "certificate.pdf")])[0],
        issued_on=issued_on,
        **extra,
    )
