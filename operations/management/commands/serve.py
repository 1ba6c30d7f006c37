from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from operations.demo import DEMO_ACCOUNTS


class Command(BaseCommand):
    help = "Serve Wasl (gunicorn) with a task worker alongside; Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2, help="Web worker processes.")
        parser.add_argument("--threads", type=int, default=4, help="Threads per web worker.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        base = f"http://{host}:{port}"
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = [
            [
                sys.executable,
                "-m",
                "gunicorn",
                "wasl.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(options["workers"]),
                "--threads",
                str(options["threads"]),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ]
        ]
        if not options["no_worker"]:
            commands.append([*manage, "run_worker"])
        children = [subprocess.Popen(command, cwd=settings.BASE_DIR) for command in commands]
        self._banner(base)

        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        self.stdout.write("Wasl stopped.")
        failed = [child.returncode for child in children if child.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(1)

    def _banner(self, base: str) -> None:
        lines = [
            "",
            "Wasl is running.",
            f"  Citizen portal     {base}/",
            f"  Verify a receipt   {base}/verify/",
            f"  Staff desk         {base}/desk/",
            f"  Platform admin     {base}/admin/",
            f"  API (OpenAPI)      {base}/api/v1/docs  ·  {base}/api/v1/openapi.json",
        ]
        if settings.DEMO:
            lines.append("  Demo accounts (e-mail / password):")
            lines += [f"    {a.role_label:<38} {a.email:<22} {a.password}" for a in DEMO_ACCOUNTS]
        lines.append("Press Ctrl-C to stop.")
        self.stdout.write("\n".join(lines) + "\n")
