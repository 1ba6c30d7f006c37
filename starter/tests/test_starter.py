"""The starter catalogue: its data keeps the law's rules, loading it creates each thing once and
never touches what an administration edited, only the administration's admins (or a platform
admin, or an operator) load it, and what it loads works: due dates, letters, the circuit."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from core.errors import NotFound
from documents.samples import pdf_bytes
from parapheur import services as parapheur_services
from parapheur.models import ActorKind, Circuit, Folder, StepKind
from starter.catalogue import CATALOGUE_FILE, CatalogueDataError, parse_catalogue, starter_catalogue
from starter.services import StarterRefused, starter_catalogue_load
from tenancy.models import Administration, Membership, Service, User
from tenancy.testing import make_administration, make_service, make_staff
from workflow.catalogue import letter_template_save, procedure_save
from workflow.models import Case, LetterTemplate, Procedure, RoutingRule

Role = Membership.Role


def raw() -> dict[str, Any]:
    return json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))


def counts(administration: Administration) -> dict[str, int]:
    return {
        "services": Service.objects.filter(administration=administration).count(),
        "procedures": Procedure.objects.filter(administration=administration).count(),
        "letter_templates": LetterTemplate.objects.filter(administration=administration).count(),
        "circuits": Circuit.objects.filter(administration=administration).count(),
        "routing_rules": RoutingRule.objects.filter(administration=administration).count(),
    }


# ---------------------------------------------------------------- the data


def test_the_catalogue_names_a_communes_common_procedures_in_three_languages_with_their_sources() -> None:
    catalogue = starter_catalogue()
    codes = {p.code for p in catalogue.procedures}
    # Civil status, legalisation, urbanism, economic activities, access to information.
    assert {"EC-DECL-NAIS", "EC-DECL-DEC", "EC-EXT-NAIS", "LEG-SIGN", "LEG-COPIE"} <= codes
    assert {"URB-PC-PP", "URB-PC-GP", "URB-LOT", "URB-PH", "URB-CC", "ECO-LOCAL", "ECO-ODP", "INFO"} <= codes
    for procedure in catalogue.procedures:
        assert procedure.name_ar and procedure.name_fr and procedure.name_zgh, procedure.code
        assert all("\u2d30" <= ch <= "\u2d7f" for ch in procedure.name_zgh if ch.isalpha()), procedure.code
        assert procedure.legal_basis and procedure.sources, procedure.code
        assert procedure.delay_days <= (30 if procedure.is_investment else 60), procedure.code
    assert {t.code for t in catalogue.letter_templates} == {"ACCUSE", "COMPLEMENT", "ACCORD", "REFUS"}
    assert [(s.kind, s.role) for s in catalogue.circuits[0].steps] == [
        ("visa", "head"),
        ("signature", "signatory"),
        ("seal", ""),
    ]


def test_every_legal_basis_cites_only_laws_its_sources_name() -> None:
    """No law number appears in a legal basis unless one of the procedure's sources names it."""
    catalogue = starter_catalogue()
    import re

    for procedure in catalogue.procedures:
        cited = " ".join(catalogue.source(s).text for s in procedure.sources)
        for number in re.findall(r"\d+[-.]\d+(?:[-.]\d+)?", procedure.legal_basis):
            assert number in cited or number.replace(".", "-") in cited, (procedure.code, number)
        for article in re.findall(r"art\. (\d+)", procedure.legal_basis):
            assert f"art. {article}" in cited, (procedure.code, article)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["procedures"][7].update(delay_days=45), "the delay must be 1 to 30 days"),
        (lambda d: d["procedures"][0].update(delay_days=61), "the delay must be 1 to 60 days"),
        (lambda d: d["procedures"][0].update(sources=[]), "names its sources"),
        (lambda d: d["procedures"][0].update(service="NOPE"), "not one of the catalogue's"),
        (lambda d: d["procedures"][1].update(code=d["procedures"][0]["code"]), "two procedures"),
        (lambda d: d["letter_templates"][0].update(body_fr="{sender_name.__class__}"), "letter variables"),
        (lambda d: d["circuits"][0]["steps"][0].update(role="auditor"), "names a role that can act"),
        (lambda d: d["routing_rules"][0].update(service="X"), "not one of the catalogue's"),
    ],
)
def test_a_catalogue_that_breaks_a_rule_is_refused(change: Callable[[dict[str, Any]], None], problem: str) -> None:
    data = copy.deepcopy(raw())
    change(data)
    with pytest.raises(CatalogueDataError, match=problem):
        parse_catalogue(data)


# ---------------------------------------------------------------- loading


