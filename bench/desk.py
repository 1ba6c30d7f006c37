"""Processing-desk benchmark: inbox pages and the reminder sweep over a large register.

    scripts/with-postgres python -m bench.desk --json OUT.json [--correspondences 1000000 --administrations 50]
    python -m bench.desk --json OUT.json --correspondences 100000      (SQLite, throw-away data directory)

Target (the issue): with 1 million correspondences across 50 administrations on PostgreSQL, a
service inbox page and its counts render in p95 <= 50 ms, and the overdue sweep for all
administrations runs in <= 5 s.

1. Dataset, written straight into the tables (PostgreSQL ``COPY``, SQLite ``executemany``), not
   through the registration service (which seals a receipt per deposit): ``--administrations``
   administrations of uneven size (Zipf-like: a few big ones), each with 8 services (a mail
   office, a directorate with 4 central services and 2 decentralised annexes under it), a
   clerk, and per service a head and 3 agents; a catalogue of 8 procedures each.
   ``--correspondences`` rows over the last two years (volume growing over time, fewer on
   days off), 92 % incoming with a case each, 8 % outgoing answer letters (with their
   ``Reply``). Rows are inserted in registration order across all administrations, as the
   application would have, so one administration's rows are spread over the tables. Numbers
   ``A-YYYY-NNNNNN`` / ``D-YYYY-NNNNNN`` are gapless per administration, register and year,
   and the ``RegisterCounter`` rows match. Case status depends on age (recent ones mostly
   open; about 70 % answered or closed, 2 % rejected and 28 % open overall, a backlog of old
   open cases among them), service and agent set accordingly, the due date from the
   application's calendar (60 calendar days, 30 for building permits, moved to the next
   working day), 1-6 timeline lines per case, copies for 4 % of the cases. The reminder
   schedule is the steady state of a daily sweep: for each running case, the reminder points
   before today were sent (``Reminder`` rows and timeline lines exist) and ``remind_on`` is
   its next point, so today's sweep has exactly today's points to send. Not generated, as
   nothing measured reads them: receipts, attachments and files, audit events, the register
   log, citizen accounts, past notifications. Then ``VACUUM ANALYZE`` (the state autovacuum
   keeps a live database in).
2. Inbox: the real view (``desk:inbox``) through Django's test client, so with the whole
   middleware stack (session, authentication, CSRF, locale, CSP), signed in (``force_login``)
   as the head of the biggest service of the biggest administration filtering on it, an agent
   of that service ("only mine"), the clerk ("to assign"), and the head of the directorate
   above it (every service under it, no filter). Each cycles through a fixed list of boxes,
   orders and pages. Wall time per page (p50/p95/max), SQL statements per page and the time
   spent in them; the slowest statement is EXPLAINed.
3. Reminder sweep (``workflow.reminders.reminders_send``) for all administrations, on the
   dataset's day: the day's work, then the same day again (must find nothing to do), then,
   for scale, the next week at once (a worker that was down for a week).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bench.report import code_state, machine

TARGET_INBOX_P95_MS = 50.0
TARGET_SWEEP_S = 5.0
YEARS_BACK_DAYS = 730
INCOMING_SHARE = 0.92

# ---------------------------------------------------------------- vocabulary

CITIES = [
    ("الدار البيضاء", "Casablanca"),
    ("الرباط", "Rabat"),
    ("فاس", "Fès"),
    ("مراكش", "Marrakech"),
    ("طنجة", "Tanger"),
    ("أكادير", "Agadir"),
    ("مكناس", "Meknès"),
    ("وجدة", "Oujda"),
    ("القنيطرة", "Kénitra"),
    ("تطوان", "Tétouan"),
    ("سلا", "Salé"),
    ("تمارة", "Témara"),
    ("آسفي", "Safi"),
    ("المحمدية", "Mohammedia"),
    ("خريبكة", "Khouribga"),
    ("الجديدة", "El Jadida"),
    ("بني ملال", "Béni Mellal"),
    ("الناظور", "Nador"),
    ("تازة", "Taza"),
    ("سطات", "Settat"),
    ("برشيد", "Berrechid"),
    ("العرائش", "Larache"),
    ("الخميسات", "Khémisset"),
    ("القصر الكبير", "Ksar El Kébir"),
    ("تيزنيت", "Tiznit"),
    ("ورزازات", "Ouarzazate"),
    ("الراشيدية", "Errachidia"),
    ("الحسيمة", "Al Hoceïma"),
    ("شفشاون", "Chefchaouen"),
    ("إفران", "Ifrane"),
    ("الصويرة", "Essaouira"),
    ("تارودانت", "Taroudant"),
    ("سيدي قاسم", "Sidi Kacem"),
    ("سيدي سليمان", "Sidi Slimane"),
    ("بركان", "Berkane"),
    ("تاوريرت", "Taourirt"),
    ("جرادة", "Jerada"),
    ("ميدلت", "Midelt"),
    ("أزيلال", "Azilal"),
    ("الفقيه بن صالح", "Fquih Ben Salah"),
    ("وادي زم", "Oued Zem"),
    ("اليوسفية", "Youssoufia"),
    ("قلعة السراغنة", "Kelâa des Sraghna"),
    ("زاكورة", "Zagora"),
    ("طانطان", "Tan-Tan"),
    ("كلميم", "Guelmim"),
    ("العيون", "Laâyoune"),
    ("الداخلة", "Dakhla"),
    ("بوجدور", "Boujdour"),
    ("السمارة", "Smara"),
]

# code, parent, kind, Arabic, French, share of the cases it handles (the mail office handles none).
SERVICES: list[tuple[str, str | None, str, str, str, float]] = [
    ("BO", None, "central", "مكتب الضبط", "Bureau d'ordre", 0.0),
    ("DGS", None, "central", "المديرية العامة للمصالح", "Direction générale des services", 0.06),
    ("URB", "DGS", "central", "مصلحة التعمير", "Service de l'urbanisme", 0.30),
    ("EC", "DGS", "central", "مصلحة الحالة المدنية", "Service de l'état civil", 0.18),
    ("ECO", "DGS", "central", "مصلحة الشؤون الاقتصادية", "Service des affaires économiques", 0.14),
    ("TECH", "DGS", "central", "المصالح التقنية", "Services techniques", 0.14),
    ("ANX1", "DGS", "decentralised", "الملحقة الإدارية الأولى", "Annexe administrative n° 1", 0.10),
    ("ANX2", "DGS", "decentralised", "الملحقة الإدارية الثانية", "Annexe administrative n° 2", 0.08),
]
BIG_SERVICE = "URB"
DIRECTORATE = "DGS"

# code, service, delay (calendar days), silence rule, investment, Arabic, French, subjects.
PROCEDURES: list[tuple[str, str, int, str, bool, str, str, list[str]]] = [
    (
        "URB-PC",
        "URB",
        30,
        "acceptance",
        True,
        "رخصة البناء",
        "Autorisation de construire",
        [
            "طلب رخصة البناء لقطعة أرضية بالحي الإداري",
            "Demande d'autorisation de construire une maison individuelle R+1",
            "طلب رخصة البناء لتوسيع مسكن",
            "Demande de permis de construire pour un immeuble R+3 avec commerces",
        ],
    ),
    (
        "URB-LOT",
        "URB",
        60,
        "acceptance",
        True,
        "رخصة التجزئة",
        "Autorisation de lotir",
        ["طلب رخصة تجزئة عقار", "Demande d'autorisation de lotir un terrain de 2 hectares"],
    ),
    (
        "EC-COPIE",
        "EC",
        60,
        "none",
        False,
        "نسخة موجزة من رسم الولادة",
        "Copie intégrale d'acte de naissance",
        ["طلب نسخة كاملة من رسم الولادة", "Demande de copie intégrale d'acte de naissance"],
    ),
    (
        "EC-RECT",
        "EC",
        60,
        "none",
        False,
        "تصحيح رسم من رسوم الحالة المدنية",
        "Rectification d'un acte d'état civil",
        ["طلب تصحيح خطأ في الاسم العائلي برسم الولادة", "Demande de rectification d'une date de naissance"],
    ),
    (
        "ECO-AUT",
        "ECO",
        60,
        "acceptance",
        False,
        "رخصة استغلال محل تجاري",
        "Autorisation d'exploitation d'un local commercial",
        ["طلب رخصة استغلال محل تجاري لبيع المواد الغذائية", "Demande d'autorisation d'ouverture d'un café"],
    ),
    (
        "ECO-OCC",
        "ECO",
        60,
        "acceptance",
        False,
        "رخصة الاحتلال المؤقت للملك العمومي",
        "Occupation temporaire du domaine public",
        ["طلب رخصة الاحتلال المؤقت للملك العمومي الجماعي", "Demande d'occupation temporaire d'un trottoir (terrasse)"],
    ),
    (
        "TECH-EAU",
        "TECH",
        60,
        "none",
        False,
        "الربط بشبكة الماء الصالح للشرب",
        "Raccordement au réseau d'eau potable",
        ["طلب الربط بشبكة الماء الصالح للشرب", "Demande de raccordement au réseau d'assainissement"],
    ),
    (
        "ANX-RES",
        "ANX1",
        60,
        "none",
        False,
        "شهادة السكنى",
        "Certificat de résidence",
        ["طلب شهادة السكنى", "Demande de certificat de résidence", "طلب شهادة الحياة"],
    ),
]

# Requests outside the catalogue: service, subjects.
FREE_SUBJECTS: list[tuple[str, list[str]]] = [
    ("TECH", ["شكاية بخصوص الإنارة العمومية بالحي", "Réclamation concernant l'éclairage public du quartier"]),
    ("TECH", ["شكاية حول تراكم النفايات بالشارع الرئيسي", "Signalement d'une chaussée dégradée rue 14"]),
    ("URB", ["تظلم بخصوص بناء غير قانوني مجاور", "Plainte pour une construction sans autorisation"]),
    ("ECO", ["طلب معلومات حول الرسوم المحلية", "Demande d'information sur la taxe sur les terrains non bâtis"]),
    ("DGS", ["دعوة لحضور اجتماع اللجنة الإقليمية", "Invitation à la réunion de la commission provinciale"]),
    ("DGS", ["طلب الحصول على المعلومات طبقا للقانون 31.13", "Demande d'accès à l'information (loi 31-13)"]),
    ("EC", ["طلب تسجيل مولود خارج الأجل القانوني", "Demande de transcription d'un acte de mariage"]),
    ("ANX2", ["طلب تصحيح الإمضاء", "Demande de légalisation de signature pour un dossier"]),
]

BODIES = [
    "",
    "",
    "السيد الرئيس المحترم، سلام تام بوجود مولانا الإمام. وبعد، يشرفني أن أتقدم إلى سيادتكم بهذا الطلب "
    "راجيا منكم التفضل بدراسته والبت فيه داخل الأجل القانوني، وتجدون رفقته الوثائق المطلوبة حسب ما هو "
    "منشور في بوابة المساطر الإدارية. وفي انتظار ردكم، تقبلوا فائق التقدير والاحترام.",
    "Monsieur le Président, j'ai l'honneur de solliciter de votre haute bienveillance l'examen de la "
    "demande ci-jointe. Vous trouverez en pièces jointes les documents exigés par la procédure publiée "
    "sur le portail national des procédures. Je reste à votre disposition pour tout complément "
    "d'information et vous prie d'agréer l'expression de ma haute considération.",
    "أتشرف بإحاطتكم علما بأنني تقدمت بطلب سابق في نفس الموضوع دون أن أتوصل بأي جواب، لذا ألتمس منكم "
    "التدخل لتسوية وضعيتي في أقرب الآجال، علما أن القانون 55.19 المتعلق بتبسيط المساطر والإجراءات "
    "الإدارية يلزم الإدارة بالرد داخل الآجال المحددة. وتفضلوا بقبول أسمى عبارات التقدير.",
    "Suite à notre entretien au guichet de l'annexe administrative, je vous adresse la présente "
    "réclamation concernant la situation décrite en objet, qui perdure depuis plusieurs semaines et "
    "cause des désagréments aux habitants du quartier. Je vous remercie par avance de la suite que "
    "vous voudrez bien lui réserver.",
]

FIRST_NAMES = [
    "محمد", "فاطمة", "أحمد", "خديجة", "يوسف", "أمينة", "عبد الله", "سعاد", "Karim", "Salma", "Rachid",
    "Nadia", "Omar", "Hajar", "Youssef", "Meryem", "Hamza", "Imane", "Mehdi", "Zineb",
]  # fmt: skip
LAST_NAMES = [
    "العلوي", "بناني", "الإدريسي", "التازي", "الفاسي", "الشرايبي", "برادة", "العمراني", "Bennani", "El Fassi",
    "Tazi", "Alaoui", "Idrissi", "Chraibi", "Berrada", "Amrani", "Ouazzani", "Benjelloun", "Sqalli", "Kettani",
]  # fmt: skip
COMPANIES = [
    "Atlas Travaux SARL", "شركة النور للبناء", "Société Marocaine d'Équipement", "مقاولة الأمل",
    "Sahara Négoce SA", "Cabinet d'architecture Majorelle", "تعاونية الخير الفلاحية", "Rif Immobilier SARL",
]  # fmt: skip
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

RUNNING = ("registered", "assigned", "in_progress")
OPEN = (*RUNNING, "awaiting_completion")


# ---------------------------------------------------------------- set-up


def _django(data_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "wasl.settings",
            "WASL_DATA_DIR": str(data_dir),
            "WASL_DEMO": "true",
            "WASL_PKI_AUTOCREATE": "true",
            "WASL_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
            "WASL_PUBLIC_URL": "https://wasl.example.ma",
            "WASL_CACHE_URL": "locmem://",
            "WASL_LOG_LEVEL": "WARNING",
            "WASL_TASKS": "database",
            "WASL_DEBUG": "false",
        }
    )
    import django

    django.setup()


def _database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return "SQLite " + str(cursor.fetchone()[0])
        cursor.execute("show server_version")
        return "PostgreSQL " + str(cursor.fetchone()[0])


def _ascii_code(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "-" for ch in plain.upper()).strip("-")


# ---------------------------------------------------------------- bulk writing


class Writer:
    """Writes rows straight into a table: COPY on PostgreSQL, executemany on SQLite.

    Columns the caller does not give are filled with the model field's default, so a field
    added to a model with a default does not break the benchmark; a new required field without
    one is reported by name.
    """

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.rows: Counter[str] = Counter()

    def _extra(self, model: Any, columns: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
        from django.db import models

        names, values = [], []
        for f in model._meta.concrete_fields:
            if f.column in columns or isinstance(f, models.AutoField) or f.null:
                continue
            if not f.has_default():
                raise SystemExit(f"bench.desk: {model.__name__}.{f.name} is required and has no default: add it here")
            value = f.get_db_prep_save(f.get_default(), self.connection)
            if isinstance(value, dict | list):
                value = json.dumps(value)
            elif hasattr(value, "obj"):  # psycopg Json/Jsonb wrapper
                value = json.dumps(value.obj)
            names.append(f.column)
            values.append(value)
        return names, tuple(values)

    def write(self, model: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        extra_names, extra_values = self._extra(model, columns)
        names = [*columns, *extra_names]
        table = model._meta.db_table
        quoted = ", ".join(self.connection.ops.quote_name(c) for c in names)
        count = 0
        if self.vendor == "postgresql":
            with self.connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                if extra_values:
                    for row in rows:
                        copy.write_row(row + extra_values)
                        count += 1
                else:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
        else:
            marks = ", ".join(["%s"] * len(names))
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"
            adapt = self._sqlite_value
            batch: list[tuple[Any, ...]] = []
            with self.connection.cursor() as cursor:
                for row in rows:
                    batch.append(tuple(adapt(v) for v in row) + extra_values)
                    if len(batch) >= 20_000:
                        cursor.executemany(sql, batch)
                        count += len(batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
                    count += len(batch)
        self.rows[table] += count
        return count

    def _sqlite_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self.connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value


# ---------------------------------------------------------------- the dataset


@dataclass(slots=True)
class Incoming:
    moment: datetime
    admin: int  # index into the administrations
    registered_on: date
    channel: str
    status: str = "registered"
    service: int | None = None  # service id
    agent: int | None = None  # user id
    procedure: int = -1  # index into PROCEDURES, -1: none
    subject: str = ""
    body: str = ""
    sender: tuple[str, str, str, str] = ("person", "", "", "")  # kind, name, identifier, e-mail
    confidential: bool = False
    due_on: date | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    suspended_on: date | None = None
    remind_on: date | None = None
    remind_point: str = ""
    past_points: list[tuple[str, date]] = field(default_factory=list)
    copy_to: int | None = None
    pk: int = 0
    number: str = ""
    year: int = 0
    sequence: int = 0


@dataclass
class Org:
    admin_ids: list[int]
    admin_codes: list[str]
    services: list[dict[str, int]]  # per administration: code -> service id
    heads: list[dict[int, int]]  # per administration: service id -> head user id
    agents: list[dict[int, list[int]]]  # per administration: service id -> agent user ids
    clerks: list[int]  # per administration: clerk user id
    procedures: list[list[int]]  # per administration: procedure ids in PROCEDURES order


def _org(n_admins: int, rng: random.Random) -> Org:
    from django.db import transaction

    from tenancy.models import Administration, Membership, Service, User
    from workflow.models import Procedure

    Role = Membership.Role
    org = Org([], [], [], [], [], [], [])
    with transaction.atomic():
        admins = []
        for i in range(n_admins):
            city_ar, city_fr = CITIES[i % len(CITIES)]
            suffix = f"-{i // len(CITIES) + 1}" if i >= len(CITIES) else ""
            kind = "region" if i in (1, 7) else "province" if i % 10 == 5 else "commune"
            name_ar = {"region": "مجلس جهة ", "province": "مجلس إقليم "}.get(kind, "جماعة ") + city_ar
            name_fr = {"region": "Conseil de la région de ", "province": "Conseil provincial de "}.get(
                kind, "Commune de "
            ) + city_fr
            admins.append(
                Administration(
                    code=f"{kind.upper()[:3]}-{_ascii_code(city_fr)}{suffix}"[:40],
                    kind=kind,
                    name_ar=name_ar,
                    name_fr=name_fr,
                )
            )
        admins = Administration.objects.bulk_create(admins)
        users: list[User] = []
        plan: list[tuple[int, str, str | None, int]] = []  # admin index, role, service code, user index
        for i, a in enumerate(admins):
            slug = a.code.lower()
            users.append(_staff(rng, f"clerk@{slug}.bench.ma"))
            plan.append((i, Role.CLERK, "BO", len(users) - 1))
            for code, *_rest in SERVICES:
                users.append(_staff(rng, f"head.{code.lower()}@{slug}.bench.ma"))
                plan.append((i, Role.HEAD, code, len(users) - 1))
                for k in range(3):
                    users.append(_staff(rng, f"agent{k + 1}.{code.lower()}@{slug}.bench.ma"))
                    plan.append((i, Role.AGENT, code, len(users) - 1))
        users = User.objects.bulk_create(users)
        for a in admins:
            ids: dict[str, int] = {}
            for code, parent, kind, name_ar, name_fr, _share in SERVICES:
                service = Service.objects.create(
                    administration=a,
                    code=code,
                    kind=kind,
                    name_ar=name_ar,
                    name_fr=name_fr,
                    parent_id=ids[parent] if parent else None,
                )
                ids[code] = service.pk
            org.admin_ids.append(a.pk)
            org.admin_codes.append(a.code)
            org.services.append(ids)
            org.heads.append({})
            org.agents.append({})
            procedures = Procedure.objects.bulk_create(
                [
                    Procedure(
                        administration=a,
                        code=code,
                        name_ar=name_ar,
                        name_fr=name_fr,
                        is_investment=investment,
                        delay_days=delay,
                        delay_kind="calendar",
                        silence_rule=silence,
                        service_id=ids[service_code],
                    )
                    for code, service_code, delay, silence, investment, name_ar, name_fr, _subjects in PROCEDURES
                ]
            )
            org.procedures.append([p.pk for p in procedures])
        memberships = []
        org.clerks = [0] * len(admins)
        for i, role, service_code, u in plan:
            user_id = users[u].pk
            service_id = org.services[i][service_code] if service_code else None
            memberships.append(
                Membership(user_id=user_id, administration_id=org.admin_ids[i], role=role, service_id=service_id)
            )
            if role == Role.CLERK:
                org.clerks[i] = user_id
            elif role == Role.HEAD and service_id is not None:
                org.heads[i][service_id] = user_id
            elif service_id is not None:
                org.agents[i].setdefault(service_id, []).append(user_id)
        Membership.objects.bulk_create(memberships)
    return org


def _staff(rng: random.Random, email: str) -> Any:
    from tenancy.models import User

    return User(
        email=email,
        full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        password="!",  # unusable: the benchmark signs in with force_login
        language=rng.choice(("ar", "ar", "fr")),
    )


def _admin_weights(n: int) -> list[float]:
    weights = [1 / (i + 1) ** 0.8 for i in range(n)]
    total = sum(weights)
    return [w / total for w in weights]


def _incoming(n: int, org: Org, today: date, now_utc: datetime, rng: random.Random) -> list[Incoming]:
    """Registration moments (sorted), administrations, senders, subjects, statuses and dates."""
    from workflow.calendar import LOCAL_ZONE, BusinessCalendar

    calendar = BusinessCalendar()
    start = today - timedelta(days=YEARS_BACK_DAYS)
    days = [start + timedelta(days=d) for d in range(1, YEARS_BACK_DAYS + 1)]
    day_weights = [
        (0.6 + 0.8 * d / YEARS_BACK_DAYS) * (1.0 if calendar.is_working_day(day) else 0.12)
        for d, day in enumerate(days, 1)
    ]
    now_local = now_utc.astimezone(LOCAL_ZONE)
    day_weights[-1] *= max(0.05, min(1.0, (now_local.hour * 60 + now_local.minute) / (17 * 60)))
    chosen_days = rng.choices(days, weights=day_weights, k=n)
    admins = rng.choices(range(len(org.admin_ids)), weights=_admin_weights(len(org.admin_ids)), k=n)
    working = {day: calendar.is_working_day(day) for day in days}
    items: list[Incoming] = []
    for day, admin in zip(chosen_days, admins, strict=True):
        r = rng.random()
        channel = "online" if r < 0.55 else "counter" if r < 0.9 else "api" if r < 0.95 else "exchange"
        if channel != "online" and working[day]:
            minutes = rng.randrange(8 * 60 + 30, 16 * 60 + 30)
        else:
            channel = "online"
            minutes = min(int(rng.triangular(0, 24 * 60, 14 * 60)), 24 * 60 - 1)
        local = datetime.combine(day, dtime(minutes // 60, minutes % 60, rng.randrange(60)), LOCAL_ZONE)
        moment = local.astimezone(UTC)
        if moment > now_utc:
            moment = now_utc - timedelta(seconds=rng.randrange(60, 3600))
        items.append(
            Incoming(moment=moment, admin=admin, registered_on=moment.astimezone(LOCAL_ZONE).date(), channel=channel)
        )
    items.sort(key=lambda item: item.moment)
    return items


def _decide(items: list[Incoming], org: Org, today: date, now_utc: datetime, rng: random.Random) -> dict[str, Any]:
    """Status, service, agent, dates and reminder state of each case."""
    from workflow.calendar import BusinessCalendar
    from workflow.models import Case
    from workflow.reminders import point_dates

    calendar = BusinessCalendar()
    handling = [(code, share) for code, _p, _k, _ar, _fr, share in SERVICES if share > 0]
    handling_codes = [code for code, _ in handling]
    handling_weights = [share for _, share in handling]
    due_cache: dict[tuple[date, int], date] = {}
    points_cache: dict[tuple[date, date], list[tuple[str, date]]] = {}
    free_subjects = [(code, subject) for code, subjects in FREE_SUBJECTS for subject in subjects]
    base_open = 0.21
    for item in items:
        age = (today - item.registered_on).days
        if rng.random() < 0.55:
            item.procedure = rng.randrange(len(PROCEDURES))
            spec = PROCEDURES[item.procedure]
            item.subject = rng.choice(spec[7])
            service_code = spec[1]
            delay = spec[2]
        else:
            service_code, item.subject = rng.choice(free_subjects)
            if rng.random() < 0.5:  # free requests are often routed elsewhere than the obvious service
                service_code = rng.choices(handling_codes, weights=handling_weights)[0]
            delay = 60
        if rng.random() < 0.3:
            item.subject += f" ({rng.randrange(1, 999)}/{item.registered_on.year})"
        item.body = rng.choice(BODIES)
        r = rng.random()
        if r < 0.75:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"user{rng.randrange(10**6)}@mail.ma" if item.channel == "online" else ""
            cin = f"{rng.choice('ABCDEGHIJKLMNPQRSTUWXYZ')}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.randrange(10**6):06d}"
            item.sender = ("person", f"{first} {last}", cin, email)
        elif r < 0.95:
            item.sender = ("company", rng.choice(COMPANIES), f"{rng.randrange(10**15):015d}", "")
        else:
            other = rng.randrange(len(org.admin_codes))
            item.sender = ("administration", org.admin_codes[other], "", "")
        item.confidential = rng.random() < 0.01
        key = (item.registered_on, delay)
        due = due_cache.get(key)
        if due is None:
            due = due_cache[key] = calendar.due_date(item.registered_on, delay, "calendar")
        item.due_on = due
        # Status: recent requests are mostly open, then most get answered; a backlog stays open.
        p_open = base_open + (0.95 - base_open) * math.exp(-age / 50)
        if rng.random() < p_open:
            if age <= 1:
                item.status = "registered" if rng.random() < 0.7 else "assigned"
            else:
                item.status = rng.choices(OPEN, weights=(5, 10, 10, 3))[0]
        else:
            item.status = rng.choices(("answered", "closed", "rejected"), weights=(35, 35, 2))[0]
        services = org.services[item.admin]
        if item.status != "registered":
            item.service = services[service_code]
            agents = org.agents[item.admin][item.service]
            if item.status != "assigned" or rng.random() < 0.5:
                item.agent = rng.choices(agents, weights=(0.5, 0.3, 0.2))[0]
            if rng.random() < 0.04:
                other_code = rng.choice([c for c in handling_codes if c != service_code])
                item.copy_to = services[other_code]
        if item.status in ("answered", "closed", "rejected"):
            handling_days = min(age, int(rng.expovariate(1 / 28)))
            answered = item.moment + timedelta(days=handling_days, hours=rng.uniform(1, 8))
            item.answered_at = min(answered, now_utc - timedelta(minutes=rng.randrange(5, 600)))
            if item.answered_at < item.moment:
                item.answered_at = item.moment + timedelta(minutes=1)
            if item.status == "closed":
                closed = item.answered_at + timedelta(days=rng.expovariate(1 / 10))
                item.closed_at = max(item.answered_at, min(closed, now_utc - timedelta(minutes=1)))
        elif item.status == "awaiting_completion":
            item.suspended_on = item.registered_on + timedelta(days=rng.randrange(1, max(2, min(age, 40))))
            item.suspended_on = min(item.suspended_on, today)
        if item.status in RUNNING:
            # The steady state of a daily sweep: every point before today was sent.
            dates_key = (item.registered_on, due)
            points = points_cache.get(dates_key)
            if points is None:
                points = points_cache[dates_key] = point_dates(
                    Case(registered_on=item.registered_on, due_on=due), calendar
                )
            for point, day in points:
                if day < today:
                    item.past_points.append((point, day))
                elif not item.remind_point:
                    item.remind_point, item.remind_on = point, day
    statuses = Counter(item.status for item in items)
    return {"statuses": dict(statuses)}


def _number(items: list[Incoming], outgoing: list[Incoming]) -> tuple[list[Incoming], dict[tuple[int, str, int], int]]:
    """Ids in registration order across administrations; gapless numbers per register and year."""
    from workflow.calendar import LOCAL_ZONE

    timeline = [(item.moment, 0, item) for item in items] + [
        (item.moment, 1, item) for item in outgoing
    ]  # outgoing letters are registered when the answer is sent
    timeline.sort(key=lambda entry: (entry[0], entry[1]))
    counters: dict[tuple[int, str, int], int] = {}
    ordered = []
    for pk, (moment, outgoing_flag, item) in enumerate(timeline, 1):
        direction = "outgoing" if outgoing_flag else "incoming"
        year = moment.astimezone(LOCAL_ZONE).year
        key = (item.admin, direction, year)
        sequence = counters[key] = counters.get(key, 0) + 1
        item.pk, item.year, item.sequence = pk, year, sequence
        item.number = f"{'D' if outgoing_flag else 'A'}-{year}-{sequence:06d}"
        ordered.append(item)
    return ordered, counters


def generate(n: int, n_admins: int, seed: int, today: date, now_utc: datetime) -> dict[str, Any]:
    from django.db import connection, transaction

    from registry.models import Correspondence, RegisterCounter
    from workflow.models import Case, CaseCopy, CaseEvent, Reminder, Reply

    rng = random.Random(seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    org = _org(n_admins, rng)
    n_in = round(n * INCOMING_SHARE)
    gc.disable()  # millions of live tuples: the cyclic collector would rescan them again and again
    try:
        items = _incoming(n_in, org, today, now_utc, rng)
        decided = _decide(items, org, today, now_utc, rng)
        answered = [item for item in items if item.status in ("answered", "closed", "rejected")]
        letters: list[Incoming] = []
        replies: list[tuple[Incoming, Incoming]] = []
        for request in rng.sample(answered, min(n - n_in, len(answered))):
            assert request.answered_at is not None
            letter = Incoming(
                moment=request.answered_at,
                admin=request.admin,
                registered_on=request.answered_at.date(),
                channel="online" if request.channel == "online" else "counter",
                service=request.service,
                agent=request.agent,
                subject=request.subject,
                sender=request.sender,
                confidential=request.confidential,
            )
            letters.append(letter)
            replies.append((request, letter))
        ordered, counters = _number(items, letters)
        timings["generate_s"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        writer = Writer()
        with transaction.atomic():
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    # A throw-away database filled consistently: skip the per-row foreign-key triggers.
                    cursor.execute("SET LOCAL session_replication_role = replica")
                    cursor.execute("SET LOCAL synchronous_commit = off")
            writer.write(
                RegisterCounter,
                ["administration_id", "direction", "year", "last_number"],
                ((org.admin_ids[a], d, y, last) for (a, d, y), last in counters.items()),
            )
            writer.write(Correspondence, CORRESPONDENCE_COLUMNS, _correspondence_rows(ordered, org, replies))
            writer.write(Case, CASE_COLUMNS, _case_rows(items, org))
            writer.write(CaseEvent, EVENT_COLUMNS, _event_rows(items, org, rng, now_utc))
            writer.write(
                CaseCopy,
                ["case_id", "service_id", "added_at"],
                (
                    (item.pk, item.copy_to, item.moment + timedelta(hours=1))
                    for item in items
                    if item.copy_to is not None
                ),
            )
            writer.write(
                Reminder,
                ["case_id", "point", "user_id", "sent_at", "emailed_at"],
                _reminder_rows(items, org),
            )
            writer.write(
                Reply,
                ["case_id", "kind", "outgoing_id", "items", "created_at", "created_by_id"],
                (
                    (
                        request.pk,
                        "rejection" if request.status == "rejected" else "answer",
                        letter.pk,
                        "[]",
                        letter.moment,
                        request.agent
                        or org.heads[request.admin].get(request.service or 0)
                        or org.clerks[request.admin],
                    )
                    for request, letter in replies
                ),
            )
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence('registry_correspondence', 'id'), %s)", [len(ordered)]
                    )
        timings["load_s"] = time.perf_counter() - t1
        status_counts = decided["statuses"]
        open_cases = sum(status_counts.get(s, 0) for s in OPEN)
        running = sum(status_counts.get(s, 0) for s in RUNNING)
        due_today = sum(1 for item in items if item.remind_on is not None and item.remind_on <= today)
        overdue = sum(1 for item in items if item.status in RUNNING and item.due_on and item.due_on < today)
        per_admin = Counter(item.admin for item in items)
        biggest = per_admin.most_common(1)[0][0]
        big_service = org.services[biggest][BIG_SERVICE]
        in_big_service = sum(1 for item in items if item.admin == biggest and item.service == big_service)
        dataset: dict[str, Any] = {
            "correspondences": len(ordered),
            "incoming": len(items),
            "outgoing": len(letters),
            "administrations": n_admins,
            "services": n_admins * len(SERVICES),
            "staff": n_admins * (1 + 4 * len(SERVICES)),
            "procedures": n_admins * len(PROCEDURES),
            "cases": len(items),
            "status_counts": status_counts,
            "open_cases": open_cases,
            "running_cases": running,
            "overdue_running_cases": overdue,
            "cases_with_a_reminder_due_today": due_today,
            "rows": dict(writer.rows),
            "biggest_administration": {
                "code": org.admin_codes[biggest],
                "incoming": per_admin[biggest],
                "share_pct": round(100 * per_admin[biggest] / len(items), 1),
                "big_service_cases": in_big_service,
            },
            "smallest_administration_incoming": min(per_admin.values()),
            "first_day": min(item.registered_on for item in items).isoformat(),
            "seed": seed,
        }
    finally:
        gc.enable()
    del items, ordered, letters, replies, answered
    gc.collect()
    t2 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")
    timings["vacuum_analyze_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    dataset["build"] = {k: round(v, 1) for k, v in timings.items()}
    dataset["size"] = _sizes()
    return dataset


CORRESPONDENCE_COLUMNS = [
    "id",
    "administration_id",
    "direction",
    "year",
    "sequence",
    "number",
    "channel",
    "registered_at",
    "registered_by_id",
    "sender_account_id",
    "sender_kind",
    "sender_name",
    "sender_identifier",
    "sender_email",
    "sender_address",
    "recipient_service_id",
    "subject",
    "body",
    "confidential",
    "in_reply_to_id",
    "terms",
    "tracking_code",
]

CASE_COLUMNS = [
    "correspondence_id",
    "administration_id",
    "procedure_id",
    "status",
    "service_id",
    "agent_id",
    "registered_on",
    "delay_days",
    "delay_kind",
    "silence_rule",
    "due_on",
    "suspended_on",
    "suspended_days",
    "completion_requested",
    "answered_at",
    "closed_at",
    "updated_at",
    "remind_on",
    "remind_point",
]

EVENT_COLUMNS = ["case_id", "at", "kind", "actor_id", "service_id", "public", "text", "data", "emailed_at"]


def _terms(item: Incoming, cache: dict[tuple[int, date | None], str]) -> str:
    key = (item.procedure, item.due_on)
    text = cache.get(key)
    if text is None:
        if item.procedure >= 0:
            code, _service, delay, silence, _inv, name_ar, name_fr, _subjects = PROCEDURES[item.procedure]
        else:
            code, delay, silence, name_ar, name_fr = "", 60, "none", "", ""
        text = cache[key] = json.dumps(
            {
                "procedure_code": code,
                "procedure_name_ar": name_ar,
                "procedure_name_fr": name_fr,
                "delay_days": delay,
                "delay_kind": "calendar",
                "due_on": item.due_on.isoformat() if item.due_on else "",
                "silence_rule": silence,
            },
            ensure_ascii=False,
        )
    return text


def _correspondence_rows(
    ordered: list[Incoming], org: Org, replies: list[tuple[Incoming, Incoming]]
) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(11)
    reply_to = {id(letter): request.pk for request, letter in replies}
    cache: dict[tuple[int, date | None], str] = {}
    for item in ordered:
        admin_id = org.admin_ids[item.admin]
        kind, name, identifier, email = item.sender
        request_pk = reply_to.get(id(item))
        if request_pk is None:  # incoming
            clerk = org.clerks[item.admin] if item.channel == "counter" else None
            code = "".join(rng.choices(TRACKING_ALPHABET, k=8))
            yield (
                item.pk, admin_id, "incoming", item.year, item.sequence, item.number, item.channel, item.moment,
                clerk, None, kind, name, identifier, email, "", None, item.subject, item.body, item.confidential,
                None, _terms(item, cache), f"{code[:4]}-{code[4:]}",
            )  # fmt: skip
        else:
            yield (
                item.pk, admin_id, "outgoing", item.year, item.sequence, item.number, item.channel, item.moment,
                item.agent, None, kind, name, identifier, email, "", item.service, item.subject, "",
                item.confidential, request_pk, "{}", "",
            )  # fmt: skip


def _case_rows(items: list[Incoming], org: Org) -> Iterator[tuple[Any, ...]]:
    for item in items:
        procedure_id = org.procedures[item.admin][item.procedure] if item.procedure >= 0 else None
        if item.procedure >= 0:
            delay, silence = PROCEDURES[item.procedure][2], PROCEDURES[item.procedure][3]
        else:
            delay, silence = 60, "none"
        updated = item.closed_at or item.answered_at or item.moment
        yield (
            item.pk, org.admin_ids[item.admin], procedure_id, item.status, item.service, item.agent,
            item.registered_on, delay, "calendar", silence, item.due_on, item.suspended_on, 0,
            item.status == "awaiting_completion", item.answered_at, item.closed_at, updated, item.remind_on,
            item.remind_point,
        )  # fmt: skip


def _recipients(item: Incoming, org: Org) -> list[int]:
    people = [org.clerks[item.admin]] if item.service is None else [org.heads[item.admin][item.service]]
    if item.agent is not None and item.agent not in people:
        people.append(item.agent)
    return people


def _sent_at(day: date) -> datetime:
    return datetime.combine(day, dtime(6, 0), UTC)


def _event_rows(items: list[Incoming], org: Org, rng: random.Random, now_utc: datetime) -> Iterator[tuple[Any, ...]]:
    for item in items:
        at = item.moment
        yield (item.pk, at, "registered", None, None, True, "", "{}", None)
        if item.service is not None:
            routed = item.procedure >= 0
            at = min(at + (timedelta(seconds=1) if routed else timedelta(hours=rng.uniform(0.5, 30))), now_utc)
            actor = None if routed else org.clerks[item.admin]
            yield (item.pk, at, "routed" if routed else "assigned", actor, item.service, True, "", "{}", None)
        head = org.heads[item.admin].get(item.service or 0)
        if item.agent is not None:
            at = min(at + timedelta(hours=rng.uniform(1, 48)), now_utc)
            data = json.dumps({"agent_id": item.agent})
            yield (item.pk, at, "agent_assigned", head, item.service, False, "", data, None)
        if item.status in ("in_progress", "awaiting_completion"):
            at = min(at + timedelta(hours=rng.uniform(1, 72)), now_utc)
            yield (item.pk, at, "started", item.agent, item.service, True, "", "{}", None)
        if item.status == "awaiting_completion":
            yield (item.pk, _sent_at(item.suspended_on or item.registered_on), "completion_requested",
                   item.agent, item.service, True, "", "{}", None)  # fmt: skip
        if item.answered_at is not None:
            kind = "rejected" if item.status == "rejected" else "answered"
            yield (item.pk, item.answered_at, kind, item.agent, item.service, True, "", "{}", None)
        if item.closed_at is not None:
            yield (item.pk, item.closed_at, "closed", head, item.service, True, "", "{}", None)
        if item.past_points:
            people = _recipients(item, org)
            for point, day in item.past_points:
                data = json.dumps({"point": point, "users": people})
                yield (item.pk, _sent_at(day), "reminder", None, item.service, False, "", data, None)


def _reminder_rows(items: list[Incoming], org: Org) -> Iterator[tuple[Any, ...]]:
    for item in items:
        if not item.past_points:
            continue
        people = _recipients(item, org)
        for point, day in item.past_points:
            sent = _sent_at(day)
            for user_id in people:
                yield (item.pk, point, user_id, sent, sent + timedelta(minutes=2))


def _sizes() -> dict[str, Any]:
    from django.db import connection

    tables = [
        "registry_correspondence",
        "workflow_case",
        "workflow_caseevent",
        "workflow_casecopy",
        "workflow_reminder",
        "workflow_reply",
    ]
    sizes: dict[str, Any] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            sizes["database_mb"] = round(cursor.fetchone()[0] / 1e6)
            for table in tables:
                cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
                data, indexes = cursor.fetchone()
                sizes[table] = {"data_mb": round(data / 1e6), "indexes_mb": round(indexes / 1e6)}
        else:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            sizes["database_mb"] = round(pages * cursor.fetchone()[0] / 1e6)
    return sizes


# ---------------------------------------------------------------- measurements


def _percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class CpuWindow:
    """CPU seconds of this process, of the database server, and of the whole machine over a phase.

    What the machine spent beyond this process and the database server is someone else's: the
    figures are then pessimistic, and the report says so.
    """

    def __init__(self, db_pid: int | None) -> None:
        self.db_pid = db_pid
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float, float]:
        from bench import procstat

        busy, total = procstat.machine_cpu()
        db = procstat.tree_cpu_seconds(self.db_pid) if self.db_pid else 0.0
        return time.perf_counter(), time.process_time(), db, busy, total

    def stop(self) -> dict[str, float]:
        wall0, own0, db0, busy0, total0 = self.start
        wall1, own1, db1, busy1, total1 = self._sample()
        capacity = max(total1 - total0, 1e-9)
        own, db, busy = own1 - own0, db1 - db0, busy1 - busy0
        return {
            "wall_s": round(wall1 - wall0, 2),
            "benchmark_cpu_s": round(own, 2),
            "db_cpu_s": round(db, 2),
            "machine_busy_pct": round(100 * busy / capacity, 1),
            "other_pct": round(100 * max(0.0, busy - own - db) / capacity, 1),
        }


def _db_pid() -> int | None:
    from urllib.parse import urlparse

    from bench import procstat

    url = os.environ.get("WASL_DATABASE_URL", "")
    return procstat.find_listener_pid(urlparse(url).port or 5432) if url.startswith("postgres") else None


def _quiet(max_wait: float) -> float:
    """Wait up to ``max_wait`` s for other work on the machine to stop; the busy % last seen."""
    from bench.run import wait_quiet

    return round(wait_quiet(max_wait), 1) if max_wait > 0 else -1.0


class StatementMeter:
    """Counts and times the SQL statements Django runs (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any, float]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, params, (time.perf_counter() - t0) * 1000))


