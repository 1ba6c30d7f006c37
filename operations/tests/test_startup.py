"""The web server and the worker refuse to start on a PKI missing, an unset public URL or a
database not migrated: one line per problem with its fix, a status that is not 0, and no loop.

Real processes: gunicorn (with Wasl's hooks, and without), ``manage.py run_worker`` and
``manage.py serve``, each on a data directory of its own.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from operations.exits import REFUSED, UNAVAILABLE
from operations.testing import (
    MANAGE,
    ROOT,
    SmtpServer,
    StackData,
    demo_environment,
    free_port,
    production_environment,
)
from trust.pki import Pki

GUNICORN = [sys.executable, "-m", "gunicorn", "wasl.wsgi:application", "--no-control-socket", "--workers", "1"]
WITH_HOOKS = ["--config", "python:operations.gunicorn_config"]


def _run(command: list[str], environment: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _problems(stderr: str) -> dict[str, str]:
    """The problems printed, by check id: each on one line of its own."""
    found = {}
    for line in stderr.splitlines():
        if line.startswith("  wasl.") and ": " in line:
            code, text = line.strip().split(": ", 1)
            found[code] = text
    return found


@pytest.fixture
def unready(tmp_path: Path, empty_database: dict[str, str]) -> dict[str, str]:
    """A production configuration without WASL_PUBLIC_URL, on an empty database, without a PKI."""
    environment = production_environment(tmp_path / "data", **empty_database)
    del environment["WASL_PUBLIC_URL"]
    return environment


@pytest.mark.slow
def test_the_worker_refuses_to_start_naming_each_problem_and_its_fix(unready: dict[str, str]) -> None:
    result = _run([*MANAGE, "run_worker"], unready)
    assert result.returncode == REFUSED, result.stderr
    assert "Wasl's worker will not start:" in result.stderr
    problems = _problems(result.stderr)
    assert set(problems) == {"wasl.E010", "wasl.E020", "wasl.E031"}, result.stderr
    assert "WASL_PUBLIC_URL is not set" in problems["wasl.E010"]
    assert "Fix: Set WASL_PUBLIC_URL=https://" in problems["wasl.E010"]
    assert "Fix: Run `manage.py pki_init`" in problems["wasl.E020"]
    assert "The database is not migrated" in problems["wasl.E031"]
    assert "Fix: Run `manage.py migrate`" in problems["wasl.E031"]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_worker_that_cannot_reach_the_database_says_so_with_a_status_that_allows_a_retry(tmp_path: Path) -> None:
    environment = production_environment(
        tmp_path, WASL_DATABASE_URL=f"postgres://wasl@127.0.0.1:{free_port()}/wasl", WASL_PKI_AUTOCREATE="true"
    )
    result = _run([*MANAGE, "run_worker"], environment)
    assert result.returncode == UNAVAILABLE, result.stderr
    problems = _problems(result.stderr)
    assert list(problems) == ["wasl.E030"], result.stderr
    assert "The database cannot be reached" in problems["wasl.E030"] and "WASL_DATABASE_URL" in problems["wasl.E030"]


@pytest.mark.slow
def test_gunicorn_refuses_before_it_listens_and_its_master_exits(unready: dict[str, str]) -> None:
    port = free_port()
    result = _run([*GUNICORN, *WITH_HOOKS, "--bind", f"127.0.0.1:{port}"], unready)
    assert result.returncode == REFUSED, result.stderr
    assert result.stderr.count("Wasl's web server will not start:") == 1, result.stderr
    assert set(_problems(result.stderr)) == {"wasl.E010", "wasl.E020", "wasl.E031"}, result.stderr
    assert "Listening at" not in result.stderr and "Booting worker" not in result.stderr, result.stderr


@pytest.mark.slow
def test_a_gunicorn_started_without_wasl_hooks_stops_at_its_first_worker(unready: dict[str, str]) -> None:
    result = _run([*GUNICORN, "--bind", f"127.0.0.1:{free_port()}"], unready)
    assert result.returncode == 3, result.stderr  # gunicorn's "worker failed to boot": its master stops
    assert "Reason: Worker failed to boot." in result.stderr
    assert set(_problems(result.stderr)) == {"wasl.E010", "wasl.E020", "wasl.E031"}, result.stderr
    assert result.stderr.count("Booting worker") == 1, result.stderr


@pytest.mark.slow
def test_serve_refuses_to_start_and_restarts_nothing(tmp_path: Path) -> None:
    """The demo on a data directory never migrated (``make run`` migrates first)."""
    result = _run([*MANAGE, "serve", "--port", str(free_port())], demo_environment(tmp_path))
    assert result.returncode == REFUSED, result.stderr
    assert "Wasl's web server and worker will not start:" in result.stderr
    assert list(_problems(result.stderr)) == ["wasl.E031"], result.stderr
    assert "restart" not in result.stderr + result.stdout
    assert not (tmp_path / "run" / "serve.json").exists()


def test_the_supervisor_stops_everything_when_a_program_refuses_to_start(tmp_path: Path) -> None:
    script = f"""
