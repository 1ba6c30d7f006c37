"""Keep Wasl's processes running: the supervisor behind ``manage.py serve``.

``serve`` opens the listening socket itself and hands it to gunicorn (``--bind fd://N``). A web
server that is restarted takes the same socket, so connections arriving meanwhile wait in its
backlog instead of being refused, and workers orphaned by a killed gunicorn master answer
until they notice and leave. Each program runs in its own process group, so whatever it
started (gunicorn's workers, a child of the task worker) is stopped with it.

A program that dies is restarted at once and the log says so. One that keeps dying soon after
it starts is restarted after a growing delay (2, 4, 8 … 60 s), so a broken configuration does
not spin the machine. One that refuses to start (status 78, ``operations.startup.REFUSED``: it
printed what to fix) is not restarted: everything stops, as restarting would not help.

``serve`` itself can be killed too. Its programs then keep answering, unsupervised: the state
file (``DATA_DIR/run/serve.json``) names them, and the next ``serve`` on the same data
directory stops them before starting its own. A lock (``DATA_DIR/run/serve.lock``) held for
as long as ``serve`` runs tells another ``serve`` on the same directory that one is running.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from operations.exits import REFUSED
from operations.processes import ProcessRef, port_holders, signal_group, stop_group

logger = logging.getLogger("operations.serve")

# A program that ran this long before dying is restarted at once, whatever came before.
STABLE_AFTER = 60.0
BACKOFF_CAP = 60.0
# Seconds a stopping program (and what is left of a dead one's group) gets before SIGKILL.
STOP_GRACE = 10.0
LEFTOVER_GRACE = 8.0
TICK = 0.2
# Environment variables through which a parent hands listening sockets to gunicorn. The
# socket is handed over explicitly; inherited values would point gunicorn at other descriptors.
_SOCKET_HANDOVER = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "GUNICORN_FD")


class ServeError(Exception):
    """``serve`` cannot start; the message says why and what to do."""


def backoff(failures: int) -> float:
    """Seconds to wait before restarting a program after its ``failures``-th death in a row."""
    if failures <= 1:
        return 0.0
    return min(BACKOFF_CAP, 2.0 ** (failures - 1))


@dataclass
class Program:
    """One supervised process: ``name`` is what the log calls it."""

    name: str
    command: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    ref: ProcessRef | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    starts: int = 0


@dataclass
class _Leftover:
    """The process group of a program that died: what it started, still to be stopped."""

    pgid: int
    since: float


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 1 else f"{value:.1f} s"


class RunDirectory:
    """``DATA_DIR/run``: the lock that says a ``serve`` runs here, and the state file naming its processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path / "serve.lock"
        self.state_path = path / "serve.json"
        self._lock_fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another ``serve`` holds it."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return True

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def holder(self) -> int | None:
        """The pid written by the ``serve`` holding the lock."""
        try:
            return int(self.lock_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def write_state(self, state: dict[str, Any]) -> None:
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1))
        os.replace(temporary, self.state_path)

    def clear_state(self) -> None:
        self.state_path.unlink(missing_ok=True)

    def leftovers(self) -> list[tuple[str, ProcessRef]]:
        """The programs a dead ``serve`` left running, by the state file (stale entries are ignored)."""
        found: list[tuple[str, ProcessRef]] = []
        for name, recorded in (self.read_state().get("programs") or {}).items():
            try:
                ref = ProcessRef(int(recorded["pid"]), int(recorded["started"]))
            except (KeyError, TypeError, ValueError):
                continue
            if ref.alive():
                found.append((name, ref))
        return found

    def stop_leftovers(self, log: logging.Logger) -> list[tuple[str, ProcessRef]]:
        """Stop what a killed ``serve`` left running here; the caller holds the lock."""
        leftovers = self.leftovers()
        dead_serve = self.read_state().get("serve", {}).get("pid", "?")
        for name, ref in leftovers:
            log.warning(
                "the %s (pid %d) left running by a serve that was killed (pid %s) is being stopped",
                name,
                ref.pid,
                dead_serve,
            )
            stop_group(ref.pid, timeout=STOP_GRACE)
        self.clear_state()
        return leftovers


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind ``host:port``; when it is taken, say by whom."""
    bare = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            bare, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise ServeError(f"Cannot serve on {host}: {exc}.") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        holders = port_holders(bare, port)
        if holders:
            by_command: dict[str, list[str]] = {}
            for pid, command in holders:
                by_command.setdefault(command, []).append(str(pid))
            named = "; ".join(
                f"pid {', '.join(pids)} ({command if len(command) <= 140 else command[:140] + '…'})"
                for command, pids in by_command.items()
            )
            who = f"is in use by {named}"
        else:
            who = f"cannot be used ({exc.strerror})"
        raise ServeError(
            f"Port {port} on {host} {who}. Stop it, or serve on another port: "
            f"make run PORT={port + 1} (manage.py serve --port {port + 1})"
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass
class Supervisor:
    """Start ``programs``, restart each one that dies, stop them all on SIGINT, SIGTERM or SIGHUP."""

    programs: Sequence[Program]
    run_directory: RunDirectory
    cwd: Path
    details: dict[str, Any] = field(default_factory=dict)
    _stopping: int = field(default=0, init=False)  # signals received
    refused: str = field(default="", init=False)  # the program that refused to start, if one did
    _leftovers: list[_Leftover] = field(default_factory=list, init=False)

    def run(self, on_started: Callable[[], None] | None = None) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            for program in self.programs:
                self._start(program)
            if on_started is not None:
                on_started()
            while not self._stopping:
                self._tick(time.monotonic())
                time.sleep(TICK)
        finally:
            self._stop_all()

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping += 1
        if self._stopping > 1:
            logger.warning("stopping now: every process left is killed")

    def _environment(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if k not in _SOCKET_HANDOVER}

    def _start(self, program: Program) -> None:
        program.restart_at = None
        program.started_at = time.monotonic()
        try:
            program.process = subprocess.Popen(
                program.command,
                cwd=self.cwd,
                env=self._environment(),
                pass_fds=program.pass_fds,
                process_group=0,  # its own group: what it starts is stopped with it
            )
        except OSError as exc:
            logger.error("the %s could not be started: %s", program.name, exc)
            program.process = None
            self._schedule_restart(program, time.monotonic())
            return
        program.ref = ProcessRef.of(program.process.pid) or ProcessRef(program.process.pid, -1)
        program.starts += 1
        if program.starts == 1:
            logger.info("the %s started (pid %d)", program.name, program.process.pid)
        else:
            logger.warning("the %s restarted (pid %d)", program.name, program.process.pid)
        self._save_state()

    def _tick(self, now: float) -> None:
        for program in self.programs:
            process = program.process
            if process is not None and process.poll() is not None:
                self._died(program, process, now)
            if program.process is None and program.restart_at is not None and now >= program.restart_at:
                self._start(program)
        for leftover in list(self._leftovers):
            if not signal_group(leftover.pgid, 0):
                self._leftovers.remove(leftover)
            elif now - leftover.since >= LEFTOVER_GRACE:
                signal_group(leftover.pgid, signal.SIGKILL)
                self._leftovers.remove(leftover)

    def _died(self, program: Program, process: subprocess.Popen[bytes], now: float) -> None:
        uptime = now - program.started_at
        program.process = None
        # Its group may hold what it started (gunicorn's workers): ask them to finish and leave.
        if signal_group(process.pid, signal.SIGTERM):
            self._leftovers.append(_Leftover(process.pid, now))
        if process.returncode == REFUSED:
            logger.error(
                "the %s (pid %d) refused to start (what to fix is printed above); stopping everything",
                program.name,
                process.pid,
            )
            self.refused = program.name
            self._stopping = max(self._stopping, 1)
            return
        if uptime >= STABLE_AFTER:
            program.failures = 0
        delay = self._schedule_restart(program, now)
        when = (
            "now"
            if delay == 0
            else f"in {_seconds(delay)} ({program.failures} deaths in a row, each soon after starting)"
        )
        logger.warning(
            "the %s (pid %d) %s after running %s; restarting it %s",
            program.name,
            process.pid,
            _describe_exit(process.returncode),
            _seconds(uptime),
            when,
        )

    def _schedule_restart(self, program: Program, now: float) -> float:
        program.failures += 1
        delay = backoff(program.failures)
        program.restart_at = now + delay
        return delay

    def _save_state(self) -> None:
        programs = {
            program.name: {"pid": program.ref.pid, "started": program.ref.started}
            for program in self.programs
            if program.process is not None and program.ref is not None
        }
        me = ProcessRef.of(os.getpid())
        self.run_directory.write_state(
            {"serve": {"pid": os.getpid(), "started": me.started if me else None}, **self.details, "programs": programs}
        )

    def _stop_all(self) -> None:
        running = [p for p in self.programs if p.process is not None and p.process.poll() is None]
        for program in running:
            assert program.process is not None
            program.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for program in running:
            assert program.process is not None
            while program.process.poll() is None and time.monotonic() < deadline and self._stopping < 2:
                time.sleep(0.05)
            if program.process.poll() is None:
                logger.warning("the %s (pid %d) did not stop in time: killing it", program.name, program.process.pid)
                signal_group(program.process.pid, signal.SIGKILL)
                program.process.wait()
        # Whatever a program started and left in its group, and the remains of dead programs.
        for pgid in [p.process.pid for p in running if p.process is not None] + [x.pgid for x in self._leftovers]:
            signal_group(pgid, signal.SIGKILL)
        self._leftovers.clear()
        self.run_directory.clear_state()
