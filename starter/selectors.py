"""Reads about the starter catalogue: what it holds, and what loading it would create here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import get_language

from core.languages import in_language
from parapheur.models import Circuit
from starter.catalogue import StarterCatalogue, starter_catalogue
from tenancy.models import Administration, Service
from workflow.models import LetterTemplate, Procedure, RoutingRule, SilenceRule, delay_text

_ARABIC = re.compile("[\u0600-\u06ff]")


@dataclass(frozen=True)
class PreviewLine:
    """One entry of the catalogue, and whether this administration already has one of its code."""

    code: str
    name: str
    present: bool
    detail: str = ""

    @property
    def names(self) -> list[str]:
        """The name's parts, each to be isolated: a letter template or a circuit is named in
        both languages ("Accusé de réception / إشعار بالتوصل"), which, shown as one run, mixes
        their words; the Arabic part comes first for an Arabic reader."""
        parts = [part.strip() for part in self.name.split(" / ") if part.strip()]
        if (get_language() or "ar").split("-")[0] == "ar":
            parts.sort(key=lambda part: not _ARABIC.search(part))
        return parts

    @property
    def keywords(self) -> list[str]:
        """A routing rule's keywords, one by one (Arabic and French words in one list)."""
        return [word.strip() for word in self.name.split(",") if word.strip()]


@dataclass(frozen=True)
class ProcedureLine:
    """A procedure of the catalogue as the preview shows it, in the reader's language."""

    code: str
    name: str
    present: bool
    delay: str
    silence: str
    legal_basis: str
    service: str
    documents: int


@dataclass(frozen=True)
class Preview:
    catalogue: StarterCatalogue
    services: list[PreviewLine]
    procedures: list[ProcedureLine]
    letter_templates: list[PreviewLine]
    circuits: list[PreviewLine]
    routing_rules: list[PreviewLine]

    @property
    def to_create(self) -> int:
        lines: list[PreviewLine | ProcedureLine] = [
            *self.services,
            *self.procedures,
            *self.letter_templates,
            *self.circuits,
            *self.routing_rules,
        ]
        return sum(1 for line in lines if not line.present)


def catalogue_is_empty(administration: Administration) -> bool:
    """No procedure yet: what the desk offers the starter catalogue for."""
    return not Procedure.objects.filter(administration=administration).exists()


def starter_offer(administration: Administration) -> StarterCatalogue | None:
    """The starter catalogue to offer ``administration``: a commune whose catalogue is empty."""
    catalogue = starter_catalogue()
    if administration.kind != catalogue.kind or not catalogue_is_empty(administration):
        return None
    return catalogue


def starter_preview(administration: Administration) -> Preview:
    """Every entry of the starter catalogue, in the reader's language, marked present when
    ``administration`` already has one of its code (loading keeps it as it is)."""
    catalogue = starter_catalogue()
    services = set(Service.objects.filter(administration=administration).values_list("code", flat=True))
    procedures = set(Procedure.objects.filter(administration=administration).values_list("code", flat=True))
    templates = set(LetterTemplate.objects.filter(administration=administration).values_list("code", flat=True))
    circuits = set(Circuit.objects.filter(administration=administration).values_list("code", flat=True))
    rules = {
        k.strip() for k in RoutingRule.objects.filter(administration=administration).values_list("keywords", flat=True)
    }
    service_names = {s.code: in_language(s.name_ar, s.name_fr, s.name_zgh) for s in catalogue.services}
    return Preview(
        catalogue=catalogue,
        services=[
            PreviewLine(s.code, in_language(s.name_ar, s.name_fr, s.name_zgh), s.code in services)
            for s in catalogue.services
        ],
        procedures=[
            ProcedureLine(
                code=p.code,
                name=in_language(p.name_ar, p.name_fr, p.name_zgh),
                present=p.code in procedures,
                delay=delay_text(p.delay_days, p.delay_kind),
                silence=str(SilenceRule(p.silence_rule).label),
                legal_basis=p.legal_basis,
                service=service_names.get(p.service, ""),
                documents=len(p.documents),
            )
            for p in catalogue.procedures
        ],
        letter_templates=[PreviewLine(t.code, t.name, t.code in templates) for t in catalogue.letter_templates],
        circuits=[PreviewLine(c.code, c.name, c.code in circuits) for c in catalogue.circuits],
        routing_rules=[
            PreviewLine(r.service, r.keywords, r.keywords.strip() in rules, detail=service_names.get(r.service, ""))
            for r in catalogue.routing_rules
        ],
    )
