"""The "Processing desk" section of docs/benchmarks.md, from bench/desk/ results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.fmt import read_json, verdict

TARGET_DESK_P95_MS = 50.0  # an inbox page with its counts, 1 M correspondences on PostgreSQL
TARGET_DESK_SWEEP_S = 5.0  # the reminder sweep for all administrations

DESK_BEGIN = "<!-- bench.desk: written by `python -m bench.report` from bench/desk/ results -->"
DESK_END = "<!-- /bench.desk -->"
DESK_LABELS = [("postgresql", "PostgreSQL"), ("sqlite", "SQLite")]


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _cpu_note(cpu: dict[str, Any] | None) -> str:
    if not cpu:
        return "–"
    return f"{cpu['other_pct']:.0f} %"


def _desk_run(run: dict[str, Any], title: str) -> list[str]:
    data = run["dataset"]
    build = data["build"]
    statuses = data["status_counts"]
    cases = max(data["cases"], 1)
    rows = data["rows"]
    big = data["biggest_administration"]
    size = data.get("size", {})
    machine_info = run["machine"]
    code = f"commit {run['commit']}"
    if run.get("uncommitted_changes"):
        code += f", with uncommitted changes to {', '.join(run['uncommitted_changes'])}"
    durable = " (fsync on)" if run.get("durable") else (" (fsync off)" if run["database"] == "postgresql" else "")
    smaller = " (a smaller scale than the target's)" if data["correspondences"] < 1_000_000 else ""
    lines = [f"### {title}: {_n(data['correspondences'])} correspondences{smaller}, run of {run['started_utc']}\n"]
    lines.append(
        f"- Machine: {machine_info['cpu']}, {machine_info['cores']} cores, {machine_info['ram']} RAM, "
        f"Linux {machine_info['kernel']}; Python {machine_info['python']}, {run['database_version']}{durable}."
    )
    lines.append(f"- Code: {code}. Dataset's day (and the sweep's): {run['today']}.")
    order = ["answered", "closed", "rejected", "registered", "assigned", "in_progress", "awaiting_completion"]
    shares = ", ".join(f"{s.replace('_', ' ')} {100 * statuses.get(s, 0) / cases:.0f} %" for s in order)
    lines.append(
        f"- Dataset: {_n(data['correspondences'])} correspondences ({_n(data['incoming'])} incoming, each with its "
        f"case; {_n(data['outgoing'])} outgoing answer letters) across {data['administrations']} administrations "
        f"(biggest {big['code']}: {_n(big['incoming'])} incoming, {big['share_pct']:.0f} %; smallest "
        f"{_n(data['smallest_administration_incoming'])}), {data['services']} services, {_n(data['staff'])} staff, "
        f"{data['procedures']} procedures; registered from {data['first_day']}. Cases: {shares}; "
        f"{_n(data['running_cases'])} with the clock running, {_n(data['overdue_running_cases'])} of them overdue. "
        f"{_n(rows.get('workflow_caseevent', 0))} timeline lines, {_n(rows.get('workflow_casecopy', 0))} copies, "
        f"{_n(rows.get('workflow_reminder', 0))} reminders already sent, {_n(rows.get('workflow_reply', 0))} replies."
    )
    sized = f"; database {_n(size['database_mb'])} MB" if size.get("database_mb") else ""
    lines.append(
        f"- Built in {build['total_s'] + build.get('migrate_s', 0):.0f} s: migrate {build.get('migrate_s', 0):.0f} s, "
        f"generate {build['generate_s']:.0f} s, write ({'COPY' if run['database'] == 'postgresql' else 'executemany'}) "
        f"{build['load_s']:.0f} s, {'VACUUM ANALYZE' if run['database'] == 'postgresql' else 'ANALYZE'} "
        f"{build['vacuum_analyze_s']:.0f} s{sized}."
    )
    lines.append("")

    inbox = run["inbox"]
    lines.append(f"#### Inbox pages ({big['code']}, `{inbox['url']}`)\n")
    lines.append(
        "| signed in as | requests | p50 ms | p95 ms | max ms | SQL statements per page | time in SQL, p50 ms "
        "| other processes | p95 ≤ 50 ms |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for v in inbox["variants"]:
        queries = (
            str(v["queries_max"]) if v["queries_min"] == v["queries_max"] else f"{v['queries_min']}–{v['queries_max']}"
        )
        lines.append(
            f"| {v['name']} | {v['requests']} | {v['p50_ms']:.1f} | **{v['p95_ms']:.1f}** | {v['max_ms']:.1f} "
            f"| {queries} | {v['sql_p50_ms']:.1f} | {_cpu_note(v.get('cpu'))} | {verdict(v['p95_ms'] <= TARGET_DESK_P95_MS)} |"
        )
    lines.append("")
    lines.append(
        "| signed in as | page (query string) | cases in the box | p50 ms | p95 ms | SQL p50 ms | slowest statement, p50 ms |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---|")
    for v in inbox["variants"]:
        for c in v["combos"]:
            lines.append(
                f"| {v['key']} | `{c['query']}` | {_n(c['box_size'])} | {c['p50_ms']:.1f} | {c['p95_ms']:.1f} "
                f"| {c['sql_p50_ms']:.1f} | `{c['slowest_statement']}` {c['slowest_statement_p50_ms']:.1f} |"
            )
    first = inbox["variants"][0] if inbox["variants"] else None
    if first and first.get("statements"):
        lines.append(
            f"\nThe {len(first['statements'])} SQL statements of one page ({first['name']}, "
            f"`{first['combos'][0]['query']}`), in order: "
            + "; ".join(f"{i}. `{s}`" for i, s in enumerate(first["statements"], 1))
            + "."
        )
    slow = inbox.get("slowest_statements") or []
    if slow:
        top = slow[0]
        plan = top["plan"].splitlines()
        shown = plan[:30] + ([f"… ({len(plan) - 30} more lines)"] if len(plan) > 30 else [])
        if len(slow) > 1:
            lines.append(
                "\nThe slowest statement of each user's pages (p50): "
                + "; ".join(f"{s['variant']}, `{s['query']}`: {s['median_ms']:.1f} ms" for s in slow)
                + ". Plans of all of them are in the JSON results (`inbox.slowest_statements`)."
            )
        lines.append(
            f"\nThe slowest statement ({top['variant']}, `{top['query']}`, {top['median_ms']:.1f} ms p50), "
            "as the database ran it again ("
            + ("`EXPLAIN (ANALYZE, BUFFERS)`" if run["database"] == "postgresql" else "`EXPLAIN QUERY PLAN`")
            + "):\n"
        )
        lines.append("```\n" + "\n".join(shown) + "\n```")
    lines.append("")

    sweep = run["sweep"]
    lines.append("#### Reminder sweep (`reminders_send`, all administrations)\n")
    lines.append(
        "| run | day | cases due | reminders sent | seconds | rows added: reminders / notifications / timeline / tasks "
        "| other processes |"
    )
    lines.append("|---|---|---:|---:|---:|---|---:|")
    labels = [
        ("first", "the day's work"),
        ("second", "same day again (idempotence)"),
        ("catch_up", "a week later at once (catch-up)"),
    ]
    for key, label in labels:
        r = sweep.get(key)
        if not r:
            continue
        added = r["rows_added"]
        lines.append(
            f"| {label} | {r['day']} | {_n(r['cases'])} | {_n(r['reminders_sent'])} | **{r['seconds']:.2f}** "
            f"| {_n(added['reminders'])} / {_n(added['notifications'])} / {_n(added['events'])} / {_n(added['tasks'])} "
            f"| {_cpu_note(r.get('cpu'))} |"
        )

    def busy(cpu: dict[str, Any] | None) -> bool:  # phases under a second are too short to tell
        return cpu is not None and cpu["other_pct"] > 10 and cpu["wall_s"] >= 1

    noisy = [v["key"] for v in inbox["variants"] if busy(v.get("cpu"))] + [
        f"sweep ({label})" for key, label in labels if busy(sweep.get(key, {}).get("cpu"))
    ]
    if noisy:
        lines.append(
            f"\n**Other processes used more than 10 % of the machine while measuring {', '.join(noisy)}: "
            "those figures are pessimistic; run again on an idle machine.**"
        )
    lines.append("")
    return lines


def desk_section(results: Path) -> str:
    """The "Processing desk" section from ``desk-<database>.json`` in RESULTS_DIR; "" when there is none."""
    runs = [(title, read_json(results / f"desk-{label}.json")) for label, title in DESK_LABELS]
    present = [(title, run) for title, run in runs if run]
    if not present:
        return ""
    lines = [DESK_BEGIN, "## Processing desk (`bench/desk/`)\n"]
    lines.append(
        "The issue's target: *with 1 million correspondences across 50 administrations on PostgreSQL, a service "
        "inbox page and its counts render in p95 ≤ 50 ms; the overdue sweep for all administrations runs in ≤ 5 s.* "
        "`scripts/bench` runs `python -m bench.desk` under `scripts/with-postgres` (fsync on; "
        "`BENCH_DESK_SIZE` correspondences, 1000000 by default, 0 to skip; `BENCH_DESK_SQLITE_SIZE` for a "
        "SQLite run, none by default). Alone: `WASL_PG_DURABLE=1 scripts/with-postgres .venv/bin/python -m "
        "bench.desk --json /tmp/desk-postgresql.json`, then `python -m bench.report --desk DIR docs/benchmarks.md` "
        "rewrites only this section.\n"
    )
    lines.append(
        "How: the dataset is written straight into the tables (PostgreSQL `COPY`), not through the registration "
        "service, in registration order across administrations (one administration's rows are spread over the "
        "tables, as in a live database): administrations of uneven size (Zipf-like), 8 services each (a mail "
        "office, a directorate with 4 central services and 2 decentralised annexes under it), a clerk and per "
        "service a head and 3 agents; 92 % incoming correspondences with their case, 8 % outgoing answer letters; "
        "gapless numbers per administration, register and year, matching the register counters; case status by "
        "age (recent ones mostly open, a backlog of old open ones), due date from the application's calendar; "
        "the reminder schedule is the steady state of a daily sweep (earlier points sent, `remind_on` the next "
        "one). Receipts, attachments, audit and register-log rows are not generated: nothing measured reads them. "
        "Then `VACUUM ANALYZE` and a `CHECKPOINT` (so that the load's writes are not flushed while measuring). "
        "Inbox pages go through Django's test client, so the whole middleware stack "
        "(session, authentication, CSRF, locale, CSP) and the real view and templates, signed in with "
        "`force_login`; each user cycles through a fixed list of pages (boxes, orders, page 2); wall time per "
        "page, after a warm-up. The sweep runs in the same process on the dataset's day. Before each measured "
        "phase the benchmark waits up to a minute for other work on the machine to stop; *other processes* is "
        "the share of the machine used by neither the benchmark nor the database server while measuring.\n"
    )
    lines.append("### Targets\n")
    lines.append("| Target | Measured | |")
    lines.append("|---|---|---|")
    pg = next((run for title, run in present if run["database"] == "postgresql"), None)
    if pg is None:
        lines.append("| PostgreSQL targets | not measured (no PostgreSQL server binaries) | **not met** |")
    else:
        variants = pg["inbox"]["variants"]
        worst = max(variants, key=lambda v: v["p95_ms"])
        each = "; ".join(f"{v['key']} {v['p95_ms']:.0f} ms" for v in variants)
        scale = f"{_n(pg['dataset']['correspondences'])} correspondences, {pg['dataset']['administrations']} administrations"
        lines.append(
            f"| inbox page with its counts, p95 ≤ {TARGET_DESK_P95_MS:g} ms (PostgreSQL, {scale}) "
            f"| worst p95 {worst['p95_ms']:.0f} ms ({worst['name']}); {each} "
            f"| {verdict(all(v['p95_ms'] <= TARGET_DESK_P95_MS for v in variants))} |"
        )
        first, second = pg["sweep"]["first"], pg["sweep"]["second"]
        lines.append(
            f"| overdue sweep for all administrations ≤ {TARGET_DESK_SWEEP_S:g} s | {first['seconds']:.2f} s "
            f"({_n(first['reminders_sent'])} reminders for {_n(first['cases'])} cases); the same day again: "
            f"{second['seconds']:.2f} s, {second['reminders_sent']} sent "
            f"| {verdict(first['seconds'] <= TARGET_DESK_SWEEP_S and second['reminders_sent'] == 0)} |"
        )
    lines.append("")
    for title, run in present:
        lines.extend(_desk_run(run, title))
    lines.append(DESK_END)
    return "\n".join(lines) + "\n"


def splice_desk(document: str, section: str) -> str:
    """``document`` with its processing-desk section replaced by ``section`` (appended when absent)."""
    start = document.find(DESK_BEGIN)
    if start < 0:
        return document.rstrip() + "\n\n" + section if section else document
    end = document.find(DESK_END, start)
    end = len(document) if end < 0 else end + len(DESK_END)
    rest = document[end:].lstrip("\n")
    before = document[:start].rstrip() + "\n\n"
    return before + section + ("\n" + rest if rest else "") if section else before.rstrip() + "\n" + rest
