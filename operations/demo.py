"""The demo: administrations, services, staff in every role, a citizen and a company.

Seeding is idempotent and refused unless WASL_DEMO is on, so demo accounts (with
published passwords) never exist on a real installation.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenancy.models import Administration, Membership, Service, User
from tenancy.services import administration_create, membership_grant, service_create

Role = Membership.Role


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
        "agent@demo.ma", "demo-agent-2026", "Salma Idrissi", "agent (COMMUNE-DEMO)", "COMMUNE-DEMO", Role.AGENT, "URB"
    ),
    DemoAccount(
        "head@demo.ma",
        "demo-head-2026",
        "Karim Tazi",
        "head of service (COMMUNE-DEMO)",
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
                user = User.objects.create_user(
                    account.email,
                    account.password,
                    full_name=account.full_name,
                    kind=account.kind,
                    national_id=account.national_id,
                    company_id=account.company_id,
                    email_verified_at=timezone.now(),
                    is_staff=account.platform_admin,
                    is_superuser=account.platform_admin,
                )
                created["accounts"] += 1
            if account.administration:
                membership_grant(
                    actor=None,
                    user=user,
                    administration=administrations[account.administration],
                    role=account.role,
                    service=services.get((account.administration, account.service)),
                )
    return created
