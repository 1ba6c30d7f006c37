"""``/healthz``: each part Wasl depends on and its state; 503 only when this web server cannot
take deposits, and nothing an anonymous caller should not see."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from operations.heartbeat import Heartbeat, smtp_reachable
from operations.models import WorkerHeartbeat
from operations.testing import ROOT, SmtpServer, free_port, production_environment
from tenancy.testing import make_user
from trust.pki import Pki

ALL_OK = {"status": "ok", "database": "ok", "files": "ok", "pki": "ok", "worker": "ok", "email": "ok"}


@pytest.fixture
def pki_dir(tmp_path: Path, settings: Settings) -> Path:
    directory = tmp_path / "pki"
    Pki.create(directory, "Wasl health test")
    settings.PKI_DIR = directory
    settings.PKI_AUTOCREATE = False
    return directory


@pytest.fixture
def ready(pki_dir: Path, db: None) -> None:
    """An installation with its PKI and a worker that has just beaten."""
    Heartbeat().beat(starting=True)


class WaslSmtpBackend(SmtpBackend):
    """An SMTP backend of Wasl's own making: still SMTP."""


def _smtp(settings: Settings, port: int, **options: object) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": f"{__name__}.WaslSmtpBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "username": "wasl", "password": "smtp-secret", **options},
        }
    }


def test_a_healthy_installation_answers_200_in_one_query(
    client: Client, ready: None, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # The one query: the workers' heartbeats (which also shows the database answers).
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == ALL_OK
    assert "no-cache" in response["Cache-Control"]


def test_without_a_worker_the_site_is_degraded_and_still_takes_requests(
    client: Client, pki_dir: Path, db: None
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {**ALL_OK, "status": "degraded", "worker": "not seen"}


def test_a_worker_not_heard_of_for_90_seconds_is_late(client: Client, ready: None) -> None:
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=95))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {**ALL_OK, "status": "degraded", "worker": "late"}
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=80))
    assert client.get("/healthz").json() == ALL_OK


def test_one_late_machine_does_not_hide_a_worker_that_beats(client: Client, ready: None) -> None:
    WorkerHeartbeat.objects.create(
        host="old-machine", pid=1, started_at=timezone.now(), seen_at=timezone.now() - timedelta(hours=2)
    )
    assert client.get("/healthz").json()["worker"] == "ok"


def test_a_missing_pki_makes_the_site_unavailable(client: Client, tmp_path: Path, settings: Settings, db: None) -> None:
    settings.PKI_DIR = tmp_path / "no-pki"
    settings.PKI_AUTOCREATE = False
    Heartbeat().beat(starting=True)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "status": "unavailable", "pki": "missing"}


def test_in_the_demo_a_pki_not_made_yet_is_fine_and_is_not_made_by_healthz(
    client: Client, tmp_path: Path, settings: Settings, db: None
) -> None:
    settings.PKI_DIR = tmp_path / "no-pki-yet"
    settings.PKI_AUTOCREATE = True
    Heartbeat().beat(starting=True)
    assert client.get("/healthz").json() == ALL_OK
    assert not (tmp_path / "no-pki-yet").exists()


def test_a_damaged_pki_is_unreadable(client: Client, pki_dir: Path, db: None) -> None:
    (pki_dir / "ca.cert.pem").write_text("garbage\n")
    Heartbeat().beat(starting=True)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["pki"] == "unreadable"


def test_a_pki_without_timestamping_unit_is_incomplete(client: Client, pki_dir: Path, db: None) -> None:
    (pki_dir / "tsa.cert.pem").unlink()
    Heartbeat().beat(starting=True)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["pki"] == "incomplete"