def _variants(code: str) -> list[dict[str, Any]]:
    from tenancy.models import Administration, Membership, Service

    administration = Administration.objects.get(code=code)
    service = Service.objects.get(administration=administration, code=BIG_SERVICE)
    directorate = Service.objects.get(administration=administration, code=DIRECTORATE)
    members = Membership.objects.filter(administration=administration).select_related("user")
    head = members.get(service=service, role="head").user
    agent = members.filter(service=service, role="agent").order_by("user__email").first()
    clerk = members.get(role="clerk").user
    director = members.get(service=directorate, role="head").user
    assert agent is not None
    s = f"&service={service.pk}"
    return [
        {
            "name": f"head of {BIG_SERVICE}, service filter",
            "key": "head",
            "user": head,
            "queries": [f"box={b}{s}" for b in ("in_progress", "due_soon", "overdue", "done")]
            + [f"box=in_progress{s}&sort=-registered", f"box=in_progress{s}&page=2"],
        },
        {
            "name": f"agent of {BIG_SERVICE}, only mine",
            "key": "agent",
            "user": agent.user,
            "queries": [f"box={b}&mine=on" for b in ("in_progress", "due_soon", "overdue", "done")],
        },
        {
            "name": "clerk, to assign",
            "key": "clerk",
            "user": clerk,
            "queries": ["box=to_assign", "box=to_assign&sort=-registered", "box=to_assign&page=2"],
        },
        {
            "name": f"head of {DIRECTORATE} (its {len(SERVICES) - 2} services), no filter",
            "key": "director",
            "user": director,
            "queries": [f"box={b}" for b in ("in_progress", "due_soon", "overdue")],
        },
    ]


