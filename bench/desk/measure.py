"""The desk benchmark's measurements: inbox pages and the reminder sweep."""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from bench.desk.vocabulary import BIG_SERVICE, DIRECTORATE, SERVICES

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

    def __init__(self, db_pid: int | None, *, children: bool = False) -> None:
        self.db_pid = db_pid
        self.children = children  # count this process's children too (worker processes)
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float, float]:
        from bench import procstat

        busy, total = procstat.machine_cpu()
        db = procstat.tree_cpu_seconds(self.db_pid) if self.db_pid else 0.0
        own = procstat.tree_cpu_seconds(os.getpid()) if self.children else time.process_time()
        return time.perf_counter(), own, db, busy, total

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
            # An agent's default view: the whole service's boxes, confidential mail of others hidden.
            "name": f"agent of {BIG_SERVICE}, the service's boxes",
            "key": "agent-service",
            "user": agent.user,
            "queries": [
                "box=in_progress",
                "box=overdue",
                "box=done",
                "box=in_copy",
                "box=in_progress&sort=-registered",
            ],
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
            "queries": [f"box={b}" for b in ("in_progress", "due_soon", "overdue", "done")]
            + ["box=done&sort=-registered"],
        },
    ]


def _box_size(user: Any, code: str, query: str) -> int:
    """How many cases the page's box holds (its paginator's count), outside the timing."""
    from urllib.parse import parse_qs

    from core.clock import now
    from tenancy.access import scope_of
    from tenancy.models import Administration
    from workflow import selectors as wf
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
