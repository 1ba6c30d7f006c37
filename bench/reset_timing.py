"""Does a password-reset request answer faster or slower when an account uses the address?

    .venv/bin/python -m bench.reset_timing [--rounds 200] [--port 8765] [--json OUT] [--report docs/benchmarks.md]

Starts gunicorn (2 workers of 4 threads, as ``manage.py serve``) on a fresh SQLite database in
a temporary directory (or on the PostgreSQL of ``WASL_DATABASE_URL``: run it under
``scripts/with-postgres``), creates one account, then asks for a reset link for that account's
address and for an address no account uses, in pairs (each first in turn), over keep-alive HTTP
connections to 127.0.0.1. It prints the medians and how often the guess "the slower answer is
the existing account" is right (about half the time when the two cannot be told apart), and
with ``--report`` writes them, for this database, into the benchmarks file. The task worker is not started: the e-mails stay queued, as
they would while the worker is busy, and what is measured is the request alone. The limits are
raised for the run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.report import code_state, per_database_section_write, published, stamped

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench.reset_timing: written by `python -m bench.reset_timing --report` -->"
END = "<!-- /bench.reset_timing -->"
EXISTING = "someone@example.ma"
UNKNOWN = "no-one-here@example.ma"


class Session:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text

    def reset(self, email: str) -> float:
        status, page = self.request("GET", "/account/password-reset/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and token, status
        body = urlencode({"csrfmiddlewaretoken": token.group(1), "email": email})
        started = time.perf_counter()
        status, _ = self.request("POST", "/account/password-reset/", body)
        elapsed = time.perf_counter() - started
        assert status == 302, status
        return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="wasl-reset-timing-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WASL_") or k == "WASL_DATABASE_URL"},
        "WASL_DEMO": "true",
        "WASL_DATA_DIR": data,
        "WASL_RATE_RESET_ACCOUNT": "1000000/h",
        "WASL_RATE_RESET_ADDRESS": "1000000/h",
        "WASL_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "wasl.settings",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [
            python,
            "-c",
            f"import django; django.setup(); from tenancy.testing import make_user; make_user({EXISTING!r})",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "wasl.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "2",
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        session = Session(args.port)
        for _ in range(20):  # warm both workers, their caches and the throttle rows
            session.reset(EXISTING)
            session.reset(UNKNOWN)
        pairs = []
        for n in range(args.rounds):  # alternate which goes first
            if n % 2:
                unknown_ms = session.reset(UNKNOWN)
                pairs.append((session.reset(EXISTING), unknown_ms))
            else:
                existing_ms = session.reset(EXISTING)
                pairs.append((existing_ms, session.reset(UNKNOWN)))
    finally:
        server.terminate()
        server.wait(10)
    existing = [e for e, _ in pairs]
    unknown = [u for _, u in pairs]
    right = sum(1 for e, u in pairs if e > u)
    database = "PostgreSQL" if os.environ.get("WASL_DATABASE_URL", "").startswith("postgres") else "SQLite"
    commit, changed = code_state()
    results = stamped(
        {
            "database": database,
            "rounds": args.rounds,
            "existing_median_ms": statistics.median(existing),
            "existing_p90_ms": _p90(existing),
            "unknown_median_ms": statistics.median(unknown),
            "unknown_p90_ms": _p90(unknown),
            "slower_is_account_percent": 100 * right / args.rounds,
        },
        commit,
        changed,
    )
    published(results, args.json, args.report, report)


def report(results: dict[str, Any], path: Path) -> None:
    """This database's row of the section; the other database's row, if there, is kept."""
    r = results
    row = (
        f"| {r['database']} | {r['existing_median_ms']:.2f} / {r['existing_p90_ms']:.2f} ms | "
        f"{r['unknown_median_ms']:.2f} / {r['unknown_p90_ms']:.2f} ms | {r['slower_is_account_percent']:.0f} % | "
        f"{r['rounds']} | {r['machine']}, {r['date']}, commit {r['commit']} |"
    )
    head = [
        "## Password reset: an existing account cannot be told from none (issue #13)",
        "",
        "*Target: a password-reset request answers alike whether an account uses the address or not (before "
        "issue #13: 5.4 against 3.4 ms, the account told apart in 25 pairs out of 25).* "
        "`python -m bench.reset_timing --report docs/benchmarks.md` (under `scripts/with-postgres` for PostgreSQL): "
        "a real gunicorn (2 workers × 4 threads), the reset form posted in pairs, an existing account's address "
        "and an unknown one, each first in turn; the e-mail is queued for the worker, not sent.",
        "",
        "| Database | existing account, median / p90 | no account, median / p90 | pairs where the slower is the "
        "account (50 % = indistinguishable) | pairs | machine, date, code |",
        "|---|---:|---:|---:|---:|---|",
    ]
    per_database_section_write(path, BEGIN, END, head, r["database"], row)


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


if __name__ == "__main__":
    main()
