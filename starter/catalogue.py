"""The starter catalogue of a commune, read from ``commune.json`` (versioned with the code).

The file is data: services, procedures with their legal basis, delay, silence rule, documents
and the sources of each, letter templates, a circuit and routing rules. This module reads it into
typed, frozen records and refuses a file that breaks a rule the data must keep (law 55-19's
maximum delays, known codes, templates with known variables only), so a mistake in the data
fails the tests, not a commune's first load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from parapheur.models import StepKind
from tenancy.models import Administration, code_validator
from tenancy.permissions import Action, roles_who
from workflow import templating
from workflow.letters import template_variables
from workflow.models import DEFAULT_DELAY_DAYS, INVESTMENT_DELAY_DAYS, DelayKind, SilenceRule

CATALOGUE_FILE = Path(__file__).with_name("commune.json")
CODE_MAX = 40


class CatalogueDataError(ValueError):
    """The catalogue file breaks one of its rules (a defect of the data, caught by the tests)."""


@dataclass(frozen=True)
class Source:
    id: str
    text: str
    url: str
    status: str


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name_ar: str
    name_fr: str
    name_zgh: str


@dataclass(frozen=True)
class DocumentSpec:
    name_ar: str
    name_fr: str
    held_by_name: str = ""


@dataclass(frozen=True)
class ProcedureSpec:
    code: str
    name_ar: str
    name_fr: str
    name_zgh: str
    legal_basis: str
    delay_days: int
    delay_kind: str
    silence_rule: str
    is_investment: bool
    service: str
    documents: tuple[DocumentSpec, ...]
    sources: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class TemplateSpec:
    code: str
    name: str
    body_ar: str
    body_fr: str
    recourse_ar: str
    recourse_fr: str
    note: str = ""


@dataclass(frozen=True)
class StepSpecData:
    kind: str
    role: str = ""


@dataclass(frozen=True)
class CircuitSpec:
    code: str
    name: str
    document_type: str
    adjustable: bool
    steps: tuple[StepSpecData, ...]
    note: str = ""


@dataclass(frozen=True)
class RuleSpec:
    position: int
    keywords: str
    service: str


@dataclass(frozen=True)
class StarterCatalogue:
    version: int
    kind: str
    sources: tuple[Source, ...]
    services: tuple[ServiceSpec, ...]
    procedures: tuple[ProcedureSpec, ...]
    letter_templates: tuple[TemplateSpec, ...]
    circuits: tuple[CircuitSpec, ...]
    routing_rules: tuple[RuleSpec, ...]

    def source(self, source_id: str) -> Source:
        return next(source for source in self.sources if source.id == source_id)


def _text(entry: dict[str, Any], name: str, *, required: bool = True, limit: int | None = None) -> str:
    value = entry.get(name, "")
    if not isinstance(value, str):
        raise CatalogueDataError(f"{name} must be text in {entry!r:.80}")
    if required and not value.strip():
        raise CatalogueDataError(f"{name} is missing in {entry!r:.80}")
    if limit is not None and len(value) > limit:
        raise CatalogueDataError(f"{name} is longer than {limit} characters in {entry!r:.80}")
    return value


def _unique(codes: list[str], what: str) -> None:
    seen = set()
    for code in codes:
        if code in seen:
            raise CatalogueDataError(f"two {what} have the code {code}")
        seen.add(code)


def _code(entry: dict[str, Any], limit: int = CODE_MAX) -> str:
    code = _text(entry, "code", limit=limit)
    try:
        code_validator(code)
    except ValidationError:
        raise CatalogueDataError(f"the code {code!r} is not a code (capital letters, digits, dashes)") from None
    return code


def _procedure(entry: dict[str, Any], services: set[str], sources: set[str]) -> ProcedureSpec:
    code = _code(entry)
    delay, investment = entry.get("delay_days"), entry.get("is_investment")
    if not isinstance(investment, bool):
        raise CatalogueDataError(f"{code}: is_investment must be true or false")
    limit = INVESTMENT_DELAY_DAYS if investment else DEFAULT_DELAY_DAYS
    if not isinstance(delay, int) or isinstance(delay, bool) or not 1 <= delay <= limit:
        raise CatalogueDataError(f"{code}: the delay must be 1 to {limit} days (law 55-19)")
    if entry.get("delay_kind") not in DelayKind.values:
        raise CatalogueDataError(f"{code}: unknown delay kind")
    if entry.get("silence_rule") not in SilenceRule.values:
        raise CatalogueDataError(f"{code}: unknown silence rule")
    service = _text(entry, "service", required=False)
    if service and service not in services:
        raise CatalogueDataError(f"{code}: the service {service} is not one of the catalogue's")
    cited = tuple(entry.get("sources") or ())
    if not cited or any(source not in sources for source in cited):
        raise CatalogueDataError(f"{code}: every procedure names its sources, from the list of sources")
    documents = tuple(
        DocumentSpec(
            name_ar=_text(d, "name_ar", limit=200),
            name_fr=_text(d, "name_fr", limit=200),
            held_by_name=_text(d, "held_by_name", required=False, limit=200),
        )
        for d in entry.get("documents") or ()
    )
    return ProcedureSpec(
        code=code,
        name_ar=_text(entry, "name_ar", limit=200),
        name_fr=_text(entry, "name_fr", limit=200),
        name_zgh=_text(entry, "name_zgh", limit=200),
        legal_basis=_text(entry, "legal_basis", limit=300),
        delay_days=delay,
        delay_kind=entry["delay_kind"],
        silence_rule=entry["silence_rule"],
        is_investment=investment,
        service=service,
        documents=documents,
        sources=cited,
        note=_text(entry, "note", required=False),
    )


def _template(entry: dict[str, Any]) -> TemplateSpec:
    code = _code(entry)
    texts = {name: _text(entry, name, required=name.startswith("body")) for name in TEXTS}
    allowed = template_variables()
    for name, text in texts.items():
        if templating.template_problems(text, allowed):
            raise CatalogueDataError(f"{code}: {name} uses something other than the letter variables")
    return TemplateSpec(
        code=code, name=_text(entry, "name", limit=120), note=_text(entry, "note", required=False), **texts
    )


TEXTS = ("body_ar", "body_fr", "recourse_ar", "recourse_fr")


def _circuit(entry: dict[str, Any]) -> CircuitSpec:
    code = _code(entry, limit=30)
    steps = []
    for step in entry.get("steps") or ():
        kind, role = step.get("kind"), step.get("role", "")
        if kind not in StepKind.values:
            raise CatalogueDataError(f"{code}: unknown kind of step {kind!r}")
        # A starter circuit names roles, never people: nobody works for a new administration yet.
        if kind != StepKind.SEAL and role not in roles_who(Action.ACT_IN_CIRCUIT):
            raise CatalogueDataError(f"{code}: a {kind} step names a role that can act")
        steps.append(StepSpecData(kind=kind, role=role if kind != StepKind.SEAL else ""))
    if not any(step.kind in (StepKind.VISA, StepKind.SIGNATURE) for step in steps):
        raise CatalogueDataError(f"{code}: a circuit needs a visa or a signature")
    return CircuitSpec(
        code=code,
        name=_text(entry, "name", limit=200),
        document_type=_text(entry, "document_type", required=False, limit=60),
        adjustable=bool(entry.get("adjustable")),
        steps=tuple(steps),
        note=_text(entry, "note", required=False),
    )


def parse_catalogue(data: dict[str, Any]) -> StarterCatalogue:
    """The catalogue ``data`` (the JSON file's content) as records; CatalogueDataError when it
    breaks one of its rules."""
    if not isinstance(data.get("version"), int) or data.get("kind") not in Administration.Kind.values:
        raise CatalogueDataError("the catalogue states its version and the kind of administration it is for")
    sources = tuple(
        Source(id=_text(s, "id"), text=_text(s, "text"), url=_text(s, "url", required=False), status=_text(s, "status"))
        for s in data.get("sources") or ()
    )
    _unique([s.id for s in sources], "sources")
    services = tuple(
        ServiceSpec(
            code=_code(s),
            name_ar=_text(s, "name_ar", limit=200),
            name_fr=_text(s, "name_fr", limit=200),
            name_zgh=_text(s, "name_zgh", limit=200),
        )
        for s in data.get("services") or ()
    )
    _unique([s.code for s in services], "services")
    service_codes = {s.code for s in services}
    procedures = tuple(_procedure(p, service_codes, {s.id for s in sources}) for p in data.get("procedures") or ())
    _unique([p.code for p in procedures], "procedures")
    templates = tuple(_template(t) for t in data.get("letter_templates") or ())
    _unique([t.code for t in templates], "letter templates")
    circuits = tuple(_circuit(c) for c in data.get("circuits") or ())
    _unique([c.code for c in circuits], "circuits")
    rules = []
    for rule in data.get("routing_rules") or ():
        keywords, service = _text(rule, "keywords", limit=300), _text(rule, "service")
        if service not in service_codes:
            raise CatalogueDataError(f"a routing rule names the service {service}, not one of the catalogue's")
        rules.append(RuleSpec(position=int(rule.get("position", 10)), keywords=keywords, service=service))
    _unique([r.keywords for r in rules], "routing rules")
    return StarterCatalogue(
        version=data["version"],
        kind=data["kind"],
        sources=sources,
        services=services,
        procedures=procedures,
        letter_templates=templates,
        circuits=circuits,
        routing_rules=tuple(rules),
    )


@cache
def starter_catalogue() -> StarterCatalogue:
    """The starter catalogue shipped with this version of Wasl (read once per process)."""
    return parse_catalogue(json.loads(CATALOGUE_FILE.read_text(encoding="utf-8")))
