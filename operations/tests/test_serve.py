"""``manage.py serve`` keeps the stack up: any one of its processes killed with -9 comes back.

These start real processes (gunicorn, the task worker, ``serve`` itself) on a free port with a
data directory of their own, kill them with SIGKILL and watch the site and the log.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from operations.processes import ProcessRef, start_ticks
from operations.supervisor import RunDirectory, backoff
from operations.testing import MANAGE, ROOT, StackData, demo_environment, free_port

COMEBACK = 15.0  # seconds the site may take to answer again after a kill


class Stack:
    """A running ``manage.py serve``, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int, database: dict[str, str], *, workers: int = 1) -> None:
        self.data_dir, self.port = data_dir, port
        self.run = RunDirectory(data_dir / "run")
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [*MANAGE, "serve", "--port", str(port), "--workers", str(workers), "--threads", "2"],
            env={**demo_environment(data_dir), **database},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own session, as in a terminal: Ctrl-C is SIGINT to its process group.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def answers_within(self, seconds: float) -> float:
        """Seconds until /healthz answered 200; fails the test after ``seconds``."""
        start = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=seconds) as response:
                    if response.status == 200:
                        return time.monotonic() - start
            except OSError:
                pass
            elapsed = time.monotonic() - start
            assert elapsed < seconds, f"the site did not answer within {seconds} s:\n{self.log}"
            time.sleep(0.2)

    def program(self, name: str) -> ProcessRef:
        recorded = self.run.read_state()["programs"][name]
        return ProcessRef(recorded["pid"], recorded["started"])

    def wait_for(self, pattern: str, seconds: float = COMEBACK) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log)
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not in the log within {seconds} s:\n{self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reader.join(timeout=5)


def _web_worker(master: ProcessRef) -> int:
    """The one worker of a gunicorn master, once it has booted."""
    deadline = time.monotonic() + COMEBACK
    while True:
        children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
        if len(children) == 1 or time.monotonic() > deadline:
            assert len(children) == 1, children
            return int(children[0])
        time.sleep(0.1)


def _gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if start_ticks(pid) is None:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.database_incidental  # the supervision of the processes, whatever they connect to
def test_each_process_killed_with_sigkill_comes_back_and_the_log_says_so(stack_data: StackData) -> None:
    data_dir, database = stack_data.data_dir, stack_data.database
    port = free_port()
    stack = Stack(data_dir, port, database)
    seen: set[int] = set()
    try:
        stack.answers_within(90)  # the first start imports everything: not what is measured
        stack.wait_for("Press Ctrl-C to stop.")
        assert f"http://127.0.0.1:{port}/" in stack.log and "citizen@demo.ma" in stack.log  # the banner

        # A gunicorn worker: its master boots another.
        master = stack.program("web server")
        worker = _web_worker(master)
        seen |= {master.pid, worker}
        os.kill(worker, signal.SIGKILL)
        stack.answers_within(COMEBACK)
        stack.wait_for(rf"Worker \(pid:{worker}\) was sent SIGKILL")

        # The gunicorn master: serve starts another on the same socket; the orphaned worker leaves.
        stack.wait_for(rf"Booting worker with pid: (?!{worker}\b)\d+")
        orphan = _web_worker(master)
        seen.add(orphan)
        os.kill(master.pid, signal.SIGKILL)
        stack.answers_within(COMEBACK)
        stack.wait_for(
            rf"the web server \(pid {master.pid}\) was killed by SIGKILL after running .*; restarting it now"
        )
        restarted = stack.wait_for(r"the web server restarted \(pid (\d+)\)")
        new_master = stack.program("web server")
        assert new_master.pid == int(restarted.group(1)) != master.pid and new_master.alive()
        assert _gone(orphan), "the killed master's worker stayed"

        # The task worker.
        task_worker = stack.program("task worker")
        seen |= {task_worker.pid, new_master.pid, _web_worker(new_master)}
        os.kill(task_worker.pid, signal.SIGKILL)
        stack.wait_for(rf"the task worker \(pid {task_worker.pid}\) was killed by SIGKILL .*; restarting it now")
        stack.wait_for(r"the task worker restarted \(pid \d+\)")
        new_task_worker = stack.program("task worker")
        assert new_task_worker != task_worker and new_task_worker.alive()
        stack.answers_within(COMEBACK)

        # serve itself: what it started keeps answering, unsupervised...
        seen |= {new_task_worker.pid, stack.process.pid}
        stack.process.kill()
        stack.process.wait()
        stack.answers_within(COMEBACK)
        assert new_master.alive() and new_task_worker.alive()

        # ... until the next serve on this data directory stops it and takes over.
        stack = Stack(data_dir, port, database)
        stack.wait_for(rf"the web server \(pid {new_master.pid}\) left running by a serve that was killed")
        stack.wait_for(rf"the task worker \(pid {new_task_worker.pid}\) left running by a serve that was killed")
        stack.answers_within(60)
        assert not new_master.alive() and not new_task_worker.alive()
        latest = stack.program("web server")
        seen |= {latest.pid, _web_worker(latest), stack.program("task worker").pid}

        # Ctrl-C stops everything, cleanly.
        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=30) == 0, stack.log
        stack.stop()
        assert "Wasl stopped." in stack.log
    finally:
        stack.stop()
        for pid in seen:
            if start_ticks(pid) is not None:
                os.kill(pid, signal.SIGKILL)
    assert all(_gone(pid) for pid in seen), "processes were left running"
    assert not (data_dir / "run" / "serve.json").exists()


