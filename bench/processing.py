"""Processing-desk benchmark: inbox pages and the reminder sweep on a large register.

    scripts/with-postgres python -m bench.processing --json OUT.json [--correspondences 1000000]

1. A fresh data directory; migrate; generate, with PostgreSQL COPY (SQLite: executemany),
   ``--administrations`` administrations (a few big, most small), 8 services each (central
   ones with children, two decentralised), a clerk, and per service a head and three agents;
   ``--correspondences`` incoming correspondences over two years, each with its case (70 %
   answered or closed, 2 % rejected, the rest open: registered, assigned, in progress,
   awaiting completion, mostly recent, some overdue), two timeline lines per case, and
   copies; open cases carry their next reminder date. Then ANALYZE.
2. Inbox: the real view (``desk:inbox``) through Django's test client with the whole
   middleware stack, signed in as the head of the biggest service, an agent ("only mine"),
   and the clerk ("to assign"), each box in turn: wall time per page (p50/p95/max) and SQL
   queries per page.
3. The reminder sweep for all administrations at once (``reminders_send``): the day's work,
   then the same day again (nothing left to do).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

TODAY = date(2026, 11, 20)
SUBJECTS = [
    "طلب رخصة البناء لقطعة أرضية بالحي الإداري",
    "Demande d'autorisation d'exploitation d'un local commercial",
    "طلب شهادة السكنى",
    "Réclamation concernant l'éclairage public du quartier",
    "طلب الربط بشبكة الماء الصالح للشرب",
    "Demande de copie intégrale d'acte de naissance",
    "طلب رخصة الاحتلال المؤقت للملك العمومي",
    "Demande de certificat de conformité",
]


def _django(data_dir: Path) -> None:
    os.environ["WASL_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("WASL_DEMO", "true")
    os.environ.setdefault("WASL_TASKS", "database")  # tasks are queued for the worker, as in production
    os.environ.setdefault("WASL_CACHE_URL", "locmem://")
    os.environ.setdefault("WASL_ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wasl.settings")
    import django

    django.setup()


def _copy(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def generate(n: int, administrations: int, seed: int = 7) -> dict[str, Any]:
    from django.db import connection, transaction

    from tenancy.models import Administration, Membership, Service, User

    rng = random.Random(seed)
    started = time.perf_counter()
    Role = Membership.Role
    with transaction.atomic():
        admins = Administration.objects.bulk_create(
            [
                Administration(code=f"BENCH-{i:03d}", kind="commune", name_ar=f"جماعة {i}", name_fr=f"Commune {i}")
                for i in range(administrations)
            ]
        )
        services: dict[int, list[Service]] = {}
        for a in admins:
            top = Service.objects.bulk_create(
                [Service(administration=a, code=c, name_ar=c, name_fr=c) for c in ("BO", "DGS")]
            )
            children = Service.objects.bulk_create(
                [
                    Service(administration=a, code=c, name_ar=c, name_fr=c, parent=top[1])
                    for c in ("URB", "EC", "ECO", "TECH")
                ]
                + [
                    Service(administration=a, code=c, name_ar=c, name_fr=c, kind="decentralised")
                    for c in ("ANNEXE-1", "ANNEXE-2")
                ]
            )
            services[a.pk] = [*top, *children]
        users, memberships = [], []
        for a in admins:
            users.append(User(email=f"clerk@{a.code.lower()}.ma", full_name="Clerk", password="!"))
            for s in services[a.pk]:
                users.append(User(email=f"head.{s.code.lower()}@{a.code.lower()}.ma", full_name="Head", password="!"))
                for k in range(3):
                    users.append(
                        User(email=f"agent{k}.{s.code.lower()}@{a.code.lower()}.ma", full_name="Agent", password="!")
                    )
        users = User.objects.bulk_create(users)
        by_email = {u.email: u for u in users}
        agents: dict[int, list[int]] = {}
        for a in admins:
            memberships.append(
                Membership(user=by_email[f"clerk@{a.code.lower()}.ma"], administration=a, role=Role.CLERK)
            )
            for s in services[a.pk]:
                memberships.append(
                    Membership(
                        user=by_email[f"head.{s.code.lower()}@{a.code.lower()}.ma"],
                        administration=a,
                        role=Role.HEAD,
                        service=s,
                    )
                )
                for k in range(3):
                    u = by_email[f"agent{k}.{s.code.lower()}@{a.code.lower()}.ma"]
                    agents.setdefault(s.pk, []).append(u.pk)
                    memberships.append(Membership(user=u, administration=a, role=Role.AGENT, service=s))
        Membership.objects.bulk_create(memberships)

    # A few big administrations, most small (Zipf-like weights).
    weights = [1 / (i + 1) ** 0.8 for i in range(administrations)]
    total = sum(weights)
    counts = [int(n * w / total) for w in weights]
    counts[0] += n - sum(counts)
    next_id = 1
    c_rows: list[tuple[Any, ...]] = []
    case_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    copy_rows: list[tuple[Any, ...]] = []
    counter_rows: list[tuple[Any, ...]] = []
    start = datetime(2024, 11, 21, 8, 0, tzinfo=UTC)
    span = (datetime(2026, 11, 20, 17, 0, tzinfo=UTC) - start).total_seconds()
    for a, count in zip(admins, counts, strict=True):
        moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
        seq_by_year: dict[int, int] = {}
        handling = services[a.pk][1:]
        for moment in moments:
            year = moment.year
            seq = seq_by_year[year] = seq_by_year.get(year, 0) + 1
            cid = next_id
            next_id += 1
            subject = rng.choice(SUBJECTS)
            c_rows.append(
                (
                    cid,
                    a.pk,
                    "incoming",
                    year,
                    seq,
                    f"A-{year}-{seq:06d}",
                    "online",
                    moment,
                    "person",
                    f"مواطن {cid}",
                    "",
                    "",
                    "",
                    subject,
                    "",
                    False,
                    "{}",
                    "",
                )
            )
            registered_on = moment.date()
            due_on = registered_on + timedelta(days=60)
            age = (TODAY - registered_on).days
            r = rng.random()
            if age > 75:
                status = "closed" if r < 0.6 else "answered" if r < 0.96 else "rejected" if r < 0.99 else "in_progress"
            else:
                status = rng.choice(
                    [
                        "registered",
                        "assigned",
                        "assigned",
                        "in_progress",
                        "in_progress",
                        "in_progress",
                        "awaiting_completion",
                        "answered",
                    ]
                )
            service = None if status == "registered" else rng.choice(handling)
            agent = rng.choice(agents[service.pk]) if service is not None and status != "assigned" else None
            running = status in ("registered", "assigned", "in_progress")
            remind_on, point = None, ""
            if running:
                for name, day in (
                    ("half", registered_on + timedelta(days=30)),
                    ("5", due_on - timedelta(days=7)),
                    ("overdue", due_on + timedelta(days=1)),
                ):
                    if day >= TODAY:
                        remind_on, point = day, name
                        break
            case_rows.append(
                (
                    cid,
                    a.pk,
                    None,
                    status,
                    service.pk if service else None,
                    agent,
                    registered_on,
                    60,
                    "calendar",
                    "acceptance" if r < 0.3 else "none",
                    due_on,
                    None,
                    0,
                    False,
                    moment if status in ("answered", "closed", "rejected") else None,
                    None,
                    moment,
                    remind_on,
                    point,
                )
            )
            event_rows.append((cid, moment, "registered", None, None, True, "", "{}", None))
            if service is not None:
                event_rows.append(
                    (cid, moment + timedelta(hours=2), "assigned", None, service.pk, True, "", "{}", None)
                )
                if rng.random() < 0.05:
                    copy_rows.append((cid, rng.choice(handling).pk, moment))
        for year, last in seq_by_year.items():
            counter_rows.append((a.pk, "incoming", year, last))
    with transaction.atomic():
        _copy("registry_registercounter", ["administration_id", "direction", "year", "last_number"], counter_rows)
        _copy(
            "registry_correspondence",
            [
                "id",
                "administration_id",
                "direction",
                "year",
                "sequence",
                "number",
                "channel",
                "registered_at",
                "sender_kind",
                "sender_name",
                "sender_identifier",
                "sender_email",
                "sender_address",
                "subject",
                "body",
                "confidential",
                "terms",
                "tracking_code",
            ],
            c_rows,
        )
        _copy(
            "workflow_case",
            [
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
            ],
            case_rows,
        )
        _copy(
            "workflow_caseevent",
            ["case_id", "at", "kind", "actor_id", "service_id", "public", "text", "data", "emailed_at"],
            event_rows,
        )
        _copy("workflow_casecopy", ["case_id", "service_id", "added_at"], copy_rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('registry_correspondence', 'id'), %s)", [next_id])
        cursor.execute("ANALYZE")
    biggest = max(counts)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "correspondences": len(c_rows),
        "events": len(event_rows),
        "copies": len(copy_rows),
        "biggest_administration": biggest,
        "open_cases": sum(
            1 for row in case_rows if row[3] in ("registered", "assigned", "in_progress", "awaiting_completion")
        ),
        "first": admins[0].code,
    }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure_inbox(code: str, rounds: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tenancy.models import Membership, Service

    service = Service.objects.get(administration__code=code, code="URB")
    head = Membership.objects.get(service=service, role="head").user
    agent = Membership.objects.filter(service=service, role="agent").first().user  # type: ignore[union-attr]
    clerk = Membership.objects.get(administration__code=code, role="clerk").user
    variants = {
        "head, service inbox": (
            head,
            [f"?box={b}&service={service.pk}" for b in ("in_progress", "due_soon", "overdue", "done")],
        ),
        "agent, only mine": (agent, [f"?box={b}&mine=on" for b in ("in_progress", "due_soon", "overdue")]),
        "clerk, whole administration": (clerk, [f"?box={b}" for b in ("to_assign", "in_progress", "overdue")]),
    }
    results: dict[str, Any] = {}
    for name, (user, queries) in variants.items():
        client = Client()
        client.force_login(user)
        url = f"/desk/{code}/inbox/"
        for q in queries:  # warm up
            assert client.get(url + q).status_code == 200
        times, counts = [], []
        for i in range(rounds):
            q = queries[i % len(queries)]
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                response = client.get(url + q)
                times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
            counts.append(len(captured.captured_queries))
        results[name] = {
            "requests": rounds,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(_percentile(times, 95), 1),
            "max_ms": round(max(times), 1),
            "queries": max(counts),
        }
    return results


def measure_sweep() -> dict[str, Any]:
    from workflow.models import Reminder
    from workflow.reminders import reminders_send

    t0 = time.perf_counter()
    sent = reminders_send(today=TODAY)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = reminders_send(today=TODAY)
    second = time.perf_counter() - t0
    return {
        "first_run_s": round(first, 2),
        "reminders": sent,
        "rows": Reminder.objects.count(),
        "second_run_s": round(second, 3),
        "second_run_reminders": again,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--correspondences", type=int, default=1_000_000)
    parser.add_argument("--administrations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=240)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="wasl-bench-desk-"))
    _django(data_dir)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    print(f"generating {args.correspondences} correspondences on {connection.vendor}…", file=sys.stderr)
    dataset = generate(args.correspondences, args.administrations)
    print(f"dataset: {dataset}", file=sys.stderr)
    inbox = measure_inbox(dataset["first"], args.rounds)
    print(f"inbox: {json.dumps(inbox)}", file=sys.stderr)
    sweep = measure_sweep()
    print(f"sweep: {sweep}", file=sys.stderr)
    import platform
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        version = str(cursor.fetchone()[0]).split(" on ")[0]
    result = {
        "database": connection.vendor,
        "database_version": version,
        "commit": commit,
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "inbox": inbox,
        "sweep": sweep,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
