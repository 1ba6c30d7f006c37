"""Run the desk benchmark: ``python -m bench.desk`` (see the package's docstring)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.desk.database import django, run_stamp
from bench.desk.dataset import generate
from bench.desk.measure import measure_inbox, measure_sweep
from bench.desk.vocabulary import TARGET_INBOX_P95_MS, TARGET_SWEEP_S
from bench.report import code_state


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
        django(data_dir)
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
            **run_stamp(started, commit, changed, today),
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