def _box_size(user: Any, code: str, query: str) -> int:
    """How many cases the page's box holds (its paginator's count), outside the timing."""
    from urllib.parse import parse_qs

    from core.clock import now
    from tenancy.models import Administration
    from workflow import selectors as wf
    from workflow.access import scope_of
    from workflow.calendar import local_date
    from workflow.services import calendar_for

    params = {k: v[0] for k, v in parse_qs(query).items()}
    administration = Administration.objects.get(code=code)
    scope = scope_of(user, administration)
    today = local_date(now())
    soon = wf.due_soon_limit(calendar_for(administration), today)
    cases = wf.inbox(
        scope,
        params.get("box", "in_progress"),
        today=today,
        soon=soon,
        service_id=int(params["service"]) if "service" in params else None,
        mine=params.get("mine") == "on",
    )
    return cases.count()


def measure_inbox(code: str, rounds: int, quiet_wait: float = 0.0) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    url = reverse("desk:inbox", args=[code])
    results: list[dict[str, Any]] = []
    slow: list[tuple[float, str, str, Any, str]] = []
    for variant in _variants(code):
        client = Client()
        client.force_login(variant["user"])
        queries: list[str] = variant["queries"]
        for q in queries * 2:  # warm-up: connection, templates, translations, caches
            response = client.get(f"{url}?{q}")
            if response.status_code != 200:
                raise SystemExit(f"bench.desk: {url}?{q} answered {response.status_code}")
        busy_before = _quiet(quiet_wait)
        window = CpuWindow(_db_pid())
        per_query: dict[str, list[tuple[float, int, float]]] = {q: [] for q in queries}
        statement_ms: dict[str, dict[int, list[float]]] = {q: {} for q in queries}
        last_sql: dict[str, list[tuple[str, Any]]] = {}
        for i in range(rounds):
            q = queries[i % len(queries)]
            meter = StatementMeter()
            with connection.execute_wrapper(meter):
                t0 = time.perf_counter()
                response = client.get(f"{url}?{q}")
                wall = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200
            per_query[q].append((wall, len(meter.statements), sum(ms for _s, _p, ms in meter.statements)))
            for index, (_sql, _params, ms) in enumerate(meter.statements):
                statement_ms[q].setdefault(index, []).append(ms)
            last_sql[q] = [(sql, params) for sql, params, _ms in meter.statements]
        cpu = window.stop()
        cpu["busy_before_pct"] = busy_before
        walls = [w for rows in per_query.values() for w, _n, _s in rows]
        counts = [n for rows in per_query.values() for _w, n, _s in rows]
        sql_ms = [s for rows in per_query.values() for _w, _n, s in rows]
        combos = []
        for q in queries:
            rows = per_query[q]
            if not rows:  # fewer rounds than pages: this page was not measured
                continue
            slowest = max(statement_ms[q].items(), key=lambda kv: statistics.median(kv[1]))
            index, times = slowest
            sql, params = last_sql[q][index]
            slow.append((statistics.median(times), variant["name"], q, params, sql))
            combos.append(
                {
                    "query": q,
                    "box_size": _box_size(variant["user"], code, q),
                    "requests": len(rows),
                    "p50_ms": round(statistics.median(w for w, _n, _s in rows), 1),
                    "p95_ms": round(_percentile([w for w, _n, _s in rows], 95), 1),
                    "queries": max(n for _w, n, _s in rows),
                    "sql_p50_ms": round(statistics.median(s for _w, _n, s in rows), 1),
                    "slowest_statement": _summary(sql),
                    "slowest_statement_p50_ms": round(statistics.median(times), 1),
                }
            )
        results.append(
            {
                "statements": [_summary(sql) for sql, _params in last_sql[queries[0]]],
                "name": variant["name"],
                "key": variant["key"],
                "user": variant["user"].email,
                "requests": len(walls),
                "p50_ms": round(statistics.median(walls), 1),
                "p95_ms": round(_percentile(walls, 95), 1),
                "max_ms": round(max(walls), 1),
                "queries_min": min(counts),
                "queries_max": max(counts),
                "sql_p50_ms": round(statistics.median(sql_ms), 1),
                "combos": combos,
                "cpu": cpu,
            }
        )
        print(
            f"  {variant['name']}: p50 {results[-1]['p50_ms']} ms, p95 {results[-1]['p95_ms']} ms, "
            f"{min(counts)}-{max(counts)} queries",
            file=sys.stderr,
        )
    slow.sort(key=lambda entry: entry[0], reverse=True)
    explained = []
    seen: set[str] = set()
    for median_ms, name, q, params, sql in slow:  # the slowest statement of each user's pages
        if name in seen:
            continue
        seen.add(name)
        explained.append(
            {
                "variant": name,
                "query": q,
                "median_ms": round(median_ms, 1),
                "sql": sql,
                "params": [str(p) for p in params] if params else [],
                "plan": _explain(sql, params),
            }
        )
    return {"url": url, "rounds_per_variant": rounds, "variants": results, "slowest_statements": explained}


