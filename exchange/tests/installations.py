"""Real Wasl installations for tests: each a server process (gunicorn) on loopback with its own
data directory (database, files, PKI), and a Python driver process in the same environment that
runs code against that installation's database and returns JSON: what a platform administrator
or the worker would do there."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARK = "@@wasl-driver "

_DRIVER = textwrap.dedent(
    f"""
    import json, os, sys, traceback
    sys.path.insert(0, {str(ROOT)!r})
    import django
    django.setup()
    namespace = {{}}
    for line in sys.stdin:
        namespace["result"] = None
        try:
            exec(json.loads(line), namespace)
            answer = {{"ok": True, "result": namespace["result"]}}
        except BaseException as exc:
            answer = {{"ok": False, "error": f"{{exc.__class__.__name__}}: {{exc}}", "trace": traceback.format_exc()}}
        sys.stdout.write({MARK!r} + json.dumps(answer, default=str) + "\\n")
        sys.stdout.flush()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DriverFailed(AssertionError):
    pass


class Installation:
    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        directory.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
        self.env.update(
            DJANGO_SETTINGS_MODULE="wasl.settings",
            WASL_SECRET_KEY=f"test-secret-of-{name}-0123456789abcdef",
            WASL_DATA_DIR=str(directory),
            WASL_PUBLIC_URL=self.url,
            WASL_ALLOWED_HOSTS="127.0.0.1,localhost",
            WASL_INSTALLATION_NAME=f"Wasl {name}",
            WASL_PKI_AUTOCREATE="true",
            WASL_SECURE_COOKIES="false",
            WASL_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.server: subprocess.Popen[bytes] | None = None
        self._driver: subprocess.Popen[str] | None = None

    # -- processes -------------------------------------------------------------------------

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=check,
        )

    def command(self, *args: str) -> str:
        """Run the management command ``args`` in the driver (``manage`` without a process of
        its own, its system checks and its start-up); what it wrote on stdout."""
        return str(
            self.run(
                f"""
                from io import StringIO
                from django.core.management import call_command
                out = StringIO()
                call_command(*{list(args)!r}, stdout=out)
                result = out.getvalue()
                """
            )
        )

    def start(self, *, workers: int = 1) -> None:
        self.server = server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-worker",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                assert server.poll() is None, f"{self.name} did not start"
                assert time.monotonic() < deadline, f"{self.name} did not answer in time"
                time.sleep(0.2)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        self.server = None

    def driver(self) -> subprocess.Popen[str]:
        if self._driver is None or self._driver.poll() is not None:
            self._driver = subprocess.Popen(
                [sys.executable, "-c", _DRIVER],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return self._driver

    def run(self, code: str) -> Any:
        """Run ``code`` in the installation; what it puts in ``result`` comes back (JSON)."""
        driver = self.driver()
        assert driver.stdin is not None and driver.stdout is not None
        driver.stdin.write(json.dumps(textwrap.dedent(code)) + "\n")
        driver.stdin.flush()
        for line in driver.stdout:
            if line.startswith(MARK):
                answer = json.loads(line[len(MARK) :])
                if not answer["ok"]:
                    raise DriverFailed(f"{self.name}: {answer['error']}\n{answer['trace']}")
                return answer["result"]
        raise DriverFailed(f"{self.name}: the driver stopped (exit {driver.wait()})")

    def work(self) -> list[str]:
        """Run the installation's task worker (``run_worker``'s queue, without its periodic jobs)
        until the queue is empty; return the tasks it ran (their paths), in order. A task that
        failed fails here."""
        return list(
            self.run(
                """
                from django_tasks_db.models import DBTaskResult
                from operations.management.commands.run_worker import QueueWorker
                done = DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"])
                before = set(done.values_list("pk", flat=True))
                QueueWorker(
                    queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-driver", excluded_queue_names=[],
                ).run()
                ran = done.exclude(pk__in=before)
                failed = [r.traceback for r in ran.filter(status="FAILED")]
                assert not failed, failed
                result = list(ran.order_by("finished_at").values_list("task_path", flat=True))
                """
            )
        )

    def kill_driver(self) -> None:
        """``kill -9`` the driver, whatever it is doing."""
        if self._driver is not None:
            self._driver.kill()
            self._driver.wait()
            self._driver = None

    def close(self) -> None:
        if self._driver is not None:
            self._driver.kill()
            self._driver.wait()
            self._driver = None
        self.stop()

    # -- set-up ---------------------------------------------------------------------------

    def prepare(self, *codes: str, migrated: Path | None = None) -> None:
        """Migrate (or start from a copy of the ``migrated`` SQLite database), then create
        ``codes`` (administrations) each with a clerk."""
        if migrated is not None:
            shutil.copyfile(migrated, Path(self.env["WASL_DATA_DIR"]) / "wasl.sqlite3")
        else:
            self.manage("migrate", "-v0")
        self.run(
            f"""
            from tenancy.models import Administration, Membership, User
            for code in {list(codes)!r}:
                admin = Administration.objects.create(
                    code=code, kind="commune", name_ar="جماعة " + code, name_fr="Commune " + code,
                    region="souss-massa",
                )
                # No password: nobody signs in here, and hashing one costs a third of a second.
                user = User.objects.create_user(f"clerk@{{code.lower()}}.ma", None, full_name="Clerk")
                Membership.objects.create(user=user, administration=admin, role="clerk")
            """
        )

    @property
    def fingerprint(self) -> str:
        return str(self.run("from trust.services import installation_pki\nresult = installation_pki().fingerprint"))
