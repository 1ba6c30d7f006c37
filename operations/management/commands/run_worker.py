from __future__ import annotations

import os
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tasks_db.management.commands.db_worker import Worker

from operations.jobs import slow_jobs, start_scheduler


class Command(BaseCommand):
    help = "Run the task worker (the database queue) with Wasl's periodic jobs alongside."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls of an empty queue.")
        parser.add_argument("--no-periodic", action="store_true", help="Do not run the periodic jobs here.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_periodic"]:
            start_scheduler()
            start_scheduler(slow_jobs(), tick=2.0, name="wasl-slow-jobs")
        worker = Worker(
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
        worker.run()
