"""The search benchmark's section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.desk.measure import _summary
from bench.report import section_write

BEGIN = "<!-- bench.search: written by `python -m bench.search --report` -->"
END = "<!-- /bench.search -->"
TARGETS_P95_MS = {"postgresql": 50.0, "sqlite": 100.0}
NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def _ok(ok: bool) -> str:
    return "✓" if ok else "✗"


def _machine(run: dict[str, Any]) -> str:
    info = run["machine"]
    return f"{info['cores']} cores ({info['cpu']}), {info['ram']} RAM, Python {info['python']}, Linux {info['kernel']}"


def _commit(run: dict[str, Any]) -> str:
    text = f"`{run['commit']}`" + (" (with uncommitted changes)" if run.get("uncommitted_changes") else "")
    search = run["search"]
    if "commit" in search and (search["commit"], search["uncommitted_changes"]) != (
        run["commit"],
        run.get("uncommitted_changes"),
    ):
        changed = " (with uncommitted changes)" if search["uncommitted_changes"] else ""
        text += f", searches with `{search['commit']}`{changed}"
    return text


SIZES = {
    "entries_mb": "entries table",
    "gin_mb": "GIN index",
    "fts_mb": "FTS5 index",
    "database_mb": "whole database",
}


SETTLED_S = 30


def _idle_slowest(inc: dict[str, Any], key: str) -> str:
    statements = inc.get(key) or []
    if not statements:
        return ""
    slowest = max(statements, key=lambda s: s["ms"])
    return f" (slowest statement: `{_summary(slowest['sql'])}`, {slowest['ms']} ms)"


def _run(run: dict[str, Any]) -> list[str]:
    name = NAMES.get(run["database"], run["database"])
    index, inc, search, data = run["index"], run["incremental"], run["search"], run["dataset"]
    terms, write = index["terms"], index["write"]
    target = run["target_p95_ms"]
    durable = " (fsync on)" if run.get("durable") else ""
    lines = [
        f"### {name}: {_n(index['rows'])} correspondences indexed, run of {run['started_utc']}",
        "",
        f"{run['database_version']}{durable}; measured on {_machine(run)}; commit {_commit(run)}. Dataset: "
        f"{_n(data['correspondences'])} correspondences across {data['administrations']} administrations (the "
        f"biggest, {data['biggest_administration']['code']}, {_n(data['biggest_administration']['incoming'])} "
        f"incoming); subjects {data['text']['subject_avg_chars']} characters on average, texts "
        f"{data['text']['body_avg_chars']} ({data['text']['body_empty_pct']} % empty).",
        "",
        "| | measured | target |",
        "|---|---:|---|",
        f"| search p50 / **p95** / max ({search['queries']} queries × {search['passes']} passes) | "
        f"{search['p50_ms']} / **{search['p95_ms']}** / {search['max_ms']} ms | p95 ≤ {target:.0f} ms "
        f"{_ok(search['p95_ms'] <= target)} |",
        f"| index build: terms ({terms['workers']} processes) + entries written | {terms['wall_s']} s + "
        f"{write['wall_s']} s = **{index['total_s']} s** ({_n(index['rows'] / max(index['total_s'], 0.1))}/s) | — |",
    ]
    if "bulk" in index:
        bulk = index["bulk"]
        lines.append(
            f"| index build, bulk alternative: terms + {bulk['how']} | {terms['wall_s']} s + {bulk['insert_s']} s "
            f"+ {bulk['index_s']} s = {index['bulk_total_s']} s | — |"
        )
    if "rebuild_sample" in index:
        rebuild = index["rebuild_sample"]
        lines.append(
            f"| `index_rebuild` (the product's path, one process), on {_n(rebuild['rows'])} | "
            f"{rebuild['ms_per_1000']} ms per 1,000 (all: ~{_n(rebuild['projected_s'])} s) | — |"
        )
    lines += [
        f"| incremental: `index_sync(limit={inc['limit']})` over {_n(inc['indexed'])} new correspondences | "
        f"**{_n(inc['per_s'])}/s** ({inc['calls']} calls, {inc['wall_s']} s) | — |",
        f"| `index_sync` with nothing to do{_idle_slowest(inc, 'idle_sweep_statements')} | "
        f"{inc['idle_sweep_ms']} ms | — |",
        f"| the same in the {SETTLED_S} s after writing entries, the watermark still {_n(inc['indexed'])} "
        f"below{_idle_slowest(inc, 'idle_sweep_lagging_statements')} | {inc.get('idle_sweep_lagging_ms', '?')} ms "
        "| — |",
        f"| `index_sync` from watermark 0, every entry written (moves the watermark) | "
        f"{inc['sweep_from_watermark_0_ms']} ms | — |",
        "",
        f"Size: {', '.join(f'{SIZES.get(k, k)} {_n(v)} MB' for k, v in index['size'].items())}. Queries capped at "
        f"1,001 results: {search['capped']}; with no result: {search['no_results']}.",
        "",
        "Slowest queries (median of the passes):",
        "",
        "| query | kind | ms | results | slowest statement |",
        "|---|---|---:|---:|---|",
    ]
    for entry in search["slowest"]:
        total = "> 1 000" if entry["capped"] else _n(entry["total"])
        lines.append(
            f"| {entry['query']} | {entry['kind']} | {entry['median_ms']} | {total} | `{entry['slowest_statement']}` |"
        )
    lines += ["", "By kind of query (p50 / max, ms): " + "; ".join(
        f"{kind} {v['p50_ms']} / {v['max_ms']}" for kind, v in search["by_kind"].items()
    ) + "."]  # fmt: skip
    return lines


def section(runs: list[dict[str, Any]]) -> str:
    order = {"postgresql": 0, "sqlite": 1}
    runs = sorted(runs, key=lambda run: order.get(run["database"], 2))
    lines = [
        BEGIN,
        "## Search (`bench/search/`)",
        "",
        "The issue's targets: *with 1 million correspondences (realistic bilingual subjects and bodies), search "
        "p95 ≤ 50 ms on PostgreSQL and ≤ 100 ms on SQLite over a fixed set of 200 queries; index build time and "
        "incremental indexing rate measured on both.* `python -m bench.search --json OUT` per database (see "
        "`bench/search/__init__.py`; also run by `make bench`), then `python -m bench.search --report "
        "docs/benchmarks.md OUT…`. The dataset is the processing desk's (above), each letter with a text of its own "
        "in Arabic, French or both, spelled the ways people write (hamza or not, ة/ه, ى/ي, diacritics, tatweel, "
        "Arabic-Indic digits, French without accents). The build computes every entry's terms with "
        "`search.services.entry_of`, then writes the entries into the index as the migration made it. The 200 "
        "queries (common and rare words, two and three words, spelling variants, prefixes, French with and without "
        "accents, registration numbers, date and register filters) go through `search.selectors.search` as the "
        "clerk of the biggest administration (counting to 1,001, the first page with its marked subjects and "
        "passages, the audit row), after a warm-up pass.",
        "",
    ]
    for run in runs:
        lines += [*_run(run), ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def report(runs: list[dict[str, Any]], path: Path) -> None:
    section_write(path, section(runs), BEGIN, END)
