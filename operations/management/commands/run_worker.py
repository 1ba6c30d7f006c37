from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import sys
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django_tasks_db.management.commands.db_worker import Worker

from operations.heartbeat import Heartbeat
from operations.jobs import slow_jobs, start_scheduler
from operations.readiness import refuse_unless_ready

logger = logging.getLogger("operations.worker")


class QueueWorker(Worker):
    """The database queue's worker, stopping as ``serve`` asks: idle, it leaves at once and
    quietly; running a task, it says so and finishes it first (a second signal ends it now).
    Its parent's message ("press Ctrl+C again to force") spoke to a terminal it does not have."""

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if self.running and self.running_task:
            logger.info("the task worker stops after its current task (%s)", signal.strsignal(signum))
            self.running = False
            return
        if self.running:
            self.running = False
            sys.exit(0)
        super().shutdown(signum, frame)


class Command(BaseCommand):
    help = "Run the task worker (the database queue) with Wasl's periodic jobs alongside."
    # Its own start-up checks (operations.readiness) include every system check, and more.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls of an empty queue.")
        parser.add_argument("--no-periodic", action="store_true", help="Do not run the periodic jobs here.")

    def handle(self, *args: Any, **options: Any) -> None:
        # A PKI missing, the public URL unset, the database not migrated: say so and exit
        # (operations.startup's statuses) rather than take tasks that would fail one by one.
        refuse_unless_ready("worker")
        Heartbeat().start()
        if not options["no_periodic"]:
            start_scheduler()
            start_scheduler(slow_jobs(), tick=2.0, name="wasl-slow-jobs")
        worker = QueueWorker(
            queue_names=["*"],
            interval=options["interval"],
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{socket.gethostname()}-{os.getpid()}",
            excluded_queue_names=[],
        )
        worker.configure_signals()
        status: Any = 0
        try:
            worker.run()
        except SystemExit as exit_:
            status = exit_.code
        # Leave now that the exit functions ran: freeing every object of the interpreter (and
        # waiting for the scheduler's daemon threads to be torn down) is seconds of work on a
        # busy machine, which the kernel does at once.
        connections.close_all()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status if isinstance(status, int) else 1)
