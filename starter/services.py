"""Loading the starter catalogue into an administration: the one way to do it.

Loading creates what the administration does not have yet, each through the service that
creates that kind of thing (so each is validated and audited as if typed in), and keeps
everything it already has: an entry is recognised by its code (services, procedures, letter
templates, circuits) or, for a routing rule, by its keywords. Loading twice creates nothing
the second time, and never changes an entry the administration edited.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.errors import NotFound, Refused
from parapheur.models import ActorKind, Circuit, StepKind
from parapheur.services import StepSpec, circuit_save
from starter.catalogue import (
    CircuitSpec,
    ProcedureSpec,
    RuleSpec,
    ServiceSpec,
    StarterCatalogue,
    TemplateSpec,
    starter_catalogue,
)
from tenancy.access import member_may
from tenancy.models import Administration, Service, User
from tenancy.permissions import Action
from tenancy.services import service_create
from workflow.catalogue import DocumentLine, letter_template_save, procedure_save, routing_rule_add
from workflow.models import LetterTemplate, Procedure, RoutingRule

KINDS = ("services", "procedures", "letter_templates", "circuits", "routing_rules")


class StarterRefused(Refused):
    pass


@dataclass
class LoadReport:
    """What a load created and what it kept as the administration had it, by kind: codes (a
    routing rule is named by the service it routes to)."""

    version: int
    created: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    kept: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    @property
    def created_count(self) -> int:
        return sum(len(codes) for codes in self.created.values())

    @property
    def kept_count(self) -> int:
        return sum(len(codes) for codes in self.kept.values())

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "created": {kind: len(codes) for kind, codes in self.created.items()},
            "kept": {kind: len(codes) for kind, codes in self.kept.items()},
        }


def may_load_starter(actor: User | None, administration: Administration) -> bool:
    """An operator at the command line (no actor), a platform administrator, or an
    administrator of ``administration``."""
    if actor is None:
        return True
    if not actor.is_authenticated or not actor.is_active:
        return False
    return actor.is_staff or member_may(actor, administration, Action.MANAGE_CATALOGUE)


def starter_catalogue_load(
    *, actor: User | None, administration: Administration, catalogue: StarterCatalogue | None = None
) -> LoadReport:
    """Load the starter catalogue (``catalogue``, by default the one shipped) into
    ``administration``, a commune, and report what was created and what was kept.

    ``actor``: who loads it; None for an operator's command. Anyone else than a platform
    administrator or an administrator of ``administration`` gets NotFound, and an
    administration that is not a commune is refused: nothing changes in either case. Everything
    is created in one transaction (the administration's row locked, so two loads at once run
    one after the other), with the audit event of the load.
    """
    if not may_load_starter(actor, administration):
        raise NotFound
    catalogue = catalogue or starter_catalogue()
    if administration.kind != catalogue.kind:
        raise StarterRefused(
            "not_a_commune",
            _("The starter catalogue is a commune's: this administration is not a commune."),
        )
    report = LoadReport(version=catalogue.version)
    with transaction.atomic():
        Administration.objects.select_for_update().filter(pk=administration.pk).first()
        services = _services(actor, administration, catalogue, report)
        procedures = _procedures(actor, administration, catalogue, services, report)
        _templates(actor, administration, catalogue, report)
        _circuits(actor, administration, catalogue, report)
        _rules(actor, administration, catalogue, services, report)
        audit_record(
            actor=actor,
            action=AuditAction.CATALOGUE_STARTER_LOADED,
            obj=administration,
            administration=administration,
            data={"version": catalogue.version, **report.counts(), "procedures": sorted(procedures)},
        )
    return report


def _add_missing[Spec](
    report: LoadReport,
    kind: str,
    specs: Iterable[Spec],
    have: Container[str],
    create: Callable[[Spec], object],
    *,
    key: Callable[[Spec], str] = attrgetter("code"),
    label: Callable[[Spec], str] = attrgetter("code"),
) -> None:
    """Create each of ``specs`` whose key the administration does not ``have`` yet, and report
    each, by its label, as created or kept."""
    for spec in specs:
        if key(spec) in have:
            report.kept[kind].append(label(spec))
            continue
        create(spec)
        report.created[kind].append(label(spec))


def _services(
    actor: User | None, administration: Administration, catalogue: StarterCatalogue, report: LoadReport
) -> dict[str, Service]:
    services = {s.code: s for s in Service.objects.filter(administration=administration)}

    def create(spec: ServiceSpec) -> None:
        services[spec.code] = service_create(
            actor=actor,
            administration=administration,
            code=spec.code,
            name_ar=spec.name_ar,
            name_fr=spec.name_fr,
            name_zgh=spec.name_zgh,
        )

    _add_missing(report, "services", catalogue.services, set(services), create)
    return services


def _procedures(
    actor: User | None,
    administration: Administration,
    catalogue: StarterCatalogue,
    services: dict[str, Service],
    report: LoadReport,
) -> list[str]:
    def create(spec: ProcedureSpec) -> None:
        procedure_save(
            actor=actor,
            administration=administration,
            procedure=None,
            values={
                "code": spec.code,
                "name_ar": spec.name_ar,
                "name_fr": spec.name_fr,
                "name_zgh": spec.name_zgh,
                "legal_basis": spec.legal_basis,
                "is_investment": spec.is_investment,
                "delay_days": spec.delay_days,
                "delay_kind": spec.delay_kind,
                "silence_rule": spec.silence_rule,
                "fee": Decimal("0"),
                "service": services.get(spec.service) if spec.service else None,
                "is_active": True,
            },
            documents=[
                DocumentLine(name_ar=d.name_ar, name_fr=d.name_fr, held_by_name=d.held_by_name) for d in spec.documents
            ],
        )

    have = set(Procedure.objects.filter(administration=administration).values_list("code", flat=True))
    _add_missing(report, "procedures", catalogue.procedures, have, create)
    return report.created["procedures"]


def _templates(
    actor: User | None, administration: Administration, catalogue: StarterCatalogue, report: LoadReport
) -> None:
    def create(spec: TemplateSpec) -> None:
        letter_template_save(
            actor=actor,
            administration=administration,
            template=None,
            values={
                "code": spec.code,
                "name": spec.name,
                "body_ar": spec.body_ar,
                "body_fr": spec.body_fr,
                "recourse_ar": spec.recourse_ar,
                "recourse_fr": spec.recourse_fr,
                "is_active": True,
            },
        )

    have = set(LetterTemplate.objects.filter(administration=administration).values_list("code", flat=True))
    _add_missing(report, "letter_templates", catalogue.letter_templates, have, create)


def _circuits(
    actor: User | None, administration: Administration, catalogue: StarterCatalogue, report: LoadReport
) -> None:
    def create(spec: CircuitSpec) -> None:
        circuit_save(
            actor=actor,
            administration=administration,
            circuit=None,
            values={
                "code": spec.code,
                "name": spec.name,
                "document_type": spec.document_type,
                "adjustable": spec.adjustable,
                "is_active": True,
            },
            steps=[
                StepSpec(kind=step.kind)
                if step.kind == StepKind.SEAL
                else StepSpec(kind=step.kind, actor_kind=ActorKind.ROLE, role=step.role)
                for step in spec.steps
            ],
            # A new administration has no staff yet: its head and signatory are appointed later.
            vacant_roles=True,
        )

    have = set(Circuit.objects.filter(administration=administration).values_list("code", flat=True))
    _add_missing(report, "circuits", catalogue.circuits, have, create)


def _rules(
    actor: User | None,
    administration: Administration,
    catalogue: StarterCatalogue,
    services: dict[str, Service],
    report: LoadReport,
) -> None:
    """A routing rule has no code: it is recognised by its keywords, and named by its service."""

    def create(spec: RuleSpec) -> None:
        routing_rule_add(
            actor=actor,
            administration=administration,
            service=services[spec.service],
            procedure=None,
            keywords=spec.keywords,
            position=spec.position,
        )

    have = {
        keywords.strip()
        for keywords in RoutingRule.objects.filter(administration=administration).values_list("keywords", flat=True)
    }
    _add_missing(
        report,
        "routing_rules",
        catalogue.routing_rules,
        have,
        create,
        key=lambda spec: spec.keywords.strip(),
        label=attrgetter("service"),
    )