def _group_members(pgids: set[int]) -> list[str]:
    """The living processes of the process groups ``pgids``, as ``pid command``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) in pgids and fields[0] not in ("Z", "X"):
            found.append(f"{entry.name} {(entry / 'cmdline').read_bytes().replace(b'\0', b' ').decode()}")
    return found


@pytest.mark.slow
@pytest.mark.database_incidental  # the supervision of the processes, whatever they connect to
def test_ctrl_c_stops_the_stack_quietly_even_with_an_upload_in_flight(stack_data: StackData) -> None:
    """Ctrl-C in the terminal of ``make run``: SIGINT to serve's process group. The web workers
    finish what they can and leave by themselves, a request still running (a slow upload) is
    cut without gunicorn killing its worker ("Worker was sent SIGKILL! Perhaps out of memory?"),
    the task worker leaves without a warning, and nothing is left running."""
    data_dir, database = stack_data.data_dir, stack_data.database
    port = free_port()
    stack = Stack(data_dir, port, database, workers=2)
    try:
        stack.answers_within(90)
        stack.wait_for("Press Ctrl-C to stop.")
        stack.wait_for(r"Starting worker worker_id=")
        booted = set(
            re.findall(r"Booting worker with pid: (\d+)", stack.wait_for(r"(?s)(Booting worker.*){2}").group(0))
        )
        groups = {stack.process.pid, stack.program("web server").pid, stack.program("task worker").pid}
        # A phone still sending a file: the request has begun, its body will never end.
        upload = socket.create_connection(("127.0.0.1", port))
        upload.sendall(
            f"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\n".encode()
        )
        idle = socket.create_connection(("127.0.0.1", port))  # a browser's spare connection
        time.sleep(1)
        os.killpg(stack.process.pid, signal.SIGINT)
        assert stack.process.wait(timeout=30) == 0, stack.log
        stack.stop()
        upload.close()
        idle.close()
    finally:
        stack.stop()
    log = stack.log
    assert log.rstrip().endswith("Wasl stopped."), log
    assert "SIGKILL" not in log and "killing it" not in log, log
    assert not [line for line in log.splitlines() if " WARNING " in line or "[ERROR]" in line or " ERROR " in line], log
    # Every web worker left by itself (gunicorn says so as each leaves).
    exited = set(re.findall(r"Worker exiting \(pid: (\d+)\)", log))
    assert booted and booted <= exited, log
    assert re.search(r"Worker \(pid: \d+\) stopped with \d connection\(s\) unfinished", log), log
    deadline = time.monotonic() + 10
    while _group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_members(groups), "left running:\n" + "\n".join(_group_members(groups))
    assert not (data_dir / "run" / "serve.json").exists()


@pytest.mark.slow
def test_a_second_serve_on_the_same_data_directory_says_which_one_runs(tmp_path: Path) -> None:
    running = RunDirectory(tmp_path / "run")
    assert running.acquire()  # this test process plays the serve that runs
    try:
        result = subprocess.run(
            [*MANAGE, "serve", "--port", str(free_port())],
            env=demo_environment(tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        running.release()
    assert result.returncode == 1
    assert f"Wasl is already being served from {tmp_path} (serve pid {os.getpid()}" in result.stderr
    assert "manage.py serve --stop" in result.stderr


@pytest.mark.slow
def test_a_busy_port_is_refused_naming_the_program_holding_it(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [*MANAGE, "serve", "--port", str(port)],
            env=demo_environment(tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    named = re.search(rf"Port {port} on 127\.0\.0\.1 is in use by pid {os.getpid()} \(([^)]*)\)", result.stderr)
    # Named by its command line: this test's own process (pytest, or a worker of pytest-xdist).
    own_command_line = Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert named and named.group(1) and own_command_line.startswith(named.group(1)), result.stderr
    assert f"PORT={port + 1}" in result.stderr
    assert not (tmp_path / "run" / "serve.json").exists()


@pytest.mark.slow
def test_a_program_that_keeps_dying_is_restarted_later_and_later(tmp_path: Path) -> None:
    """Real processes that die 0.2 s after starting, under the supervisor alone."""
    script = f"""
import logging, sys
from pathlib import Path
from operations.supervisor import Program, RunDirectory, Supervisor
logging.basicConfig(level=logging.INFO, format="%(message)s")
program = Program("flaky", [sys.executable, "-c", "import time; time.sleep(0.2); raise SystemExit(3)"])
Supervisor([program], RunDirectory(Path({str(tmp_path)!r})), cwd=Path({str(tmp_path)!r})).run()
print("stopped")
"""
    supervisor = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []

    def read() -> None:
        assert supervisor.stdout is not None
        for line in supervisor.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # Watched until the third restart is announced (about 2.6 s in), then a second more: a
    # supervisor that restarted at once each time would have announced a dozen by then.
    deadline = time.monotonic() + 30
    while not any("restarting it in 4 s" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    supervisor.send_signal(signal.SIGINT)
    supervisor.wait(timeout=30)
    reader.join(timeout=5)
    output = "".join(lines)
    restarts = re.findall(
        r"the flaky \(pid \d+\) exited with status 3 after running [\d.]+ s; restarting it (now|in \d+ s)", output
    )
    assert restarts[:3] == ["now", "in 2 s", "in 4 s"], output
    assert len(restarts) <= 5, output  # not a spin
    assert output.rstrip().endswith("stopped"), output
    assert supervisor.returncode == 0


def test_backoff_grows_to_a_minute() -> None:
    assert [backoff(n) for n in range(1, 9)] == [0, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.slow
def test_serve_stop_says_when_nothing_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [*MANAGE, "serve", "--stop"],
        env=demo_environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"Nothing is being served from {tmp_path}." in result.stdout
