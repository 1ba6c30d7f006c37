"""Where the CPU of one deposit goes: the WSGI application called in-process, one thread.

    python -m bench.profile_deposit [--deposits N] [--json OUT] [--pstats OUT.prof]

Uses the configured database (SQLite in a throw-away data directory by default; run under
``scripts/with-postgres`` for PostgreSQL) and the same settings as ``bench.run``'s server. Each
deposit is a real ``POST /api/v1/deposits`` request (the same bytes the load generator sends)
handed to ``wasl.wsgi.application`` in this process, so middleware, authentication, multipart
parsing, preflight, registration, the receipt and the JSON response are all included; only
gunicorn's socket handling is not.

Two passes: first the plain thread CPU time (``time.thread_time``) per deposit; then the same
with light wrappers around the steps (see ``STEPS``) that add up each step's thread CPU time.
The wrappers cost microseconds, so the second total stays close to the first. ``--pstats`` adds
a third pass under cProfile for a detailed look (cProfile inflates Python code, not native code).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.run import server_env

# (label, "module:attribute" to wrap) in request order; indented labels are parts of the step
# above them. "a|b": the first of these that exists (the code moves; a step that no longer
# exists is reported with 0 calls). Each wrapper adds the thread CPU time of its calls (inclusive), which counts native
# code (Typst, hashing, signatures) and Python code alike, unlike a deterministic profiler.
STEPS: list[tuple[str, str]] = [
    ("authentication (bearer token lookup)", "api.auth:BearerToken.authenticate|api.urls:BearerToken.authenticate"),
    ("rate limit", "api.urls:rate_limit_hit"),
    ("multipart parsing (request.FILES)", "django.http.multipartparser:MultiPartParser.parse"),
    ("preflight: type, SHA-256; pages counted in a reader process", "api.urls:check_files"),
    ("registration", "workflow.services.deposits:_register|api.urls:request_register|api.urls:correspondence_register"),
    ("  store attachment (write + fsync)", "registry.services:store_checked"),
    ("  transaction: number, rows, register log, audit", "registry.services:_register_locked"),
    ("receipt (issue)", "registry.receipts:_issue|registry.receipts:receipt_issue"),
    ("  receipt data (incl. QR code)", "registry.receipts:receipt_data"),
    ("    QR code (segno)", "registry.receipts:qr_svg"),
    ("  render (Typst)", "registry.receipts:render_pdf"),
    ("  seal + timestamp (PAdES B-T)", "trust.sealing:seal_pdf"),
    ("  store receipt (write + fsync)", "documents.storage:store_bytes"),
    ("  enqueue e-mail task (on commit)", "django.tasks.base:Task.enqueue"),
    ("re-read the deposit (deposit_for_owner)", "registry.selectors:deposit_for_owner"),
    ("response body (_deposit_out)", "api.urls:_deposit_out"),
]
# Across the whole request, overlapping the steps above.
CROSS: list[tuple[str, str]] = [
    ("SQL statements executed (Django cursor, incl. driver)", "django.db.backends.utils:CursorWrapper._execute"),
    ("database connections opened", "django.db.backends.base.base:BaseDatabaseWrapper.connect"),
    ("commits", "django.db.backends.base.base:BaseDatabaseWrapper.commit"),
    ("fsync calls", "os:fsync"),
    ("django-ninja result to response (pydantic)", "ninja.operation:Operation._result_to_response"),
]


class Meter:
    """Wraps callables to add up their thread CPU time and count their calls."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, target: str) -> None:
        import functools
        import importlib

        self.cpu[target], self.wall[target], self.calls[target] = 0.0, 0.0, 0
        for candidate in target.split("|"):
            module_name, _, path = candidate.partition(":")
            owner: object = importlib.import_module(module_name)
            *parents, attribute = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent, None)
            original = getattr(owner, attribute, None)
            if original is not None:
                break
        else:
            print(f"  (no {target} to measure: left at 0)", file=sys.stderr)
            return
        depth = {"n": 0}

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if depth["n"]:  # recursion (or a wrapped call inside itself): count once
                return original(*args, **kwargs)
            depth["n"] += 1
            start, start_wall = time.thread_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[target] += time.thread_time() - start
                self.wall[target] += time.perf_counter() - start_wall
                self.calls[target] += 1
                depth["n"] -= 1

        setattr(owner, attribute, wrapper)
        self._undo.append((owner, attribute, original))

    def reset(self) -> None:
        for key in self.cpu:
            self.cpu[key], self.wall[key], self.calls[key] = 0.0, 0.0, 0

    def unwrap(self) -> None:
        for owner, attribute, original in reversed(self._undo):
            setattr(owner, attribute, original)
        self._undo.clear()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=150)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--pstats", type=Path, help="also save the raw cProfile data")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="wasl-bench-profile-"))
    os.environ.update(server_env(data_dir))
    try:
        return _run(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    from bench import dbtools

    tokens_file = data_dir / "tokens.json"
    dbtools.setup(1, tokens_file)  # also django.setup()
    setup = json.loads(tokens_file.read_text())
    from django.db import connection

    from wasl.wsgi import application

    variants = loadgen.with_recipient(loadgen.build_variants(16, 200_000), setup["administration"])
    serials = itertools.count(1)
    token = setup["tokens"][0]

    def deposit() -> None:
        serial = next(serials)
        v = variants[serial % len(variants)]
        body = v.head + b"%012d" % serial + v.tail
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/deposits",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_ACCEPT_LANGUAGE": "ar",
            "CONTENT_TYPE": f"multipart/form-data; boundary={loadgen.BOUNDARY}",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        status: list[str] = []

        def start_response(s: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(s)
            return lambda data: None

        response = application(environ, start_response)
        try:
            out = b"".join(response)
        finally:
            response.close()
        if not status[0].startswith("201") or b'"issued"' not in out:
            raise RuntimeError(f"deposit failed: {status[0]} {out[:300]!r}")

    for _ in range(10):
        deposit()
    n = args.deposits
    start_cpu, start_wall = time.thread_time(), time.perf_counter()
    for _ in range(n):
        deposit()
    cpu_ms = (time.thread_time() - start_cpu) / n * 1000
    wall_ms = (time.perf_counter() - start_wall) / n * 1000

    holds, holds_cpu = _register_lock_holds(deposit, n)

    meter = Meter()
    for _label, target in STEPS + CROSS:
        meter.wrap(target)
    meter.reset()
    start_cpu = time.thread_time()
    for _ in range(n):
        deposit()
    metered_ms = (time.thread_time() - start_cpu) / n * 1000
    meter.unwrap()

    def rows(spec: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return [
            {
                "step": label,
                "ms": meter.cpu[target] / n * 1000,
                "share_pct": 100 * meter.cpu[target] / n * 1000 / metered_ms,
                "calls": meter.calls[target] / n,
            }
            for label, target in spec
        ]

    lock_hold_ms = statistics.mean(holds)
    steps = rows(STEPS)
    accounted = sum(r["ms"] for r in steps if not r["step"].startswith(" "))
    steps.append(
        {
            "step": "the rest: Django request/response, middleware, django-ninja, pydantic",
            "ms": metered_ms - accounted,
            "share_pct": 100 * (metered_ms - accounted) / metered_ms,
            "calls": 1,
        }
    )
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(" ".join(sql.split()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        deposit()
    if args.pstats:
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        for _ in range(n):
            deposit()
        profiler.disable()
        profiler.dump_stats(str(args.pstats))
    result = {
        "database": connection.vendor,
        "deposits": n,
        "cpu_ms_per_deposit": cpu_ms,
        "wall_ms_per_deposit": wall_ms,
        "metered_cpu_ms_per_deposit": metered_ms,
        "steps": steps,
        "cross": rows(CROSS),
        "statements": statements,
        "register_lock_held_ms": lock_hold_ms,
        "register_lock_held_p50_ms": _percentile(holds, 50),
        "register_lock_held_p95_ms": _percentile(holds, 95),
        "register_lock_held_max_ms": max(holds),
        # This thread's CPU time in the same span: what the application does under the lock,
        # whatever the machine's load (the wall time above also counts waits for a core).
        "register_lock_cpu_p50_ms": _percentile(holds_cpu, 50),
        "register_lock_cpu_p95_ms": _percentile(holds_cpu, 95),
    }
    print(f"{connection.vendor}: {cpu_ms:.1f} ms CPU per deposit ({wall_ms:.1f} ms wall), one thread", file=sys.stderr)
    print(f"  (with the step meters: {metered_ms:.1f} ms)", file=sys.stderr)
    print(
        f"  register counter lock held per registration (wall): mean {lock_hold_ms:.2f} ms, "
        f"p50 {result['register_lock_held_p50_ms']:.2f}, p95 {result['register_lock_held_p95_ms']:.2f}, "
        f"max {result['register_lock_held_max_ms']:.2f}; this thread's CPU meanwhile p50 "
        f"{result['register_lock_cpu_p50_ms']:.2f}, p95 {result['register_lock_cpu_p95_ms']:.2f}",
        file=sys.stderr,
    )
    for r in steps + [{"step": "--- across the request ---", "share_pct": 0, "ms": 0, "calls": 0}] + result["cross"]:
        print(f"  {r['ms']:6.2f} ms {r['share_pct']:5.1f} % {r['calls']:5.1f} calls  {r['step']}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


def _register_lock_holds(deposit: Any, n: int) -> tuple[list[float], list[float]]:
    """How long the register counter's row stays locked in each of ``n`` deposits, in ms of wall
    time: from the statement that takes the number (the counter's ``UPDATE … RETURNING``, which
    locks its row until the transaction ends) to the end of that transaction's commit. Measured
    here, not in the domain code: a statement wrapper notes when the counter is taken, and a
    commit hook, registered at that moment, runs right after the commit (Django runs hooks once
    the database has committed, in the order they were registered)."""
    from django.db import connection, transaction

    holds: list[float] = []
    cpu: list[float] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "last_number = last_number + 1" not in sql:
            return execute(sql, params, many, context)
        taken, taken_cpu = time.perf_counter(), time.thread_time()

        def committed() -> None:
            holds.append((time.perf_counter() - taken) * 1000)
            cpu.append((time.thread_time() - taken_cpu) * 1000)

        result = execute(sql, params, many, context)
        transaction.on_commit(committed)
        return result

    with connection.execute_wrapper(watch):
        for _ in range(n):
            deposit()
    if len(holds) != n:
        raise RuntimeError(f"{len(holds)} register locks seen for {n} deposits")
    return holds, cpu


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


if __name__ == "__main__":
    main()