def _summary(sql: str) -> str:
    """``SELECT COUNT workflow_case`` and the like: the verb, COUNT when counting, the first table."""
    words = sql.replace("(", " ( ").split()
    verb = words[0].upper() if words else "?"
    keyword = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}.get(verb, "")
    table = ""
    if keyword in words:
        rest = words[words.index(keyword) + 1 :]
        table = next((w.strip('"') for w in rest if w not in ("(", "SELECT")), "")
        if rest and rest[0] == "(":  # FROM (subquery): name the subquery's table
            inner = rest[rest.index("FROM") + 1] if "FROM" in rest else ""
            table = inner.strip('"')
    count = " COUNT" if "COUNT(" in sql.upper().replace(" ", "") else ""
    return f"{verb}{count} {table}".strip()


def _explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())


def measure_sweep(today: date, catch_up_days: int, quiet_wait: float = 0.0) -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    from workflow.models import RUNNING_STATUSES, Case, CaseEvent, Notification, Reminder
    from workflow.reminders import reminders_send

    def state() -> dict[str, int]:
        return {
            "reminders": Reminder.objects.count(),
            "notifications": Notification.objects.count(),
            "events": CaseEvent.objects.count(),
            "tasks": DBTaskResult.objects.count(),
        }

    def run(day: date) -> dict[str, Any]:
        cases = Case.objects.filter(remind_on__lte=day, status__in=RUNNING_STATUSES).count()
        before = state()
        busy_before = _quiet(quiet_wait)
        window = CpuWindow(_db_pid())
        t0 = time.perf_counter()
        sent = reminders_send(today=day)
        seconds = time.perf_counter() - t0
        cpu = window.stop()
        cpu["busy_before_pct"] = busy_before
        after = state()
        return {
            "day": day.isoformat(),
            "seconds": round(seconds, 3),
            "cases": cases,
            "reminders_sent": sent,
            "rows_added": {k: after[k] - before[k] for k in before},
            "cases_left": Case.objects.filter(remind_on__lte=day, status__in=RUNNING_STATUSES).count(),
            "cpu": cpu,
        }

    result = {"first": run(today), "second": run(today)}
    print(f"  sweep: {result['first']['seconds']} s, {result['first']['reminders_sent']} reminders", file=sys.stderr)
    if catch_up_days:
        result["catch_up"] = run(today + timedelta(days=catch_up_days))
        result["catch_up"]["days"] = catch_up_days
    return result


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--correspondences", type=int, default=1_000_000)
    parser.add_argument("--administrations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=240, help="inbox requests per user variant")
    parser.add_argument("--catch-up-days", type=int, default=7, help="also sweep N days later at once (0: no)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each measured phase, wait up to this long for an idle machine",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep-data", action="store_true", help="keep the throw-away data directory")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    commit, changed = code_state()  # the code measured: as it is when the run starts
    data_dir = Path(tempfile.mkdtemp(prefix="wasl-bench-desk-"))
    try:
        _django(data_dir)
        from django.core.management import call_command
        from django.db import connection

        from core.clock import now
        from workflow.calendar import local_date

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        migrate_s = time.perf_counter() - t0
        now_utc = now()
        today = local_date(now_utc)
        print(
            f"== bench.desk on {connection.vendor}: {args.correspondences} correspondences, "
            f"{args.administrations} administrations, today {today}",
            file=sys.stderr,
        )
        dataset = generate(args.correspondences, args.administrations, args.seed, today, now_utc)
        dataset["build"]["migrate_s"] = round(migrate_s, 1)
        print(f"  dataset: {json.dumps(dataset, default=str)}", file=sys.stderr)
        inbox = measure_inbox(dataset["biggest_administration"]["code"], args.rounds, args.quiet_wait)
        sweep = measure_sweep(today, args.catch_up_days, args.quiet_wait)
        result = {
            "database": connection.vendor,
            "database_version": _database_version(),
            "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
            "finished_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "commit": commit,
            "uncommitted_changes": changed,
            "durable": bool(os.environ.get("WASL_PG_DURABLE")) if connection.vendor == "postgresql" else None,
            "today": today.isoformat(),
            "targets": {"inbox_p95_ms": TARGET_INBOX_P95_MS, "sweep_s": TARGET_SWEEP_S},
            "dataset": dataset,
            "inbox": inbox,
            "sweep": sweep,
        }
        text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
        if args.json:
            args.json.write_text(text, encoding="utf-8")
            print(f"wrote {args.json}", file=sys.stderr)
        else:
            print(text)
    finally:
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
