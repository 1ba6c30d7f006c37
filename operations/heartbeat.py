"""The task worker's heartbeat: a row in the database, rewritten every ``HEARTBEAT_SECONDS``.

``manage.py run_worker`` beats once as it starts, then from a thread of its own (a long task or
periodic job does not hold it up: the heartbeat says the process is alive and reaches the
database). ``/healthz`` reads it: a worker not heard of for ``LATE_AFTER`` is "late". Every
``SMTP_PROBE_SECONDS`` the beat also opens a connection to the SMTP server (when e-mail goes
by SMTP), reads its greeting and says QUIT, and notes whether that worked: the worker sends
most of the e-mail, and ``/healthz`` stays one cheap query.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import DatabaseError, IntegrityError, close_old_connections
from django.db.models.functions import Now
from django.utils.module_loading import import_string

from operations.models import WorkerHeartbeat

HEARTBEAT_SECONDS = 30
LATE_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)
SMTP_PROBE_SECONDS = 300
SMTP_PROBE_TIMEOUT = 10
# Rows of machines that have not run a worker for this long are forgotten.
FORGET_AFTER = timedelta(days=7)

logger = logging.getLogger("operations.worker")


def smtp_options() -> dict[str, Any] | None:
    """The SMTP server's options (host, port, …) when e-mail goes by SMTP; None otherwise."""
    mailer: Mapping[str, Any] = settings.MAILERS["default"]
    backend = import_string(str(mailer["BACKEND"]))
    if not (isinstance(backend, type) and issubclass(backend, SmtpBackend)):
        return None
    options: dict[str, Any] = dict(mailer.get("OPTIONS") or {})
    return options if options.get("host") else None


def smtp_reachable() -> bool | None:
    """Whether the SMTP server answers (greeting, then QUIT; no sign-in); None without SMTP."""
    options = smtp_options()
    if options is None:
        return None
    # On the SMTPS port the greeting comes inside TLS; the certificate is the sending's business.
    client = smtplib.SMTP_SSL if options.get("use_ssl") else smtplib.SMTP
    try:
        with client(str(options["host"]), int(options.get("port") or 25), timeout=SMTP_PROBE_TIMEOUT) as smtp:
            smtp.noop()
    except (OSError, smtplib.SMTPException):
        return False
    return True


def heartbeat_record(*, host: str, pid: int, starting: bool = False, probe_smtp: bool = False) -> None:
    """Write this worker's row: seen now (the database's clock), and the SMTP probe when asked."""
    fields: dict[str, Any] = {"pid": pid, "seen_at": Now()}
    if starting:
        fields["started_at"] = Now()
    if probe_smtp:
        fields.update(smtp_reachable=smtp_reachable(), smtp_checked_at=Now())
    if WorkerHeartbeat.objects.filter(host=host).update(**fields):
        return
    try:
        WorkerHeartbeat.objects.create(host=host, **{"started_at": Now(), **fields})
    except IntegrityError:  # another worker of this machine wrote it meanwhile
        WorkerHeartbeat.objects.filter(host=host).update(**fields)


def heartbeats_forget_old() -> int:
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=Now() - FORGET_AFTER).delete()
    return deleted


class Heartbeat:
    """The beats of one worker process: :meth:`start` beats once, then every ``interval`` in a
    daemon thread until :meth:`stop`."""

    def __init__(self, *, interval: float = HEARTBEAT_SECONDS, smtp_every: float = SMTP_PROBE_SECONDS) -> None:
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.interval = interval
        self.smtp_every = smtp_every
        self._next_probe = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self, *, starting: bool = False) -> None:
        now = time.monotonic()
        probe = now >= self._next_probe
        if probe:
            self._next_probe = now + self.smtp_every
        try:
            heartbeat_record(host=self.host, pid=self.pid, starting=starting, probe_smtp=probe)
            if starting:
                heartbeats_forget_old()
        except DatabaseError:
            logger.exception("the worker's heartbeat could not be written")

    def start(self) -> None:
        self.beat(starting=True)
        self._thread = threading.Thread(target=self._run, name="wasl-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()
            close_old_connections()  # this thread's own connection, when too old or broken

    def stop(self) -> None:
        self._stop.set()
