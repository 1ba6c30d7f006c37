"""Through a real gunicorn: X-Forwarded-Proto counts only from WASL_TRUSTED_PROXIES.

gunicorn by default believes X-Forwarded-Proto from 127.0.0.1 and from Unix sockets and hands
the application ``wsgi.url_scheme = https``. Wasl's gunicorn settings turn that off, and Wasl's
middleware overrules it anyway when gunicorn runs without them. Each server listens on TCP and on
a Unix socket; requests come from 127.0.0.1 (gunicorn's default trust, not Wasl's) and from
127.0.0.2 (Wasl's trusted proxy), all claiming HTTPS. HSTS is the sign that a request was taken
for HTTPS.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from operations.testing import ROOT, StackData, demo_environment, free_port

pytestmark = [pytest.mark.slow, pytest.mark.database_incidental]  # which proxies are believed
HSTS = "max-age=31536000"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("wasl.example.ma")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(self.path))


def hsts(connection: http.client.HTTPConnection) -> str | None:
    connection.request("GET", "/healthz", headers={"Host": "wasl.example.ma", "X-Forwarded-Proto": "https"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    return response.getheader("Strict-Transport-Security")


def from_address(port: int, source: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))


class StartGunicorn(Protocol):
    def __call__(self, *, wasl_settings: bool, trusted: str) -> tuple[int, Path]: ...


@pytest.fixture
def gunicorn(tmp_path: Path, stack_data: StackData) -> Iterator[StartGunicorn]:
    """Starts gunicorn on a migrated database (the web server refuses to start on one that is not)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, wasl_settings: bool, trusted: str) -> tuple[int, Path]:
        assert not started, "one server per test: they share the test's database"
        port, sock = free_port(), tmp_path / f"web-{len(started)}.sock"
        environment = {
            **demo_environment(stack_data.data_dir),
            **stack_data.database,
            "WASL_PUBLIC_URL": "https://wasl.example.ma",
            "WASL_ALLOWED_HOSTS": "wasl.example.ma",
            "WASL_TRUSTED_PROXIES": trusted,
            "WASL_LOG_LEVEL": "WARNING",
        }
        environment.pop("FORWARDED_ALLOW_IPS", None)
        config = ["-c", "python:operations.gunicorn_config"] if wasl_settings else []
        command = [sys.executable, "-m", "gunicorn", *config, "--bind", f"127.0.0.1:{port}"]
        command += ["--bind", f"unix:{sock}", "--workers", "1", "wasl.wsgi"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                hsts(from_address(port, "127.0.0.2"))
                return port, sock
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_with_wasl_settings_only_the_listed_proxies_are_believed(gunicorn: StartGunicorn) -> None:
    port, sock = gunicorn(wasl_settings=True, trusted="127.0.0.2")
    assert hsts(from_address(port, "127.0.0.1")) is None  # gunicorn's default would have believed it
    assert hsts(UnixConnection(sock)) is None  # so would it on its Unix socket
    assert hsts(from_address(port, "127.0.0.2")) == HSTS


def test_a_unix_socket_is_believed_once_listed(gunicorn: StartGunicorn) -> None:
    port, sock = gunicorn(wasl_settings=True, trusted="unix")
    assert hsts(UnixConnection(sock)) == HSTS
    assert hsts(from_address(port, "127.0.0.1")) is None


def test_a_gunicorn_without_wasl_settings_is_overruled(gunicorn: StartGunicorn) -> None:
    """Started as ``gunicorn wasl.wsgi``, gunicorn rewrites the scheme of 127.0.0.1 and of its Unix
    socket to https; Wasl, not trusting them, serves them as plain HTTP."""
    port, sock = gunicorn(wasl_settings=False, trusted="127.0.0.2")
    assert hsts(from_address(port, "127.0.0.1")) is None
    assert hsts(UnixConnection(sock)) is None
    assert hsts(from_address(port, "127.0.0.2")) == HSTS