def test_loading_creates_the_catalogue_once_and_reports_it(commune: Administration, commune_admin: User) -> None:
    catalogue = starter_catalogue()
    before = counts(commune)
    report = starter_catalogue_load(actor=commune_admin, administration=commune)
    assert report.created["procedures"] == [p.code for p in catalogue.procedures]
    assert counts(commune) == {
        "services": before["services"] + 4,  # BO, EC, URB, ECO beside the commune's own SG
        "procedures": 15,
        "letter_templates": 4,
        "circuits": 1,
        "routing_rules": 3,
    }
    permit = Procedure.objects.get(administration=commune, code="URB-PC-PP")
    assert (permit.delay_days, permit.delay_kind, permit.silence_rule, permit.is_investment) == (
        10,
        "calendar",
        "acceptance",
        True,
    )
    assert permit.name_zgh == "ⴰⵙⵓⵔⴳ ⵏ ⵓⵙⴽⵓ (ⵉⵙⵏⴼⴰⵔⵏ ⵉⵎⵥⵥⵢⴰⵏⵏ)" and permit.fee == Decimal("0")
    assert permit.service is not None
    assert permit.service.code == "URB" and permit.service.name_zgh == "ⵜⴰⵏⴰⴼⵓⵜ ⵏ ⵓⵙⵖⵔⵎ"
    land = permit.documents.get(name_fr="Certificat de propriété")
    assert land.held_elsewhere  # never asked of the applicant (law 55-19)
    assert Procedure.objects.get(administration=commune, code="INFO").service is None
    refusal = LetterTemplate.objects.get(administration=commune, code="REFUS")
    assert "{administration}" in refusal.recourse_fr and "المحكمة الإدارية" in refusal.recourse_ar
    circuit = Circuit.objects.get(administration=commune, code="VISA-SIGNATURE")
    assert [(s.kind, s.actor_kind, s.role) for s in circuit.steps.all()] == [
        (StepKind.VISA, ActorKind.ROLE, Role.HEAD),
        (StepKind.SIGNATURE, ActorKind.ROLE, Role.SIGNATORY),
        (StepKind.SEAL, ActorKind.PERSON, ""),
    ]
    rules = {r.service.code: r for r in RoutingRule.objects.filter(administration=commune)}
    assert set(rules) == {"URB", "EC", "ECO"} and "permis de construire" in rules["URB"].keywords
    event = AuditEvent.objects.get(action="catalogue.starter_loaded")
    assert (event.actor, event.administration) == (commune_admin, commune)
    assert event.data["created"]["procedures"] == 15 and event.data["version"] == catalogue.version
    # Each entry was created through its own service, audited as if typed in.
    assert AuditEvent.objects.filter(action="procedure.saved", administration=commune).count() == 15


def test_loading_twice_creates_nothing_twice(commune: Administration, commune_admin: User) -> None:
    starter_catalogue_load(actor=commune_admin, administration=commune)
    loaded = counts(commune)
    again = starter_catalogue_load(actor=commune_admin, administration=commune)
    assert again.created_count == 0 and again.kept["procedures"] == [p.code for p in starter_catalogue().procedures]
    assert counts(commune) == loaded


def test_loading_again_keeps_what_the_administration_edited(commune: Administration, commune_admin: User) -> None:
    starter_catalogue_load(actor=commune_admin, administration=commune)
    permit = Procedure.objects.get(administration=commune, code="URB-PC-GP")
    procedure_save(
        actor=commune_admin,
        administration=commune,
        procedure=permit,
        values={"name_fr": "Permis de construire — grands projets", "delay_days": 20},
        documents=[],
    )
    accord = LetterTemplate.objects.get(administration=commune, code="ACCORD")
    letter_template_save(actor=commune_admin, administration=commune, template=accord, values={"body_fr": "Oui."})
    Service.objects.filter(administration=commune, code="EC").update(name_fr="Division de l'état civil")
    starter_catalogue_load(actor=commune_admin, administration=commune)
    permit.refresh_from_db()
    assert (permit.name_fr, permit.delay_days, permit.documents.count()) == (
        "Permis de construire — grands projets",
        20,
        0,
    )
    assert LetterTemplate.objects.get(pk=accord.pk).body_fr == "Oui."
    assert Service.objects.get(administration=commune, code="EC").name_fr == "Division de l'état civil"


def test_a_service_the_administration_already_has_is_kept_and_used(
    commune: Administration, commune_admin: User
) -> None:
    own = make_service(commune, "URB", name_ar="قسم التعمير", name_fr="Division de l'urbanisme")
    report = starter_catalogue_load(actor=commune_admin, administration=commune)
    assert report.kept["services"] == ["URB"] and "URB" not in report.created["services"]
    assert Procedure.objects.get(administration=commune, code="URB-LOT").service == own
    assert RoutingRule.objects.get(administration=commune, service=own).keywords.startswith("رخصة البناء")
    own.refresh_from_db()
    assert own.name_fr == "Division de l'urbanisme"


def test_another_administration_is_untouched(commune: Administration, commune_admin: User) -> None:
    other = make_administration("COMMUNE-VOISINE")
    before = counts(other)
    starter_catalogue_load(actor=commune_admin, administration=commune)
    assert counts(other) == before


def test_only_the_administrations_admins_a_platform_admin_or_an_operator_may_load(
    commune: Administration, outsider: User, clerk: User, django_user_model: type[User]
) -> None:
    for someone in (outsider, clerk):
        with pytest.raises(NotFound):
            starter_catalogue_load(actor=someone, administration=commune)
    assert counts(commune)["procedures"] == 0
    platform = django_user_model.objects.create_superuser("root@example.ma", "x" * 12, full_name="Root")
    assert starter_catalogue_load(actor=platform, administration=commune).created_count == 27
    other = make_administration("COMMUNE-B")
    assert starter_catalogue_load(actor=None, administration=other).created_count == 27


