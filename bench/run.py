"""Deposit throughput and latency against a real gunicorn server, on the configured database.

    python -m bench.run --label sqlite --json OUT.json [--clients 1,8,32] [--duration 15] ...

Run under ``scripts/with-postgres`` (which sets ``WASL_DATABASE_URL``) for PostgreSQL; without
it the server uses SQLite (WAL) in a throw-away data directory. Steps:

1. a fresh temporary ``WASL_DATA_DIR``; migrate, create the benchmark administration and one
   verified user + API token per client (``bench.dbtools setup``);
2. start ``gunicorn wasl.wsgi:application`` (gthread workers, no access log) as production
   would, with high rate limits, an in-process cache and the database task queue: each deposit
   queues its receipt e-mail as a task row, and **no task worker runs** during the benchmark;
3. warm up at the highest concurrency (every worker thread builds its Typst compiler), then for
   each concurrency level: a short warm-up, then a fixed measured window of ``POST
   /api/v1/deposits`` (multipart: recipient, Arabic subject, body, one ~200 KB PDF); only 201
   responses count as successes, anything else is an error;
4. record the CPU time of the server processes, of the PostgreSQL server, of this load
   generator and of the whole machine over each window (from /proc);
5. stop the server and check the database: one correspondence per 201, numbers consecutive,
   every receipt issued, one e-mail task queued per deposit (``bench.dbtools verify``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench import loadgen, procstat

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # BENCH_SETTINGS: try a settings variant (a module importing wasl.settings) without
            # touching the application; never set by scripts/bench.
            "DJANGO_SETTINGS_MODULE": os.environ.get("BENCH_SETTINGS", "wasl.settings"),
            "WASL_DATA_DIR": str(data_dir),
            "WASL_DEMO": "true",  # demo PKI created on first use, demo secret key
            "WASL_PKI_AUTOCREATE": "true",
            "WASL_ALLOWED_HOSTS": HOST,
            "WASL_PUBLIC_URL": "https://wasl.example.ma",
            "WASL_RATE_DEPOSIT": "1000000/m",
            "WASL_RATE_LOGIN": "1000000/m",
            "WASL_RATE_VERIFY": "1000000/m",
            "WASL_CACHE_URL": "locmem://",
            "WASL_LOG_LEVEL": "WARNING",
            "WASL_TASKS": "database",
            "WASL_DEBUG": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn was not ready in time")


def wait_quiet(max_wait: float, threshold_pct: float = 15.0) -> float:
    """Wait (up to ``max_wait`` s) until the machine is nearly idle; return the busy % last seen.

    The benchmark shares the machine; starting a level while something else runs (a test
    suite, a build) would only measure the contention. The server is idle between levels, so
    what is busy then is someone else.
    """
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        busy0, total0 = procstat.machine_cpu()
        time.sleep(1.0)
        busy1, total1 = procstat.machine_cpu()
        busy_pct = 100 * (busy1 - busy0) / max(total1 - total0, 1e-9)
        if busy_pct < threshold_pct or time.monotonic() >= deadline:
            if announced:
                print(f"  machine {busy_pct:.0f} % busy: going on")
            return busy_pct
        if not announced:
            print(
                f"  machine {busy_pct:.0f} % busy with other work: waiting up to {max_wait:.0f} s for it to calm down"
            )
            announced = True


class CpuWindow:
    """CPU seconds used by the server tree, the database server, this process, the machine."""

    def __init__(self, server_pid: int, db_pid: int | None) -> None:
        self.server_pid, self.db_pid = server_pid, db_pid

    def sample(self) -> dict[str, Any]:
        busy, total = procstat.machine_cpu()
        return {
            "server": procstat.tree_cpu_seconds(self.server_pid),
            "db": procstat.tree_cpu_seconds(self.db_pid) if self.db_pid else 0.0,
            "loadgen": time.process_time(),
            "machine_busy": busy,
            "machine_total": total,
            "workers": procstat.children_cpu_seconds(self.server_pid),
        }


def summarise(clients: int, phase: loadgen.Phase, cpu0: dict[str, Any], cpu1: dict[str, Any]) -> dict[str, Any]:
    elapsed = phase.finished - phase.started
    lat = sorted(phase.latencies)
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu0 if k != "workers"}
    workers0, workers1 = cpu0["workers"], cpu1["workers"]
    worker_cpu = sorted((workers1[pid] - workers0.get(pid, 0.0) for pid in workers1), reverse=True)
    worker_split = [round(100 * w / max(sum(worker_cpu), 1e-9)) for w in worker_cpu]
    n = max(1, phase.successes)
    return {
        "clients": clients,
        "elapsed_s": round(elapsed, 3),
        "successes": phase.successes,
        "deposits_per_s": phase.successes / elapsed if elapsed else 0.0,
        "p50_ms": loadgen.percentile(lat, 50) * 1000,
        "p95_ms": loadgen.percentile(lat, 95) * 1000,
        "p99_ms": loadgen.percentile(lat, 99) * 1000,
        "max_ms": (lat[-1] * 1000) if lat else float("nan"),
        "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan"),
        "errors": sum(phase.errors.values()),
        "error_kinds": phase.errors,
        "error_samples": phase.error_samples,
        "not_issued": phase.not_issued,
        "cpu": {
            "server_s": cpu["server"],
            "db_s": cpu["db"],
            "loadgen_s": cpu["loadgen"],
            "machine_busy_s": cpu["machine_busy"],
            "machine_capacity_s": cpu["machine_total"],
            "machine_busy_pct": 100 * cpu["machine_busy"] / cpu["machine_total"] if cpu["machine_total"] else 0.0,
            "other_s": cpu["machine_busy"] - cpu["server"] - cpu["db"] - cpu["loadgen"],
            "server_ms_per_deposit": 1000 * cpu["server"] / n,
            "db_ms_per_deposit": 1000 * cpu["db"] / n,
            "loadgen_ms_per_deposit": 1000 * cpu["loadgen"] / n,
            "worker_split_pct": worker_split,
        },
    }


def _start_profiler(args: argparse.Namespace, server_pid: int, level: int) -> subprocess.Popen[bytes] | None:
    """With --py-spy, sample the server (all workers) during the measured window of one level.

    Not part of ``make bench``: a diagnostic. py-spy is not a project dependency; install it
    in a separate virtualenv (``python3 -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy``).
    """
    if not args.py_spy or level != args.profile_clients:
        return None
    output = Path(args.profile_out)
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        args.py_spy, "record", "--pid", str(server_pid), "--subprocesses", "--nonblocking",
        "--rate", "200", "--duration", str(int(args.duration)), "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    if args.profile_native:
        command.append("--native")
    print(f"  profiling {level} clients with py-spy into {output}")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _measure(
    args: argparse.Namespace, port: int, tokens: list[str], recipient: str, cpu: CpuWindow
) -> dict[str, Any]:
    t = time.perf_counter()
    variants = loadgen.with_recipient(loadgen.build_variants(args.documents, args.pdf_size), recipient)
    print(f"  built {len(variants)} request bodies of {variants[0].length} bytes in {time.perf_counter() - t:.1f} s")
    serials = itertools.count(1)
    levels = [int(x) for x in args.clients.split(",")]
    total_successes = 0
    total_errors = 0

    def clients(k: int) -> list[loadgen.Client]:
        return [loadgen.Client(HOST, port, tokens[i], variants, serials) for i in range(k)]

    async def close(cs: list[loadgen.Client]) -> None:
        await asyncio.gather(*(c.close() for c in cs))

    warm = clients(max(levels))
    phase = await loadgen.run_phase(warm, args.initial_warmup)
    await close(warm)
    total_successes += phase.successes
    total_errors += sum(phase.errors.values())
    print(f"  initial warm-up: {phase.successes} deposits, errors {phase.errors or 0}")

    results = []
    for level in levels:
        await asyncio.to_thread(wait_quiet, args.quiet_wait)
        cs = clients(level)
        phase = await loadgen.run_phase(cs, args.warmup)
        total_successes += phase.successes
        total_errors += sum(phase.errors.values())
        profiler = _start_profiler(args, cpu.server_pid, level)
        cpu0 = cpu.sample()
        phase = await loadgen.run_phase(cs, args.duration)
        cpu1 = cpu.sample()
        if profiler is not None:
            profiler.wait()
        await close(cs)
        total_successes += phase.successes
        total_errors += sum(phase.errors.values())
        row = summarise(level, phase, cpu0, cpu1)
        results.append(row)
        print(
            f"  {level:>3} clients: {row['deposits_per_s']:7.1f} deposits/s  p50 {row['p50_ms']:6.1f} ms  "
            f"p95 {row['p95_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  errors {row['errors']}  "
            f"server CPU {row['cpu']['server_ms_per_deposit']:.1f} ms/deposit  "
            f"db CPU {row['cpu']['db_ms_per_deposit']:.1f} ms/deposit  machine {row['cpu']['machine_busy_pct']:.0f} %  "
            f"workers' CPU split {row['cpu']['worker_split_pct']} %"
        )
        if row["errors"]:
            print(f"      errors: {row['error_kinds']}  e.g. {row['error_samples']}")
    return {"levels": results, "total_successes": total_successes, "total_errors": total_errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="name of this run (sqlite, postgresql)")
    parser.add_argument("--json", type=Path, required=True, help="write the results here")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each level")
    parser.add_argument("--initial-warmup", type=float, default=4.0, help="at the highest level, first")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "4")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "4")))
    parser.add_argument("--documents", type=int, default=64, help="distinct PDF variants")
    parser.add_argument("--pdf-size", type=int, default=200_000)
    parser.add_argument("--app", default="wasl.wsgi:application", help="WSGI application for gunicorn")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument(
        "--quiet-wait", type=float, default=20.0, help="before each level, wait up to this long for an idle machine"
    )
    parser.add_argument("--py-spy", help="path to py-spy: profile the server during one level (diagnostic)")
    parser.add_argument("--profile-clients", type=int, default=8, help="the level to profile")
    parser.add_argument("--profile-out", default="bench/results/profile.txt", help="py-spy raw output")
    parser.add_argument("--profile-native", action="store_true", help="py-spy --native (Rust/C frames)")
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix=f"wasl-bench-{args.label}-"))
    env = server_env(data_dir)
    database_url = env.get("WASL_DATABASE_URL", "")
    db_pid = None
    if database_url.startswith("postgres"):
        db_pid = procstat.find_listener_pid(urlparse(database_url).port or 5432)
    py = sys.executable
    started = datetime.now(UTC)
    print(f"[{args.label}] data dir {data_dir}; database {'postgresql' if database_url else 'sqlite'}")
    server: subprocess.Popen[bytes] | None = None
    log_path = data_dir / "gunicorn.log"
    try:
        tokens_file = data_dir / "tokens.json"
        max_clients = max(int(x) for x in args.clients.split(","))
        subprocess.run(
            [py, "-m", "bench.dbtools", "setup", "--users", str(max_clients), "--tokens", str(tokens_file)],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        setup = json.loads(tokens_file.read_text())
        port = _free_port()
        command = [
            py, "-m", "gunicorn", args.app,
            "--bind", f"{HOST}:{port}",
            "--worker-class", "gthread",
            "--workers", str(args.workers),
            "--threads", str(args.threads),
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--keep-alive", "30",
            "--backlog", "256",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(port, server)
        print(f"  gunicorn pid {server.pid} on port {port}: {args.workers} workers x {args.threads} threads (gthread)")
        measured = asyncio.run(
            _measure(args, port, setup["tokens"], setup["administration"], CpuWindow(server.pid, db_pid))
        )
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    verify_file = data_dir / "verify.json"
    subprocess.run(
        [
            py,
            "-m",
            "bench.dbtools",
            "verify",
            "--expected",
            str(measured["total_successes"]),
            "--json",
            str(verify_file),
        ],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    verify = json.loads(verify_file.read_text())
    result = {
        "label": args.label,
        "database": verify["database"],
        "database_version": verify.get("database_version", ""),
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "server": {
            "command": "gunicorn wasl.wsgi:application --worker-class gthread "
            f"--workers {args.workers} --threads {args.threads} (no access log)",
            "workers": args.workers,
            "threads": args.threads,
            "app": args.app,
            "settings": env["DJANGO_SETTINGS_MODULE"],
        },
        "request": {
            "pdf_bytes": args.pdf_size,
            "distinct_documents": args.documents,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "initial_warmup_s": args.initial_warmup,
        },
        **measured,
        "verify": verify,
        "server_log_errors": log_text.count("Traceback") + log_text.count(" ERROR "),
        "server_log_tail": log_text[-3000:] if ("Traceback" in log_text or " ERROR " in log_text) else "",
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"  verification: {'OK' if verify['ok'] else 'FAILED'} {verify}")
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if verify["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
