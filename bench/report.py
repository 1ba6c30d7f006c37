"""Write docs/benchmarks.md from the JSON files of one ``scripts/bench`` run.

    python -m bench.report RESULTS_DIR OUTPUT.md

RESULTS_DIR holds ``receipt.json`` (bench.receipt_cpu), ``<label>.json`` (bench.run) and
``profile-<label>.json`` (bench.profile_deposit) for each database that was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.desk.section import DESK_BEGIN, DESK_END, desk_section, splice_desk
from bench.fmt import decimal, read_json, statement, verdict

TARGET_RATE = 150.0  # deposits/s sustained on PostgreSQL
TARGET_P95_MS = 150.0  # at 32 clients
TARGET_RECEIPT_CPU_MS = 10.0
LABELS = [("postgresql", "PostgreSQL"), ("sqlite", "SQLite")]

INTRO = """\
# Benchmarks

`make bench` (that is, `scripts/bench`) measures, on the machine it runs on:

1. **Deposits**: `POST /api/v1/deposits` against a real server, `gunicorn wasl.wsgi:application`
   with gthread workers, once on SQLite and once on a throw-away PostgreSQL with fsync on
   (`scripts/with-postgres`, `WASL_PG_DURABLE=1`). Each request is multipart: recipient, an Arabic
   subject, a body and one ~200 KB PDF; every deposit is registered, its receipt is rendered,
   sealed and timestamped in the request (the response says `receipt_status: "issued"`), and its
   e-mail is queued as a task row. **No task worker runs during the measurement.** Clients are an
   asyncio HTTP/1.1 load generator with keep-alive connections (`bench/loadgen.py`), one user and
   API token per client, on the same machine (it shares the cores with the server). Every
   deposit carries a distinct PDF (a serial number is stamped into the file's padding), so each
   one is stored. For 1, 8 and 32 concurrent clients: a short warm-up, then a fixed measured
   window; only 201 responses count as deposits, anything else is an error. Latency is per
   request, send to last byte. Afterwards the database is checked: one correspondence per 201,
   numbers consecutive with no gap, every receipt issued, one e-mail task queued per deposit.
2. **Receipt CPU**: `registry.receipts.receipt_render_and_seal()` in-process, `time.process_time()`
   per call, each call for a different registered correspondence (Typst memoises layout, so
   rendering identical data again is cheaper and would flatter the figure); and its parts
   `render_pdf("receipt", data)` and `seal_pdf(...)` (`bench/receipt_cpu.py`).
3. **CPU per deposit, by step**: the WSGI application called in-process on one thread, with
   light wrappers adding up the thread CPU time of each step (`bench/profile_deposit.py`).

Run it with `make bench` (3–5 minutes; it rewrites this file). Keep the machine otherwise idle:
before each level the benchmark waits up to 20 s for other work to stop, then goes on and says so
in the table. Pieces can be run alone: `python -m bench.run --label sqlite --json /tmp/s.json`,
`python -m bench.receipt_cpu`, `python -m bench.profile_deposit`; `bench/run.py --help` lists the
options (levels, duration, workers, threads, and `--py-spy` to sample the server while it runs).
Figures move by ±10–30 % between runs on shared virtual machines; the CPU columns show whether
something else was using the machine ("other processes").

Reading the figures: once the cores are busy, deposits/s ≈ cores × 1000 / (server CPU + DB server
CPU per deposit, in ms), and by Little's law the median latency at N clients ≈ N / (deposits/s).
A p95 ≤ 150 ms at 32 clients therefore needs well over 200 deposits/s, i.e. under ~9 ms of CPU
per deposit on 2 cores, all included.

Server configuration: 4 gthread workers × 4 threads. On a 2-core machine, 2–6 workers × 1–8
threads all landed within ±15 % of each other at 32 clients (the work is CPU-bound); 4 × 4 was
among the best and the least sensitive to how connections spread: a gthread worker keeps every
keep-alive connection it accepted, and the kernel often hands most of a burst of new
connections to one worker (the "workers' CPU split" column shows it; with 2 threads per worker
and 8 clients that can halve the throughput). Change it with `BENCH_WORKERS` / `BENCH_THREADS`.
"""


def code_state(results: Path | None = None) -> tuple[str, list[str]]:
    """The commit and changed tracked files: as recorded when the run in ``results`` started,
    else as of now."""
    base = Path(__file__).resolve().parent.parent
    commit_file = results / "commit.txt" if results is not None else None
    status_file = results / "status.txt" if results is not None else None
    try:
        if commit_file is not None and status_file is not None and commit_file.exists():
            commit, status = commit_file.read_text().strip(), status_file.read_text() if status_file.exists() else ""
        else:
            commit = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=base, capture_output=True, text=True
            ).stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"], cwd=base, capture_output=True, text=True
            ).stdout
    except OSError:
        return "?", []
    own = ("bench/", "docs/benchmarks.md", "scripts/bench")
    changed = [line[3:] for line in status.splitlines() if line[3:] and not line[3:].startswith(own)]
    return commit or "?", changed


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    try:
        sqlite_version = __import__("sqlite3").sqlite_version
    except ImportError:
        sqlite_version = "?"
    try:
        gunicorn_version = subprocess.run(
            [sys.executable, "-c", "import gunicorn; print(gunicorn.__version__)"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        gunicorn_version = "?"
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite_version,
        "gunicorn": gunicorn_version,
    }


def render(results: Path) -> str:
    receipt = read_json(results / "receipt.json")
    runs = {label: read_json(results / f"{label}.json") for label, _ in LABELS}
    profiles = {label: read_json(results / f"profile-{label}.json") for label, _ in LABELS}
    info = machine()
    cores = int(info["cores"])
    pg = runs.get("postgresql")
    lines = [INTRO]
    date = next((r["started_utc"] for r in runs.values() if r), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    lines.append(f"## Run of {date}\n")
    versions = [f"Python {info['python']}", f"SQLite {info['sqlite']}", f"gunicorn {info['gunicorn']}"]
    if pg:
        versions.insert(1, pg["database_version"])
    lines.append(
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Linux {info['kernel']}; "
        + ", ".join(versions)
        + "."
    )
    commit, changed = code_state(results)
    code = f"- Code: commit {commit}"
    if changed:
        code += f", with uncommitted changes to {', '.join(changed)}"
    lines.append(code + ".")
    server = next((r["server"] for r in runs.values() if r), None)
    if server:
        request = next(r["request"] for r in runs.values() if r)
        if server.get("settings", "wasl.settings") != "wasl.settings":
            lines.append(f"- **Settings variant `{server['settings']}`, not the application's own settings.**")
        lines.append(
            f"- Server: `{server['command']}`, `WASL_DEMO=true` (demo PKI), `WASL_CACHE_URL=locmem://`, "
            "`WASL_TASKS=database`, `WASL_LOG_LEVEL=WARNING`, rate limits raised to 1000000/m. "
            "PostgreSQL: fsync on, `shared_buffers=256MB`; SQLite: WAL, `synchronous=NORMAL`."
        )
        lines.append(
            f"- Load: {request['initial_warmup_s']:g} s warm-up at the highest level, then per level "
            f"{request['warmup_s']:g} s warm-up and {request['duration_s']:g} s measured; PDF of "
            f"{request['pdf_bytes'] // 1000} KB, {request['distinct_documents']} templates with a per-request serial."
        )
    lines.append("")

    # Targets first, plainly.
    lines.append("### Targets\n")
    lines.append("| Target | Measured | |")
    lines.append("|---|---|---|")
    if pg:
        best = max(pg["levels"], key=lambda row: row["deposits_per_s"])
        best_ceiling = max(
            cores * 1000 / (c["server_ms_per_deposit"] + c["db_ms_per_deposit"] + c["loadgen_ms_per_deposit"])
            for c in (row["cpu"] for row in pg["levels"])
        )
        lines.append(
            f"| ≥ {TARGET_RATE:g} deposits/s sustained on PostgreSQL | {best['deposits_per_s']:.1f}/s "
            f"(best level, {best['clients']} clients); the CPU cost per deposit allows at most "
            f"~{best_ceiling:.0f}/s on {cores} idle cores | {verdict(best['deposits_per_s'] >= TARGET_RATE)} |"
        )
        at32 = next((row for row in pg["levels"] if row["clients"] == 32), None)
        if at32:
            lines.append(
                f"| p95 ≤ {TARGET_P95_MS:g} ms at 32 clients (PostgreSQL) | {at32['p95_ms']:.0f} ms "
                f"| {verdict(at32['p95_ms'] <= TARGET_P95_MS and at32['errors'] == 0)} |"
            )
    else:
        lines.append("| PostgreSQL targets | not measured (no PostgreSQL server binaries) | **not met** |")
    if receipt:
        lines.append(
            f"| ≤ {TARGET_RECEIPT_CPU_MS:g} ms CPU to issue one receipt | {receipt['render_and_seal_ms']:.1f} ms "
            f"| {verdict(receipt['render_and_seal_ms'] <= TARGET_RECEIPT_CPU_MS)} |"
        )
    lines.append("")

    for label, title in LABELS:
        run = runs.get(label)
        if not run:
            continue
        lines.append(f"### Deposits on {title} ({run['database_version']})\n")
        lines.append(
            "| clients | deposits/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/deposit "
            "| DB server CPU ms/deposit | CPU ceiling deposits/s | machine busy | other processes | workers' CPU split |"
        )
        lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        in_server = run["database"] == "sqlite"
        for row in run["levels"]:
            cpu = row["cpu"]
            db_cpu = "in server" if in_server else f"{cpu['db_ms_per_deposit']:.1f}"
            per_deposit = cpu["server_ms_per_deposit"] + cpu["db_ms_per_deposit"] + cpu["loadgen_ms_per_deposit"]
            ceiling = cores * 1000 / per_deposit if per_deposit else float("nan")
            other_pct = 100 * cpu["other_s"] / cpu["machine_capacity_s"] if cpu["machine_capacity_s"] else 0
            errors = str(row["errors"])
            if row["errors"]:
                errors += " (" + ", ".join(f"{k}: {v}" for k, v in row["error_kinds"].items()) + ")"
            lines.append(
                f"| {row['clients']} | {row['deposits_per_s']:.1f} | {decimal(row['p50_ms'], 0)} | {decimal(row['p95_ms'], 0)} "
                f"| {decimal(row['p99_ms'], 0)} | {errors} | {cpu['server_ms_per_deposit']:.1f} "
                f"| {db_cpu} | {ceiling:.0f} | {cpu['machine_busy_pct']:.0f} % | {other_pct:.0f} % "
                f"| {'/'.join(str(p) for p in cpu.get('worker_split_pct', []))} % |"
            )
        v = run["verify"]
        status = "passed" if v["ok"] else "**FAILED**"
        lines.append(
            f"\nCheck {status}: {v['expected']} deposits answered 201 (warm-ups included), "
            f"{v['correspondence_rows']} correspondence rows, {v['number_gaps']} gaps and "
            f"{v['number_duplicates']} duplicates in the numbers, {v['receipts_issued']} receipts issued and "
            f"{v['receipts_pending']} pending, {v['email_tasks_queued']} e-mail tasks queued (not run).\n"
        )
        if run.get("server_log_errors"):
            lines.append(f"\nThe server logged {run['server_log_errors']} errors; the log's end:\n")
            lines.append("```\n" + run["server_log_tail"].strip() + "\n```")
        noisy = [
            row["clients"] for row in run["levels"] if row["cpu"]["other_s"] > 0.1 * row["cpu"]["machine_capacity_s"]
        ]
        if noisy:
            lines.append(
                f"**Other processes used more than 10 % of the machine during the levels with "
                f"{', '.join(map(str, noisy))} clients: those figures are pessimistic; run again on an idle machine.**\n"
            )

    if any(runs.values()):
        lines.append(
            "Server CPU is the gunicorn processes' user + system time over the measured window divided by "
            "the deposits in it; *DB server* is the PostgreSQL processes' (SQLite runs inside the server). "
            "*Other processes* is the rest of the machine's busy time, minus the load generator's "
            "(which is about 0.4 ms per deposit). *CPU ceiling* = cores × 1000 / (server + DB server + load "
            "generator CPU ms per deposit): the rate this level's CPU cost allows on an otherwise idle machine, "
            "computed, not measured. The workers' CPU split is each worker's share of the server CPU, largest first.\n"
        )

    if receipt:
        lines.append("### Issuing one receipt (CPU, in-process)\n")
        lines.append("| step | CPU ms per call |")
        lines.append("|---|---:|")
        lines.append(
            f"| `receipt_render_and_seal()`: data + render + seal + timestamp | **{receipt['render_and_seal_ms']:.2f}** |"
        )
        lines.append(f"| · `receipt_data()` (includes the QR code) | {receipt['receipt_data_ms']:.2f} |")
        lines.append(f"| · · `qr_svg()` (segno) | {receipt['qr_svg_ms']:.2f} |")
        lines.append(f'| · `render_pdf("receipt", data)` (Typst) | {receipt["render_pdf_ms"]:.2f} |')
        lines.append(f"| · `seal_pdf()` (PAdES B-T, in-process timestamp) | {receipt['seal_pdf_ms']:.2f} |")
        lines.append(
            f"| `render_pdf` again with identical data (Typst cache hit; not a real case) "
            f"| {receipt['render_pdf_same_data_ms']:.2f} |"
        )
        lines.append(
            f"| first receipt of a process (builds the Typst compiler, loads fonts) | {receipt['first_call_ms']:.0f} |"
        )
        lines.append(
            f"\n{receipt['iterations']:.0f} calls each, after a warm-up; receipt of {receipt['receipt_kb']:.0f} KB. "
            "`bench.seal.measure()` on its own fixed test document: "
            f"`seal_pdf` {receipt['bench_seal_seal_pdf_ms']:.2f} ms, `seal_data` {receipt['bench_seal_seal_data_ms']:.2f} ms, "
            f"`verify_pdf` {receipt['bench_seal_verify_pdf_ms']:.2f} ms, "
            f"`verify_sealed_data` {receipt['bench_seal_verify_data_ms']:.2f} ms.\n"
        )

    for label, title in LABELS:
        profile = profiles.get(label)
        if not profile:
            continue
        lines.append(f"### Where the CPU of one deposit goes ({title}, in-process, one thread)\n")
        lines.append(
            f"{profile['cpu_ms_per_deposit']:.1f} ms of CPU per deposit in the application "
            f"({profile['wall_ms_per_deposit']:.1f} ms wall), over {profile['deposits']} deposits; "
            f"{profile['metered_cpu_ms_per_deposit']:.1f} ms with the step meters below. Since issue #13 a "
            "file's pages and pixels are checked in a reader process (`documents.sandbox`): its CPU is not "
            "this thread's and is not in this table, but it is in "
            "the servers' CPU of the load test above (which counts the workers' descendants).\n"
        )
        lines.append("| step | CPU ms | share | calls |")
        lines.append("|---|---:|---:|---:|")
        for row in profile["steps"]:
            indent = len(row["step"]) - len(row["step"].lstrip(" "))
            name = "· " * (indent // 2) + row["step"].strip()
            if row["calls"]:
                lines.append(f"| {name} | {row['ms']:.2f} | {row['share_pct']:.0f} % | {row['calls']:.0f} |")
            else:
                lines.append(f"| {name} | – | – | not called |")
        lines.append("| *across the request:* | | | |")
        for row in profile["cross"]:
            lines.append(f"| {row['step']} | {row['ms']:.2f} | {row['share_pct']:.0f} % | {row['calls']:.0f} |")
        if profile.get("register_lock_held_p95_ms"):
            held, p50, p95 = (
                profile["register_lock_held_ms"],
                profile["register_lock_held_p50_ms"],
                profile["register_lock_held_p95_ms"],
            )
            lines.append(
                f"\nThe register counter's row stays locked {p50:.1f} ms (p50), {p95:.1f} ms (p95), {held:.1f} ms "
                f"on average per registration (wall, one client, {profile['deposits']} deposits), measured from the "
                "statement that takes the number to the end of the commit: registrations into one register (one "
                f"administration, one direction, one year) cannot exceed ~{1000 / held:.0f}/s, however many cores, "
                "and less when threads wait for the GIL or a core while holding it."
            )
        elif profile.get("register_lock_held_ms"):
            held = profile["register_lock_held_ms"]
            lines.append(
                f"\nThe register counter's row lock is held about {held:.1f} ms (wall, one client) from the number "
                "being taken to the commit: registrations into one register (one administration, one direction, "
                f"one year) cannot exceed ~{1000 / held:.0f}/s, however many cores, and less when threads wait "
                "for the GIL or a core while holding it."
            )
        statements = profile.get("statements", [])
        if statements:
            lines.append(
                f"\nThe {len(statements)} SQL statements of one deposit, in order (commits and PostgreSQL's "
                "connection health check not included): "
                + "; ".join(f"{i}. {statement(sql)}" for i, sql in enumerate(statements, 1))
                + "."
            )
        lines.append("")
    desk = desk_section(results)
    if desk:
        lines.append(desk)
    return "\n".join(lines).rstrip() + "\n"


def splice_section(document: str, text: str, begin: str, end: str) -> str:
    """``document`` with the section between the markers ``begin`` and ``end`` replaced by
    ``text`` (which carries the markers), or ``text`` appended when there is none."""
    start = document.find(begin)
    if start < 0:
        return document.rstrip() + "\n\n" + text
    stop = document.find(end, start)
    stop = len(document) if stop < 0 else stop + len(end)
    rest = document[stop:].lstrip("\n")
    return document[:start] + text + ("\n" + rest if rest else "")


def section_write(path: Path, section: str, begin: str, end: str) -> None:
    """Write ``section`` (from ``begin`` to ``end``) into the benchmarks file at ``path``,
    replacing the one already there or adding it."""
    previous = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    path.write_text(splice_section(previous, section, begin, end), encoding="utf-8")


DATABASES = ("SQLite", "PostgreSQL")


def per_database_section_write(path: Path, begin: str, end: str, head: list[str], database: str, row: str) -> None:
    """Write the section (``begin``, its ``head`` up to its table's rule line, one row a database,
    ``end``) into the benchmarks file at ``path``: this run's ``row`` for ``database``, and the other
    database's row as the section already there has it."""
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    rows = {}
    if begin in previous and end in previous:
        for line in previous.split(begin, 1)[1].split(end, 1)[0].splitlines():
            name = line.split("|")[1].strip() if line.startswith("|") else ""
            if name in DATABASES:
                rows[name] = line
    rows[database] = row
    lines = [begin, *head, *[rows[name] for name in DATABASES if name in rows], end]
    section_write(path, "\n".join(lines) + "\n", begin, end)


def stamped(results: dict[str, Any], commit: str, changed: list[str]) -> dict[str, Any]:
    """``results`` with the machine, the time and the code measured, as the sections print them."""
    info = machine()
    results["machine"] = f"{info['cores']} cores ({info['cpu']}), Python {info['python']}, Linux {info['kernel']}"
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["commit"] = commit + (" (with uncommitted changes)" if changed else "")
    return results


def published(
    results: dict[str, Any], json_path: Path | None, report_path: Path | None, report: Callable[[Any, Path], None]
) -> None:
    """Print ``results``, write them to ``json_path`` and their section into ``report_path``
    (each when given)."""
    text = json.dumps(results, indent=2)
    print(text)
    if json_path:
        json_path.write_text(text)
    if report_path:
        report(results, report_path)


def section_bench_main(
    argv: list[str] | None,
    *,
    description: str | None,
    options: Callable[[argparse.ArgumentParser], None],
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[Any, Path], None],
) -> int:
    """The command line of a benchmark that writes its own section: its ``options``, then
    ``--json OUT`` (the results), ``--report FILE`` (its section of the benchmarks file) and
    ``--from JSON`` (write the section from earlier results, measuring nothing). The results
    are stamped with the machine, the time and the commit measured."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    options(parser)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--from", dest="results", type=Path, help="render --report from this JSON (no measuring)")
    args = parser.parse_args(argv)
    if args.results:
        if args.report:
            report(json.loads(args.results.read_text()), args.report)
        return 0
    commit, changed = code_state()
    published(stamped(measure(args), commit, changed), args.json, args.report, report)
    return 0


SECTION_MARK = "<!-- bench."


def main_part_replaced(previous: str, text: str) -> str:
    """``previous`` with its main part (the deposits, up to the first section written by another
    benchmark) replaced by that of ``text``, and its desk section by ``text``'s when this run
    measured the desk: the other benchmarks' sections, and what was written between them, stay."""
    if SECTION_MARK not in previous:
        return text
    main_part = text[: text.index(DESK_BEGIN)] if DESK_BEGIN in text else text
    document = main_part.rstrip() + "\n\n" + previous[previous.index(SECTION_MARK) :]
    if DESK_BEGIN in text and DESK_END in text:
        desk = text[text.index(DESK_BEGIN) : text.index(DESK_END) + len(DESK_END)]
        document = splice_section(document, desk, DESK_BEGIN, DESK_END)
    return document


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    desk_only = bool(args) and args[0] == "--desk"
    if desk_only:
        args = args[1:]
    if len(args) != 2:
        sys.exit("usage: python -m bench.report [--desk] RESULTS_DIR OUTPUT.md")
    results, output = Path(args[0]), Path(args[1])
    previous = output.read_text(encoding="utf-8") if output.exists() else ""
    if desk_only:
        # Only the processing-desk section: the rest of the file stays as it is.
        section = desk_section(results)
        if not section:
            sys.exit(f"no desk-*.json in {results}")
        output.write_text(splice_desk(previous, section), encoding="utf-8")
    else:
        output.write_text(main_part_replaced(previous, render(results)), encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