def test_an_administration_that_is_not_a_commune_is_refused(elsewhere: Administration) -> None:
    admin = make_staff(elsewhere, Role.ADMIN, "admin@province.ma")
    with pytest.raises(StarterRefused) as refused:
        starter_catalogue_load(actor=admin, administration=elsewhere)
    assert refused.value.code == "not_a_commune" and counts(elsewhere)["procedures"] == 0


# ---------------------------------------------------------------- what it loads works


def test_a_request_for_a_loaded_procedure_gets_its_due_date_and_service(
    commune: Administration, commune_admin: User, citizen: User
) -> None:
    from core.testing import clock_at
    from workflow.testing import deposit

    starter_catalogue_load(actor=commune_admin, administration=commune)
    with clock_at("2026-03-05 10:00"):  # a Thursday
        permit = deposit(commune, citizen, procedure="URB-PC-PP", subject="Construction d'une maison").correspondence
        extract = deposit(commune, citizen, procedure="EC-EXT-NAIS", subject="نسخة موجزة").correspondence
    permit_case, extract_case = Case.objects.get(pk=permit.pk), Case.objects.get(pk=extract.pk)
    assert permit_case.service is not None and extract_case.service is not None
    # 10 calendar days: Sunday 15 March, so the next working day, Monday 16 March.
    assert (permit_case.due_on, permit_case.silence_rule, permit_case.service.code) == (
        date(2026, 3, 16),
        "acceptance",
        "URB",
    )
    # 5 working days: Friday 6, Monday 9, Tuesday 10, Wednesday 11, Thursday 12 March.
    assert (extract_case.due_on, extract_case.silence_rule, extract_case.service.code) == (
        date(2026, 3, 12),
        "none",
        "EC",
    )
    assert permit.terms["procedure_name_fr"] == "Autorisation de construire (petits projets)"


def test_a_request_naming_no_procedure_is_routed_by_the_loaded_rules(
    commune: Administration, commune_admin: User, citizen: User
) -> None:
    from workflow.testing import deposit

    starter_catalogue_load(actor=commune_admin, administration=commune)
    c = deposit(commune, citizen, subject="طلب رخصة السكن لمنزل بحي السلام").correspondence
    service = Case.objects.get(pk=c.pk).service
    assert service is not None and service.code == "URB"


def test_the_loaded_circuit_waits_for_its_roles_and_then_takes_folders(
    commune: Administration, commune_admin: User, agent: User
) -> None:
    from parapheur.services import FolderRefused

    starter_catalogue_load(actor=commune_admin, administration=commune)
    circuit = Circuit.objects.get(administration=commune, code="VISA-SIGNATURE")

    def submit() -> Folder:
        return parapheur_services.folder_submit(
            actor=agent,
            administration=commune,
            title="Arrêté",
            document=pdf_bytes(text="Arrêté"),
            document_name="arrete.pdf",
            circuit=circuit,
        )

    with pytest.raises(FolderRefused) as refused:
        submit()
    assert refused.value.code == "nobody"
    head = make_staff(commune, Role.HEAD, "head@commune.ma")
    make_staff(commune, Role.SIGNATORY, "signatory@commune.ma")
    folder = submit()
    first = folder.steps.order_by("position").first()
    assert first is not None
    assert (first.kind, first.role) == (StepKind.VISA, Role.HEAD)
    assert parapheur_services.role_holders(commune, Role.HEAD, None) == {head.pk}


# ---------------------------------------------------------------- the command


def test_the_command_loads_and_reports_and_refuses_what_it_cannot(commune: Administration) -> None:
    out = StringIO()
    call_command("load_catalogue", commune.code.lower(), "--dry-run", stdout=out)
    assert "procedures: would create 15" in out.getvalue() and counts(commune)["procedures"] == 0
    out = StringIO()
    call_command("load_catalogue", commune.code, stdout=out)
    assert "27 created, 0 kept" in out.getvalue() and counts(commune)["procedures"] == 15
    out = StringIO()
    call_command("load_catalogue", commune.code, stdout=out)
    assert "0 created, 27 kept" in out.getvalue()
    with pytest.raises(CommandError, match="No administration has the code NOPE"):
        call_command("load_catalogue", "NOPE")
    with pytest.raises(CommandError):
        call_command("load_catalogue", make_administration("REGION-X", kind="region").code)


def test_the_command_refuses_in_the_operators_english_whatever_the_sites_language(db: None) -> None:
    """manage.py runs in the site's default language (Arabic): the command's one line of refusal
    is English, as the rest of what it prints and as manage.py install."""
    from django.utils import translation

    region = make_administration("REGION-Y", kind="region")
    with translation.override("ar"), pytest.raises(CommandError, match="this administration is not a commune"):
        call_command("load_catalogue", region.code)
