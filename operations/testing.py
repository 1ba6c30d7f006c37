"""Helpers for tests that start Wasl's real processes (``serve``, ``make run``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_environment(data_dir: Path) -> dict[str, str]:
    """The environment of a process of the stack: none of the suite's ``WASL_*``, the demo on
    ``data_dir``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(WASL_DEMO="true", WASL_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="wasl.settings")
    return environment


def production_environment(data_dir: Path, **variables: str) -> dict[str, str]:
    """The environment of a process of an installation configured as docs/install.md says (no
    demo): none of the suite's ``WASL_*``, its data in ``data_dir``, then ``variables``."""
    # Nor what the suite's browser tests set for themselves (Django's deploy checks refuse it).
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("WASL_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="wasl.settings",
        WASL_DATA_DIR=str(data_dir),
        WASL_SECRET_KEY="production-test-" + "k" * 50,
        WASL_ALLOWED_HOSTS="wasl.example.ma,127.0.0.1",
        WASL_PUBLIC_URL="https://wasl.example.ma",
        WASL_TRUSTED_PROXIES="127.0.0.1",
        WASL_CACHE_URL="locmem://",
        PYTHONUNBUFFERED="1",
    )
    environment.update(variables)
    return environment


class SmtpServer:
    """A real TCP server on loopback that speaks just enough SMTP to be probed: its greeting,
    then NOOP and QUIT. ``probes`` counts the conversations that ended with QUIT."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.probes = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            # A client that is not speaking SMTP (a TLS handshake) may drop the connection.
            with contextlib.suppress(OSError), connection, connection.makefile("rb") as lines:
                connection.sendall(b"220 smtp.example.ma ESMTP ready\r\n")
                for line in lines:
                    command = line.strip().upper()
                    if command == b"QUIT":
                        self.probes += 1  # before the answer the client waits for
                        connection.sendall(b"221 Bye\r\n")
                        break
                    connection.sendall(b"250 OK\r\n" if command == b"NOOP" else b"502 Not here\r\n")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        self._socket.close()


def postgres_program(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl) on the PATH, else Debian's newest."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(candidates[-1]) if candidates else None


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server the tests may create roles and databases on, as ``superuser``."""

    socket_dir: str
    port: int
    superuser: str

    def connect(self, database: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host=self.socket_dir, port=self.port, user=self.superuser, dbname=database, autocommit=True
        )


@contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of its own in a temporary directory, listening on its Unix socket
    only, removed afterwards (as ``scripts/with-postgres`` does for the suite)."""
    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise FileNotFoundError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    base = Path(tempfile.mkdtemp(prefix="wasl-pg-"))
    base.chmod(0o755)
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        shutil.chown(base, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = base / "data"
    try:
        subprocess.run(
            [*as_owner, initdb, "-D", str(data), "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-U", "postgres"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -k {base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
        subprocess.run(
            [*as_owner, pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield PostgresServer(socket_dir=str(base), port=port, superuser="postgres")
    finally:
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True)
class StackData:
    """A data directory and the database settings of one test's stack."""

    data_dir: Path
    database: dict[str, str]  # WASL_DATABASE_URL on PostgreSQL, nothing on SQLite (the file is in data_dir)