import logging, sys
from pathlib import Path
from operations.supervisor import Program, RunDirectory, Supervisor
logging.basicConfig(level=logging.INFO, format="%(message)s")
steady = Program("steady", [sys.executable, "-c", "import time; time.sleep(60)"])
refusing = Program("refusing", [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(78)"])
supervisor = Supervisor([steady, refusing], RunDirectory(Path({str(tmp_path)!r})), cwd=Path({str(tmp_path)!r}))
supervisor.run()
print("stopped; refused:", supervisor.refused)
"""
    started = time.monotonic()
    result = _run([sys.executable, "-c", script], {"PATH": "/usr/bin:/bin"}, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "the refusing (pid " in output and "refused to start" in output, output
    assert "restart" not in output, output
    assert "stopped; refused: refusing" in output
    assert time.monotonic() - started < 20  # the steady one was stopped, not waited for


def _healthz(port: int, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


@pytest.mark.slow
def test_a_ready_installation_starts_and_healthz_reports_each_part(stack_data: StackData) -> None:
    """Configured for production (no demo), the PKI made by `pki_init`, the database migrated,
    an SMTP server: gunicorn and the worker start and /healthz says every part is fine."""
    smtp = SmtpServer()
    environment = production_environment(
        stack_data.data_dir,
        WASL_EMAIL_HOST="127.0.0.1",
        WASL_EMAIL_PORT=str(smtp.port),
        WASL_EMAIL_FROM="Wasl <wasl@commune.ma>",
        **stack_data.database,
    )
    # The commands that make an installation ready run before it is: not refused.
    for command in (["migrate", "--noinput"], ["pki_init", "--name", "Commune de Test"]):
        done = _run([*MANAGE, *command], environment)
        assert done.returncode == 0, done.stderr
    port = free_port()
    web = subprocess.Popen(
        [*GUNICORN, *WITH_HOOKS, "--bind", f"127.0.0.1:{port}"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = subprocess.Popen(
        [*MANAGE, "run_worker", "--no-periodic"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        answer: tuple[int, dict[str, str]] | None = None
        while time.monotonic() < deadline:
            assert web.poll() is None and worker.poll() is None, "a process stopped"
            try:
                answer = _healthz(port)
            except OSError:
                answer = None
            if answer and answer[1].get("status") == "ok":
                break
            time.sleep(0.3)
        assert answer == (
            200,
            {"status": "ok", "database": "ok", "files": "ok", "pki": "ok", "worker": "ok", "email": "ok"},
        )
        assert smtp.probes >= 1
        # Reloaded (new code, say) when the PKI has gone: its new worker checks and gunicorn stops.
        (stack_data.data_dir / "pki").rename(stack_data.data_dir / "pki.elsewhere")
        web.send_signal(signal.SIGHUP)
        assert web.wait(timeout=60) == 3
    finally:
        web_log, worker_log = _stop(web), _stop(worker)
        smtp.close()
    assert "will not start" not in worker_log
    assert web_log.count("Wasl's web server will not start:") == 1, web_log
    assert "wasl.E020: There is no installation PKI" in web_log and "Reason: Worker failed to boot." in web_log


@pytest.mark.slow
def test_check_deploy_is_clean_on_the_production_configuration(stack_data: StackData) -> None:
    """The configuration docs/install.md documents: an https public URL behind a trusted proxy,
    a secret key, the host names, secure cookies (the default), SMTP; the PKI made and the
    database migrated. `check --deploy` finds nothing, warnings included."""
    Pki.create(Path(stack_data.data_dir) / "pki", "Commune de Test")
    environment = production_environment(
        stack_data.data_dir,
        WASL_EMAIL_HOST="smtp.example.ma",
        WASL_EMAIL_FROM="Wasl <wasl@commune.ma>",
        **stack_data.database,
    )
    result = _run([*MANAGE, "check", "--deploy", "--fail-level", "WARNING"], environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
