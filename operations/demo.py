"""The demo: administrations, services, staff in every role, a citizen and a company.

Seeding is idempotent and refused unless WASL_DEMO is on, so demo accounts (with
published passwords) never exist on a real installation.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password
from django.db import transaction
from django.utils import timezone

from tenancy.models import Administration, Membership, Service, User
from tenancy.services import administration_create, membership_grant, service_create

Role = Membership.Role


class _PublishedPasswordHasher(PBKDF2PasswordHasher):
    """The demo's passwords are printed in the README: stretching them 1,500,000 times protects
    nothing and cost the first `make run` ~8 s. They are stored stretched 1,000 times, and Django
    stretches each one fully the first time its account signs in (the hasher's own upgrade)."""

    iterations = 1000


def _published_password(password: str) -> str:
    if get_hasher().algorithm == _PublishedPasswordHasher.algorithm:
        return make_password(password, hasher=_PublishedPasswordHasher())
    return make_password(password)  # another default hasher (the suite's): as it does


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    full_name: str
    role_label: str
    administration: str = ""
    role: str = ""
    service: str = ""
    kind: str = User.Kind.PERSON
    national_id: str = ""
    company_id: str = ""
    platform_admin: bool = False


DEMO_ACCOUNTS = [
    DemoAccount("citizen@demo.ma", "demo-citizen-2026", "أمينة العلوي", "citizen", national_id="BK123456"),
    DemoAccount(
        "company@demo.ma",
        "demo-company-2026",
        "Atlas Travaux SARL",
        "company",
        kind=User.Kind.COMPANY,
        company_id="001234567000089",
    ),
    DemoAccount(
        "clerk@demo.ma", "demo-clerk-2026", "Rachid Bennani", "clerk (COMMUNE-DEMO)", "COMMUNE-DEMO", Role.CLERK, "BO"
    ),
    DemoAccount(
        "agent@demo.ma",
        "demo-agent-2026",
        "Salma Idrissi",
        "agent, urbanism (COMMUNE-DEMO)",
        "COMMUNE-DEMO",
        Role.AGENT,
        "URB",
    ),
    DemoAccount(
        "agent.eco@demo.ma",
        "demo-agent-2026",
        "Hamza Benjelloun",
        "agent, economic affairs (COMMUNE-DEMO)",
        "COMMUNE-DEMO",
        Role.AGENT,
        "ECO",
    ),
    DemoAccount(
        "head@demo.ma",
        "demo-head-2026",
        "Karim Tazi",
        "head of service, urbanism (COMMUNE-DEMO)",
        "COMMUNE-DEMO",
        Role.HEAD,
        "URB",
    ),
    DemoAccount(
        "signatory@demo.ma",
        "demo-signatory-2026",
        "Nadia El Fassi",
        "signatory (COMMUNE-DEMO)",
        "COMMUNE-DEMO",
        Role.SIGNATORY,
        "DGS",
    ),
    DemoAccount(
        "admin@demo.ma",
        "demo-admin-2026",
        "Omar Chraibi",
        "administration admin (COMMUNE-DEMO)",
        "COMMUNE-DEMO",
        Role.ADMIN,
    ),
    DemoAccount(
        "auditor@demo.ma", "demo-auditor-2026", "Hajar Berrada", "auditor (COMMUNE-DEMO)", "COMMUNE-DEMO", Role.AUDITOR
    ),
    DemoAccount(
        "clerk.region@demo.ma",
        "demo-clerk-2026",
        "Youssef Amrani",
        "clerk (REGION-DEMO)",
        "REGION-DEMO",
        Role.CLERK,
        "BO",
    ),
    DemoAccount(
        "agent.ompic@demo.ma",
        "demo-agent-2026",
        "Meryem Alaoui",
        "agent (OMPIC-DEMO)",
        "OMPIC-DEMO",
        Role.AGENT,
        "BO",
    ),
    DemoAccount(
        "platform@demo.ma", "demo-platform-2026", "Platform Admin", "platform admin (/admin/)", platform_admin=True
    ),
]

ADMINISTRATIONS = [
    ("COMMUNE-DEMO", Administration.Kind.COMMUNE, "جماعة وصل النموذجية", "Commune de Wasl (démo)", "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵡⴰⵚⵍ"),
    (
        "REGION-DEMO",
        Administration.Kind.REGION,
        "مجلس جهة وصل النموذجية",
        "Conseil de la région de Wasl (démo)",
        "ⴰⴳⵔⴰⵡ ⵏ ⵜⵎⵏⴰⴹⵜ ⵏ ⵡⴰⵚⵍ",
    ),
    (
        "MINISTERE-DEMO",
        Administration.Kind.MINISTRY,
        "وزارة الانتقال الرقمي (نموذج)",
        "Ministère de la transition numérique (démo)",
        "",
    ),
    (
        "ANCFCC-DEMO",
        Administration.Kind.PUBLIC_BODY,
        "الوكالة الوطنية للمحافظة العقارية (نموذج)",
        "Agence de la conservation foncière (démo)",
        "",
    ),
    (
        "OMPIC-DEMO",
        Administration.Kind.PUBLIC_BODY,
        "المكتب المغربي للملكية الصناعية والتجارية (نموذج)",
        "Office de la propriété industrielle et commerciale (démo)",
        "",
    ),
]
REGIONS = {
    "COMMUNE-DEMO": "rabat-sale-kenitra",
    "REGION-DEMO": "rabat-sale-kenitra",
    "ANCFCC-DEMO": "rabat-sale-kenitra",
}
# Documents delivered to other administrations (once only): holder, code, Arabic, French, automatic.
PROVIDED = [
    ("ANCFCC-DEMO", "CERT-PROP", "شهادة الملكية", "Certificat de propriété", True),
    ("OMPIC-DEMO", "RC", "شهادة السجل التجاري", "Certificat du registre de commerce", False),
]

# code, parent code, kind, location, Arabic, French
SERVICES: dict[str, list[tuple[str, str | None, str, str, str, str]]] = {
    "COMMUNE-DEMO": [
        ("BO", None, Service.Kind.CENTRAL, "", "مكتب الضبط", "Bureau d'ordre"),
        ("DGS", None, Service.Kind.CENTRAL, "", "المديرية العامة للمصالح", "Direction générale des services"),
        ("URB", "DGS", Service.Kind.CENTRAL, "", "مصلحة التعمير", "Service de l'urbanisme"),
        ("EC", "DGS", Service.Kind.CENTRAL, "", "مصلحة الحالة المدنية", "Service de l'état civil"),
        ("ECO", "DGS", Service.Kind.CENTRAL, "", "مصلحة الشؤون الاقتصادية", "Service des affaires économiques"),
        (
            "ANX1",
            "DGS",
            Service.Kind.DECENTRALISED,
            "Hay Salam",
            "الملحقة الإدارية الأولى",
            "Annexe administrative n° 1",
        ),
        (
            "ANX2",
            "DGS",
            Service.Kind.DECENTRALISED,
            "Hay Nahda",
            "الملحقة الإدارية الثانية",
            "Annexe administrative n° 2",
        ),
    ],
    "REGION-DEMO": [
        ("BO", None, Service.Kind.CENTRAL, "", "مكتب الضبط", "Bureau d'ordre"),
        ("DGS", None, Service.Kind.CENTRAL, "", "المديرية العامة للمصالح", "Direction générale des services"),
    ],
    "ANCFCC-DEMO": [("BO", None, Service.Kind.CENTRAL, "", "مكتب الضبط", "Bureau d'ordre")],
    "OMPIC-DEMO": [("BO", None, Service.Kind.CENTRAL, "", "مكتب الضبط", "Bureau d'ordre")],
    "MINISTERE-DEMO": [
        ("BO", None, Service.Kind.CENTRAL, "", "مكتب الضبط المركزي", "Bureau d'ordre central"),
        (
            "DR-RSK",
            None,
            Service.Kind.DECENTRALISED,
            "Rabat",
            "المديرية الجهوية الرباط-سلا-القنيطرة",
            "Direction régionale Rabat-Salé-Kénitra",
        ),
    ],
}


class DemoRefused(Exception):
    pass


def seed_demo() -> dict[str, int]:
    if not settings.DEMO:
        raise DemoRefused("The demo is only seeded with WASL_DEMO=true.")
    created = {"administrations": 0, "services": 0, "accounts": 0}
    with transaction.atomic():
        administrations: dict[str, Administration] = {}
        for code, kind, name_ar, name_fr, name_zgh in ADMINISTRATIONS:
            existing = Administration.objects.filter(code=code).first()
            if existing is None:
                existing = administration_create(
                    actor=None, code=code, kind=kind, name_ar=name_ar, name_fr=name_fr, name_zgh=name_zgh
                )
                created["administrations"] += 1
            administrations[code] = existing
        services: dict[tuple[str, str], Service] = {}
        for code, rows in SERVICES.items():
            for service_code, parent, service_kind, location, name_ar, name_fr in rows:
                service = Service.objects.filter(administration=administrations[code], code=service_code).first()
                if service is None:
                    service = service_create(
                        actor=None,
                        administration=administrations[code],
                        code=service_code,
                        name_ar=name_ar,
                        name_fr=name_fr,
                        parent=services[(code, parent)] if parent else None,
                        kind=service_kind,
                        location=location,
                    )
                    created["services"] += 1
                services[(code, service_code)] = service
        for account in DEMO_ACCOUNTS:
            user = User.objects.filter(email=account.email).first()
            if user is None:
                user = User(
                    email=account.email,
                    password=_published_password(account.password),
                    full_name=account.full_name,
                    kind=account.kind,
                    national_id=account.national_id,
                    company_id=account.company_id,
                    email_verified_at=timezone.now(),
                    is_staff=account.platform_admin,
                    is_superuser=account.platform_admin,
                )
                user.save()
                created["accounts"] += 1
            if account.administration:
                membership_grant(
                    actor=None,
                    user=user,
                    administration=administrations[account.administration],
                    role=account.role,
                    service=services.get((account.administration, account.service)),
                )
        for code, region in REGIONS.items():
            Administration.objects.filter(code=code, region="").update(region=region)
        created["procedures"] = _seed_catalogue(administrations["COMMUNE-DEMO"], services)
        created["held_documents"] = _seed_once_only(administrations)
        created["circuits"] = _seed_parapheur(administrations["COMMUNE-DEMO"])
    return created


# A few procedures of a commune, as idarati.ma publishes them (names shortened).
DEMO_PROCEDURES = [
    {
        "code": "URB-PC",
        "name_ar": "رخصة البناء",
        "name_fr": "Autorisation de construire",
        "legal_basis": "Loi 12-90 relative à l'urbanisme; décret 2.18.577",
        "delay_days": 30,
        "delay_kind": "calendar",
        "silence_rule": "acceptance",
        "is_investment": True,
        "fee": "0",
        "service": "URB",
        "documents": [
            ("طلب موقع من طرف صاحب المشروع", "Demande signée par le maître d'ouvrage", "", ""),
            ("التصاميم المعمارية", "Plans architecturaux", "", ""),
            ("شهادة الملكية", "Certificat de propriété", "ANCFCC-DEMO", "CERT-PROP"),
        ],
    },
    {
        "code": "EC-COPIE",
        "name_ar": "نسخة موجزة من رسم الولادة",
        "name_fr": "Copie intégrale d'acte de naissance",
        "legal_basis": "Loi 37-99 relative à l'état civil",
        "delay_days": 5,
        "delay_kind": "working",
        "silence_rule": "none",
        "is_investment": False,
        "fee": "0",
        "service": "EC",
        "documents": [("البطاقة الوطنية للتعريف", "Carte nationale d'identité", "", "")],
    },
    {
        "code": "ECO-AUT",
        "name_ar": "رخصة استغلال محل تجاري",
        "name_fr": "Autorisation d'exploitation d'un local commercial",
        "legal_basis": "Loi 113-14 organique relative aux communes, art. 100",
        "delay_days": 60,
        "delay_kind": "calendar",
        "silence_rule": "acceptance",
        "is_investment": False,
        "fee": "200",
        "service": "ECO",
        "documents": [
            ("عقد الكراء أو الملكية", "Contrat de bail ou titre de propriété", "", ""),
            ("شهادة السجل التجاري", "Certificat du registre de commerce", "OMPIC-DEMO", "RC"),
        ],
    },
]

DEMO_TEMPLATES = [
    (
        "ACCORD",
        "Réponse favorable / جواب بالموافقة",
        "السيد(ة) {sender_name}،\n\nجوابا على طلبكم المسجل تحت عدد {number} بتاريخ {registered_on} في موضوع: {subject}، "
        "يشرفنا إخباركم بالموافقة على طلبكم.\n\nوتقبلوا فائق التقدير والاحترام.",
        "Madame, Monsieur {sender_name},\n\nEn réponse à votre demande enregistrée sous le numéro {number} le "
        "{registered_on}, relative à : {subject}, nous avons l'honneur de vous informer qu'une suite favorable lui "
        "est réservée.\n\nVeuillez agréer l'expression de nos salutations distinguées.",
    ),
]


def _seed_catalogue(administration: Administration, services: dict[tuple[str, str], Service]) -> int:
    from decimal import Decimal

    from workflow.catalogue import DocumentLine, procedure_save
    from workflow.models import LetterTemplate, Procedure, RoutingRule

    created = 0
    for spec in DEMO_PROCEDURES:
        if Procedure.objects.filter(administration=administration, code=spec["code"]).exists():
            continue
        values = {k: v for k, v in spec.items() if k not in ("documents", "service", "fee")}
        values["fee"] = Decimal(str(spec["fee"]))
        values["service"] = services.get((administration.code, str(spec["service"])))
        documents = [
            DocumentLine(ar, fr, holder, holder, kind)
            for ar, fr, holder, kind in spec["documents"]  # type: ignore[attr-defined]
        ]
        procedure_save(actor=None, administration=administration, procedure=None, values=values, documents=documents)
        created += 1
    for code, name, body_ar, body_fr in DEMO_TEMPLATES:
        LetterTemplate.objects.get_or_create(
            administration=administration, code=code, defaults={"name": name, "body_ar": body_ar, "body_fr": body_fr}
        )
    if not RoutingRule.objects.filter(administration=administration).exists():
        RoutingRule.objects.create(
            administration=administration,
            keywords="رخصة البناء, permis de construire, construction",
            service=services[(administration.code, "URB")],
            position=10,
        )
    return created


# The demo signatory's signing passphrase (demo only: a real signatory chooses theirs).
DEMO_SIGNING_PASSPHRASE = "demo-signing-2026"  # noqa: S105


def _seed_parapheur(administration: Administration) -> int:
    """The signatory's certificate and a circuit: head's visa, signatory's signature, seal."""
    from parapheur.certificates import certificate_enrol, current_certificate
    from parapheur.models import Circuit, StepKind
    from parapheur.services import StepSpec, circuit_save

    signatory = User.objects.get(email="signatory@demo.ma")
    head = User.objects.get(email="head@demo.ma")
    if current_certificate(signatory, administration) is None:
        certificate_enrol(
            user=signatory,
            administration=administration,
            passphrase=DEMO_SIGNING_PASSPHRASE,
            title_fr="Présidente du conseil communal",
            title_ar="رئيسة المجلس الجماعي",
        )
    if Circuit.objects.filter(administration=administration, code="DECISION").exists():
        return 0
    circuit_save(
        actor=None,
        administration=administration,
        circuit=None,
        values={"code": "DECISION", "name": "Décision / قرار", "document_type": "decision", "adjustable": True},
        steps=[
            StepSpec(kind=StepKind.VISA, people=(head.pk,)),
            StepSpec(kind=StepKind.SIGNATURE, people=(signatory.pk,)),
            StepSpec(kind=StepKind.SEAL),
        ],
    )
    return 1


DEMO_CERTIFICATE = """#set page(paper: "a5", margin: 1.5cm)
#set text(font: "Noto Naskh Arabic", size: 11pt)
#align(center)[#text(size: 14pt)[*شهادة الملكية — Certificat de propriété*]]
#v(1em)
Titre foncier n° 12345/R — Rabat \\
Propriétaire : أمينة العلوي (CIN BK123456) \\
Consistance : terrain à bâtir, 240 m² \\
#v(1em)
#text(size: 9pt)[Document de démonstration — وثيقة نموذجية]
"""


def _seed_once_only(administrations: dict[str, Administration]) -> int:
    """The documents two demo holders deliver, and a land certificate held for the demo citizen:
    the agent handling her building permit can ask for it instead of asking her."""
    import tempfile
    from datetime import date
    from pathlib import Path

    import typst

    from documents.intake import blob_of, bytes_upload, check_files
    from documents.rendering import FONTS_DIR
    from exchange.models import HeldDocument, ProvidedDocument

    for code, kind_code, name_ar, name_fr, automatic in PROVIDED:
        ProvidedDocument.objects.get_or_create(
            administration=administrations[code],
            code=kind_code,
            defaults={"name_ar": name_ar, "name_fr": name_fr, "automatic": automatic},
        )
    land = ProvidedDocument.objects.get(administration=administrations["ANCFCC-DEMO"], code="CERT-PROP")
    if HeldDocument.objects.filter(kind=land, national_id="BK123456").exists():
        return 0
    with tempfile.TemporaryDirectory(prefix="wasl-demo-") as tmp:
        source = Path(tmp) / "certificate.typ"
        source.write_text(DEMO_CERTIFICATE, encoding="utf-8")
        pdf = bytes(typst.compile(str(source), font_paths=[str(FONTS_DIR)], ignore_system_fonts=True))
    HeldDocument.objects.create(
        kind=land,
        national_id="BK123456",
        person_name="أمينة العلوي",
        reference="TF 12345/R",
        blob=blob_of(check_files([bytes_upload(pdf, "certificat-propriete.pdf")])[0]),
        filename="certificat-propriete.pdf",
        issued_on=date(2026, 1, 15),
        registered_at=timezone.now(),
    )
    return 1
