"""The desk benchmark's dataset: organisations, correspondence and cases, written with COPY."""

from __future__ import annotations

import gc
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from bench.desk.database import Writer, ascii_code
from bench.desk.rows import (
    CASE_COLUMNS,
    CORRESPONDENCE_COLUMNS,
    EVENT_COLUMNS,
    case_rows,
    correspondence_rows,
    event_rows,
    reminder_rows,
    sizes,
)
from bench.desk.vocabulary import (
    BIG_SERVICE,
    BODIES,
    CITIES,
    COMPANIES,
    FIRST_NAMES,
    FREE_SUBJECTS,
    INCOMING_SHARE,
    LAST_NAMES,
    OPEN,
    PROCEDURES,
    RUNNING,
    SERVICES,
    YEARS_BACK_DAYS,
)

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
                    code=f"{kind.upper()[:3]}-{ascii_code(city_fr)}{suffix}"[:40],
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
    from workflow.calendar import LOCAL_ZONE
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
                registered_on=request.answered_at.astimezone(LOCAL_ZONE).date(),
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
            writer.write(Correspondence, CORRESPONDENCE_COLUMNS, correspondence_rows(ordered, org, replies))
            writer.write(Case, CASE_COLUMNS, case_rows(items, org))
            writer.write(CaseEvent, EVENT_COLUMNS, event_rows(items, org, rng, now_utc))
            writer.write(
                CaseCopy,
                ["case_id", "service_id", "added_at", "confidential"],
                (
                    (item.pk, item.copy_to, item.moment + timedelta(hours=1), item.confidential)
                    for item in items
                    if item.copy_to is not None
                ),
            )
            writer.write(
                Reminder,
                ["case_id", "point", "user_id", "sent_at", "emailed_at"],
                reminder_rows(items, org),
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
            # Write the loaded pages out now: otherwise the checkpoint that follows a bulk load
            # runs during the measurements, and they measure its disk writes.
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("ANALYZE")
    timings["vacuum_analyze_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    dataset["build"] = {k: round(v, 1) for k, v in timings.items()}
    dataset["size"] = sizes()
    return dataset