def test_a_file_store_that_cannot_be_written_makes_the_site_unavailable(
    client: Client, ready: None, tmp_path: Path, settings: Settings
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.FILES_DIR = blocker / "files"  # cannot be created: its parent is a file
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {**ALL_OK, "status": "unavailable", "files": "not writable"}


def test_a_file_store_not_created_yet_is_fine(client: Client, ready: None, tmp_path: Path, settings: Settings) -> None:
    settings.FILES_DIR = tmp_path / "new" / "files"
    assert client.get("/healthz").json()["files"] == "ok"


def test_the_smtp_server_is_probed_by_the_worker_and_reported(
    client: Client, pki_dir: Path, db: None, settings: Settings
) -> None:
    server = SmtpServer()
    _smtp(settings, server.port)
    assert client.get("/healthz").json()["email"] == "unknown"  # no worker has tried yet
    Heartbeat().beat(starting=True)
    assert server.probes == 1
    assert client.get("/healthz").json() == ALL_OK
    server.close()
    Heartbeat().beat()  # a worker starting later finds it gone
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {**ALL_OK, "status": "degraded", "email": "unreachable"}
    assert server.probes == 1


def test_a_beat_probes_the_smtp_server_only_every_few_minutes(pki_dir: Path, db: None, settings: Settings) -> None:
    server = SmtpServer()
    _smtp(settings, server.port)
    heartbeat = Heartbeat()
    heartbeat.beat(starting=True)
    heartbeat.beat()
    heartbeat.beat()
    assert server.probes == 1
    server.close()


def test_on_the_smtps_port_the_probe_speaks_tls(pki_dir: Path, db: None, settings: Settings) -> None:
    server = SmtpServer()  # plain SMTP: a TLS client cannot talk to it
    _smtp(settings, server.port)
    assert smtp_reachable() is True
    _smtp(settings, server.port, use_ssl=True)
    assert smtp_reachable() is False
    server.close()


def test_without_smtp_the_outbox_must_be_writable(
    client: Client, ready: None, tmp_path: Path, settings: Settings
) -> None:
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    assert client.get("/healthz").json() == ALL_OK
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.EMAIL_OUTBOX_DIR = blocker / "outbox"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {**ALL_OK, "status": "degraded", "email": "not writable"}


def test_an_anonymous_caller_sees_states_only_and_a_platform_administrator_the_details(
    client: Client, ready: None, settings: Settings, pki_dir: Path, tmp_path: Path
) -> None:
    server = SmtpServer()
    _smtp(settings, server.port)
    Heartbeat().beat()
    anonymous = client.get("/healthz").content.decode()
    assert "details" not in anonymous
    for secret_or_path in (str(tmp_path), str(pki_dir), "127.0.0.1", "smtp-secret", "wasl"):
        assert secret_or_path not in anonymous
    client.force_login(make_user("citizen@example.ma"))
    assert "details" not in client.get("/healthz").json()
    client.force_login(make_user("platform@example.ma", is_staff=True))
    details = client.get("/healthz").json()["details"]
    assert details["email"]["server"] == f"127.0.0.1:{server.port}"
    assert [worker["late"] for worker in details["workers"]] == [False]
    assert "smtp-secret" not in json.dumps(details)
    server.close()


@pytest.mark.slow
def test_a_database_that_does_not_answer_makes_the_site_unavailable(tmp_path: Path) -> None:
    """A real process whose database is a PostgreSQL port nobody listens on."""
    environment = production_environment(
        tmp_path,
        WASL_DATABASE_URL=f"postgres://wasl@127.0.0.1:{free_port()}/wasl",
        WASL_PKI_AUTOCREATE="true",
        WASL_ALLOWED_HOSTS="testserver",
    )
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code, r.content.decode())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {
        "status": "unavailable",
        "database": "unavailable",
        "files": "ok",
        "pki": "ok",
        "worker": "unknown",
        "email": "ok",
    }


def test_the_benchmark_writes_one_row_per_database_in_its_own_section(tmp_path: Path) -> None:
    from bench.healthz import BEGIN, END, report

    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nkept above\n")
    result = {
        "requests": 2000,
        "median_ms": 2.1,
        "p99_ms": 6.4,
        "server_cpu_ms_per_request": 1.9,
        "start_checked_s": 4.0,
        "start_unchecked_s": 3.0,
        "starts": 3,
        "load_average": 1.2,
        "machine": "2 cores",
        "date": "2026-12-07 04:46 UTC",
        "commit": "abc1234",
    }
    report({**result, "database": "SQLite"}, path)
    report({**result, "database": "PostgreSQL", "median_ms": 3.3}, path)
    report({**result, "database": "SQLite", "median_ms": 1.5}, path)
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nkept above\n") and text.count(BEGIN) == 1 and text.count(END) == 1
    rows = [line for line in text.splitlines() if line.startswith(("| SQLite", "| PostgreSQL"))]
    assert [row.split(" | ")[1] for row in rows] == ["1.50 / 6.40 ms", "3.30 / 6.40 ms"]
