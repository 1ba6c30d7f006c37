"""Run the search benchmark: ``python -m bench.search`` (see the package's docstring)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import code_state
from bench.search.section import TARGETS_P95_MS, report


def measure(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    commit, changed = code_state()  # the code measured: as it is when the run starts
    data_dir = Path(tempfile.mkdtemp(prefix="wasl-bench-search-"))
    if args.keep_data:
        print(f"  data directory (kept): {data_dir}", file=sys.stderr)
    try:
        from bench.desk.database import django, run_stamp

        django(data_dir)
        from django.core.management import call_command
        from django.db import connection

        from bench.search import build, queries
        from core.clock import now
        from workflow.calendar import local_date

        call_command("migrate", verbosity=0, interactive=False)
        now_utc = now()
        today = local_date(now_utc)
        total = args.rows + args.incremental
        print(
            f"== bench.search on {connection.vendor}: {total} correspondences ({args.rows} indexed at once, "
            f"{args.incremental} after), {args.administrations} administrations, today {today}",
            file=sys.stderr,
        )
        t0 = time.perf_counter()
        dataset = build.dataset(total, args.administrations, args.seed, today, now_utc)
        print(f"  dataset: {time.perf_counter() - t0:.0f} s, {json.dumps(dataset['text'])}", file=sys.stderr)
        index = build.build(args.rows, args.workers, data_dir, not args.no_bulk_alternative, args.rebuild_sample)
        incremental = build.incremental(args.rows, 1000, args.quiet_wait)
        code = dataset["biggest_administration"]["code"]
        # The code searched with, should it have changed since the start (a long run; selectors
        # are imported by the measurement, not before).
        search_commit, search_changed = code_state()
        search = queries.measure(code, args.seed, today, args.passes, args.quiet_wait, args.explain)
        search["commit"], search["uncommitted_changes"] = search_commit, search_changed
        return {
            **run_stamp(started, commit, changed, today),
            "target_p95_ms": TARGETS_P95_MS[connection.vendor],
            "dataset": dataset,
            "index": index,
            "incremental": incremental,
            "search": search,
        }
    finally:
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="*", type=Path, help="render --report from these JSON results, no measuring")
    parser.add_argument("--rows", type=int, default=1_000_000, help="correspondences indexed at once")
    parser.add_argument("--incremental", type=int, default=5000, help="correspondences indexed after, by index_sync")
    parser.add_argument("--administrations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2, help="processes computing the terms (0: this one)")
    parser.add_argument("--rebuild-sample", type=int, default=10_000, help="index_rebuild's cost on this many")
    parser.add_argument("--no-bulk-alternative", action="store_true", help="skip the bulk alternative of the build")
    parser.add_argument("--passes", type=int, default=2, help="measured passes over the 200 queries")
    parser.add_argument("--explain", type=int, default=3, help="EXPLAIN the slowest statement of this many queries")
    parser.add_argument("--quiet-wait", type=float, default=30.0, help="wait up to this long for an idle machine")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--keep-data", action="store_true", help="keep the throw-away data directory")
    args = parser.parse_args(argv)
    if args.results:
        if not args.report:
            parser.error("results given: say where to --report them")
        runs = [json.loads(path.read_text(encoding="utf-8")) for path in args.results]
    else:
        runs = [measure(args)]
        text = json.dumps(runs[0], indent=2, ensure_ascii=False, default=str)
        if args.json:
            args.json.write_text(text, encoding="utf-8")
            print(f"wrote {args.json}", file=sys.stderr)
        elif not args.report:
            print(text)
    if args.report:
        report(runs, args.report)
        print(f"wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
