"""What ``/healthz`` costs a real server, and what the start-up checks add to a start.

    .venv/bin/python -m bench.healthz [--requests 2000] [--starts 3] [--json OUT] [--report docs/benchmarks.md]

On a throw-away data directory (SQLite, or the PostgreSQL of ``WASL_DATABASE_URL``: run it under
``scripts/with-postgres``), configured as for production (no demo; the PKI made by
``pki_init``; the database migrated) with a worker's heartbeat written, it starts gunicorn as
``manage.py serve`` does (2 workers × 4 threads, ``operations.gunicorn_config``) and:

- times ``--starts`` starts from the command to the first answer of ``/healthz``, with the
  start-up checks (run by the master in a child process) and without them (what ``serve``
  starts, having checked itself);
- asks ``/healthz`` ``--requests`` times over one keep-alive connection, as a load balancer
  does, and reports the latency and the server's CPU (every process of gunicorn's tree) per
  answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import procstat
from bench.report import code_state, per_database_section_write, published, stamped
from operations.startup import CHECKED_MARK

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench.healthz: written by `python -m bench.healthz --report` -->"
END = "<!-- /bench.healthz -->"
HOST = "127.0.0.1"


def _environment(data: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("WASL_") or k == "WASL_DATABASE_URL"},
        "DJANGO_SETTINGS_MODULE": "wasl.settings",
        "WASL_DATA_DIR": str(data),
        "WASL_SECRET_KEY": "bench-healthz-" + "k" * 50,
        "WASL_ALLOWED_HOSTS": f"{HOST},wasl.example.ma",
        "WASL_PUBLIC_URL": "https://wasl.example.ma",
        "WASL_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], float]:
    """gunicorn as `serve` runs it, and the seconds until /healthz first answered."""
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "wasl.wsgi:application",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--no-control-socket",
            "--config",
            "python:operations.gunicorn_config",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.02)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="wasl-bench-healthz-"))
    try:
        results = _measure(args, data)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    commit, changed = code_state()
    published(stamped(results, commit, changed), args.json, args.report, report)


def _measure(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    env = _environment(data)
    python = sys.executable
    for command in (["migrate", "--noinput", "-v0"], ["pki_init"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    beat = "import django; django.setup(); from operations.heartbeat import Heartbeat; Heartbeat().beat(starting=True)"
    subprocess.run([python, "-c", beat], cwd=ROOT, env=env, check=True)

    checked: list[float] = []
    unchecked: list[float] = []
    for _ in range(args.starts):
        for times, extra in ((checked, {}), (unchecked, {CHECKED_MARK: str(os.getpid())})):
            server, seconds = _start({**env, **extra}, _free_port())
            _stop(server)
            times.append(seconds)

    port = _free_port()
    server, _ = _start(env, port)
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=10)

        def ask() -> tuple[int, dict[str, str]]:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            return response.status, json.loads(response.read())

        for _ in range(100):  # both workers warm
            status, body = ask()
        assert status == 200 and body["status"] == "ok", body
        cpu_before = procstat.tree_cpu_seconds(server.pid)
        latencies = []
        for _ in range(args.requests):
            started = time.perf_counter()
            status, _ = ask()
            latencies.append((time.perf_counter() - started) * 1000)
            assert status == 200
        cpu = procstat.tree_cpu_seconds(server.pid) - cpu_before
    finally:
        _stop(server)
    database = "PostgreSQL" if env.get("WASL_DATABASE_URL", "").startswith("postgres") else "SQLite"
    return {
        # The machine is shared: how busy it was (1-minute load average, 2 cores) says how far to trust the run.
        "load_average": os.getloadavg()[0],
        "database": database,
        "requests": args.requests,
        "answer": body,
        "median_ms": statistics.median(latencies),
        "p99_ms": statistics.quantiles(latencies, n=100)[-1],
        "server_cpu_ms_per_request": cpu * 1000 / args.requests,
        "start_checked_s": statistics.median(checked),
        "start_unchecked_s": statistics.median(unchecked),
        "starts": args.starts,
    }


def report(results: dict[str, Any], path: Path) -> None:
    """This database's row of the section; the other database's row, if there, is kept."""
    r = results
    row = (
        f"| {r['database']} | {r['median_ms']:.2f} / {r['p99_ms']:.2f} ms | {r['server_cpu_ms_per_request']:.2f} ms | "
        f"{r['start_checked_s']:.1f} s / {r['start_unchecked_s']:.1f} s | {r['requests']}, {r['starts']} starts | "
        f"{r['machine']}, load {r.get('load_average', 0):.1f}, {r['date']}, commit {r['commit']} |"
    )
    head = [
        "## `/healthz` and the start-up checks (issue #15)",
        "",
        "*Load balancers ask `/healthz` every few seconds: it must stay cheap (one small query). The start-up "
        "checks must not make a start slow.* `python -m bench.healthz --report docs/benchmarks.md` (under "
        "`scripts/with-postgres` for PostgreSQL): a production configuration (no demo, the PKI made, the database "
        "migrated, a worker's heartbeat written), gunicorn as `serve` runs it (2 workers × 4 threads, "
        "`operations.gunicorn_config`); `/healthz` asked over one keep-alive connection, every answer 200 with "
        "every part `ok`; the server's CPU summed over gunicorn's processes. A start is timed from the command to "
        "the first answer, with the master's start-up checks (a child process that loads Django and checks) and "
        "without (as under `serve`, which checked first).",
        "",
        "| Database | latency, median / p99 | server CPU per answer | start with checks / without | requests | "
        "machine (load average), date, code |",
        "|---|---:|---:|---:|---:|---|",
    ]
    per_database_section_write(path, BEGIN, END, head, r["database"], row)


if __name__ == "__main__":
    main()
