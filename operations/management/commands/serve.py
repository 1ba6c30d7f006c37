from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.demo import DEMO_ACCOUNTS
from operations.exits import REFUSED
from operations.readiness import refuse_unless_ready
from operations.startup import mark_checked
from operations.supervisor import Program, RunDirectory, ServeError, Supervisor, listening_socket, logger

# A Unix socket's path must fit in 108 bytes (sun_path); a longer one is left out.
_MAX_SOCKET_PATH = 100


class Command(BaseCommand):
    help = (
        "Serve Wasl (gunicorn) with a task worker alongside, restarting either when it dies; "
        "Ctrl-C stops both. --stop stops the one serving this data directory."
    )
    # Its own start-up checks (operations.readiness), once it knows it may serve here.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2, help="Web worker processes.")
        parser.add_argument("--threads", type=int, default=4, help="Threads per web worker.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")
        parser.add_argument(
            "--stop", action="store_true", help="Stop the serve running on this data directory, or what it left."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run_directory = RunDirectory(Path(settings.DATA_DIR) / "run")
        if options["stop"]:
            self._stop(run_directory)
            return
        host, port = options["host"], options["port"]
        if not run_directory.acquire():
            holder = run_directory.holder()
            url = run_directory.read_state().get("url", "")
            raise CommandError(
                f"Wasl is already being served from {settings.DATA_DIR} (serve pid {holder or '?'}"
                + (f", {url}" if url else "")
                + "). Stop it first: Ctrl-C in its terminal, or `manage.py serve --stop`."
            )
        try:
            run_directory.stop_leftovers(logger)
            try:
                sock = listening_socket(host, port)
            except ServeError as exc:
                raise CommandError(str(exc)) from exc
            # Checked once here: the web server started below skips its own checks.
            refuse_unless_ready("web server" if options["no_worker"] else "web server and worker")
            mark_checked()
            base = f"http://{host}:{port}"
            web = self._gunicorn(sock.fileno(), host, port, options, run_directory.path)
            programs = [Program("web server", web, pass_fds=(sock.fileno(),))]
            if not options["no_worker"]:
                programs.append(
                    Program("task worker", [sys.executable, str(settings.BASE_DIR / "manage.py"), "run_worker"])
                )
            supervisor = Supervisor(
                programs,
                run_directory,
                cwd=Path(settings.BASE_DIR),
                details={"host": host, "port": port, "url": base, "data_dir": str(settings.DATA_DIR)},
            )
            supervisor.run(on_started=lambda: self._banner(base))
            sock.close()
        finally:
            run_directory.release()
        if supervisor.refused:
            raise CommandError(f"Wasl stopped: the {supervisor.refused} refused to start.", returncode=REFUSED)
        self.stdout.write("Wasl stopped.")

    def _gunicorn(self, fd: int, host: str, port: int, options: dict[str, Any], run: Path) -> list[str]:
        control = run / "gunicorn.ctl"
        # The control socket (gunicornc) belongs to this instance, not to every gunicorn of the user.
        control_options = (
            ["--control-socket", str(control)] if len(str(control)) < _MAX_SOCKET_PATH else ["--no-control-socket"]
        )
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "wasl.wsgi:application",
            "--bind",
            f"fd://{fd}",
            # Named after its address, so `ps` and the messages about a busy port say what it is.
            "--name",
            f"wasl-web-{host}:{port}",
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            # The graceful stop (a Ctrl-C): operations.gunicorn_config says how long, and why.
            "--config",
            "python:operations.gunicorn_config",
            *control_options,
        ]

    def _stop(self, run_directory: RunDirectory) -> None:
        holder: int | None = None
        if not run_directory.acquire():
            holder = run_directory.holder()
            if holder is None:
                raise CommandError("A serve holds this data directory but its pid is unknown.")
            os.kill(holder, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while not run_directory.acquire():
                if time.monotonic() > deadline:
                    raise CommandError(f"serve (pid {holder}) did not stop within 30 s.")
                time.sleep(0.2)
            self.stdout.write(f"Stopped serve (pid {holder}).")
        try:
            stopped = run_directory.stop_leftovers(logger)
        finally:
            run_directory.release()
        if stopped:
            self.stdout.write("Stopped what a killed serve left running: " + ", ".join(n for n, _ in stopped) + ".")
        elif holder is None:
            self.stdout.write(f"Nothing is being served from {settings.DATA_DIR}.")

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
            role_width = max(len(a.role_label) for a in DEMO_ACCOUNTS)
            email_width = max(len(a.email) for a in DEMO_ACCOUNTS)
            lines += [
                f"    {a.role_label:<{role_width}}  {a.email:<{email_width}}  {a.password}" for a in DEMO_ACCOUNTS
            ]
        lines.append("Press Ctrl-C to stop.")
        self.stdout.write("\n".join(lines) + "\n")
        self.stdout.flush()
