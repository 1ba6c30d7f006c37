"""Test helpers for the processing desk: a catalogue, requests deposited the portal's way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.models import Channel
from registry.services import Party, Registration
from tenancy.models import Administration, Service, User
from workflow.catalogue import DocumentLine, procedure_save
from workflow.models import Procedure
from workflow.services import request_register


def make_procedure(
    administration: Administration,
    code: str = "URB-PC",
    *,
    delay_days: int = 30,
    delay_kind: str = "calendar",
    silence_rule: str = "acceptance",
    service: Service | None = None,
    documents: list[DocumentLine] | None = None,
) -> Procedure:
    return procedure_save(
        actor=None,
        administration=administration,
        procedure=None,
        values={
            "code": code,
            "name_ar": "رخصة البناء",
            "name_fr": "Autorisation de construire",
            "legal_basis": "Loi 12-90",
            "is_investment": delay_days <= 30,
            "delay_days": delay_days,
            "delay_kind": delay_kind,
            "silence_rule": silence_rule,
            "fee": Decimal("0"),
            "service": service,
            "is_active": True,
        },
        documents=documents
        if documents is not None
        else [
            DocumentLine("التصاميم المعمارية", "Plans architecturaux"),
            DocumentLine("طلب موقع", "Demande signée"),
            DocumentLine("شهادة الملكية", "Certificat de propriété", "ANCFCC", "Conservation foncière"),
        ],
    )


def deposit(
    administration: Administration, citizen: User, *, procedure: str = "", subject: str = "طلب رخصة", **kwargs: Any
) -> Registration:
    return request_register(
        actor=citizen,
        administration=administration,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject=subject,
        files=check_files([bytes_upload(pdf_bytes(text=subject), "demande.pdf")]),
        procedure_code=procedure,
        **kwargs,
    )
