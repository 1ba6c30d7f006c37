"""Run the decoding of an untrusted file in another process with a memory and a time limit.

A small file can ask for gigabytes once decoded (a PNG of 150 million pixels in 200 KB, a PDF
stream that inflates a thousandfold) or for minutes of work (tens of thousands of pages). Each
such piece of work (:mod:`documents.decoding`) runs in a *reader* (:mod:`documents.reader`): a
process that loaded the decoders (pypdf, Pillow, PDFium, img2pdf) once and reads files one after
another, each within its own limits. For each file its address space is capped with
``RLIMIT_AS`` and its CPU time with ``RLIMIT_CPU``, and the caller stops waiting (and kills it)
when the wall time is up. A file over a limit fails alone, with :class:`LimitExceeded`; the web
worker or the task worker that asked never holds the memory. A reader that ran out of memory,
or whose memory grew by more than :data:`documents.reader.GROWTH`, stops after answering, so
nothing of a large file stays.

Each calling process keeps up to :data:`IDLE` readers between files, started on first use
(about 0.3 s of CPU each); one that read nothing for :data:`IDLE_SECONDS` ends. A file then costs a round trip through two pipes, where a
process forked for each file cost 6 to 8 ms of CPU, 15 to 20 times the check itself. A reader is
not fresh for each file: its memory may still hold something of an earlier one. What it is for
is the limits, not secrecy: a decoder taken over by a hostile file runs as Wasl's user, which
can read every stored file anyway. A reader's answer is read by an unpickler that accepts plain
data only (no class, no function), so a reader taken over cannot make the caller run code.

This module imports no Django: limits are passed in by the caller.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from documents.refusals import Refused

__all__ = ["LimitExceeded", "Limits", "Refused", "WorkFailed", "limited_command", "run_limited"]

IDLE = 4  # readers a process keeps between files (a web worker's threads, the task worker's)
IDLE_SECONDS = 600  # a reader that read nothing for so long ends (about 50 MB each)
_ROOT = str(Path(__file__).resolve().parent.parent)


class LimitExceeded(Exception):
    """The work needed more memory or time than allowed (``kind``: "memory", "time", or
    "crashed" when the reader died without saying why, as native code out of memory does)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind} {detail}".strip())
        self.kind = kind
        self.detail = detail


class WorkFailed(Exception):
    """The work raised an error (a damaged file); the message says which."""


@dataclass(frozen=True)
class Limits:
    memory: int  # bytes of address space for the child
    seconds: float  # wall time, and CPU time, the child may take


class _Unavailable(Exception):
    """The reader was gone before it got the request."""


class _PlainData(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a reader answered with {module}.{name}, not plain data")


class _Reader:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        self.owner = os.getpid()
        self.reused = False  # it has read files before this one
        self.process = subprocess.Popen(
            [sys.executable, "-m", "documents.reader", str(IDLE_SECONDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: bytes, seconds: float) -> tuple[tuple[Any, ...], bool] | None:
        """The reader's answer to ``request``: ``(outcome, stopping)``, or ``None`` when it died
        without one. :class:`TimeoutError` after ``seconds``; :class:`_Unavailable` when it was
        gone before it could read the request."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(len(request).to_bytes(8))
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except BrokenPipeError:
            raise _Unavailable from None
        deadline = time.monotonic() + seconds
        fd = self.process.stdout.fileno()
        waiting = select.poll()
        waiting.register(fd, select.POLLIN)
        received = bytearray()
        size: int | None = None
        while size is None or len(received) < 8 + size:
            left = deadline - time.monotonic()
            if left <= 0 or not waiting.poll(left * 1000):
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            received += chunk
            if size is None and len(received) >= 8:
                size = int.from_bytes(received[:8])
        outcome, stopping = _PlainData(io.BytesIO(memoryview(received)[8:])).load()
        return outcome, stopping

    def stop(self, *, kill: bool) -> int:
        """Stop it (killed, or given a second to end by itself); its exit code."""
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if not kill:
            try:
                return self.process.wait(1)
            except subprocess.TimeoutExpired:
                pass
        self.process.kill()
        return self.process.wait()


_lock = threading.Lock()
_idle: list[_Reader] = []


def _forget_after_fork() -> None:
    # A forked child must not use its parent's readers, nor keep their pipes open.
    global _lock
    _lock = threading.Lock()
    for reader in _idle:
        for pipe in (reader.process.stdin, reader.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
    _idle.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _take() -> _Reader:
    with _lock:
        while _idle:
            reader = _idle.pop()
            if reader.alive():
                reader.reused = True
                return reader
            reader.stop(kill=True)
    return _Reader()


def _give_back(reader: _Reader) -> None:
    with _lock:
        if len(_idle) < IDLE and reader.owner == os.getpid():
            _idle.append(reader)
            return
    reader.stop(kill=False)


def run_limited(function: str, *args: Any, limits: Limits, **kwargs: Any) -> Any:
    """``documents.decoding.<function>(*args, **kwargs)`` in a reader within ``limits``; its
    result (plain data). A :class:`Refused` the function raises comes back as itself, any
    other exception as :class:`WorkFailed`; over a limit, :class:`LimitExceeded`. The function
    is named, not passed, so that the caller never loads the decoders itself."""
    request = pickle.dumps((limits.memory, limits.seconds, function, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    reader = _take()
    while True:
        try:
            reply = reader.ask(request, limits.seconds)
        except _Unavailable:
            reply = None
        except TimeoutError:
            reader.stop(kill=True)
            raise LimitExceeded("time") from None
        except BaseException:
            reader.stop(kill=True)
            raise
        if reply is not None:
            break
        code = reader.stop(kill=True)
        if code == -signal.SIGXCPU:
            raise LimitExceeded("time")
        if not reader.reused:
            raise LimitExceeded("crashed", f"exit {code}")
        # A reader that had read files before died without answering: it ended as it had been
        # idle too long, or was killed from outside, perhaps before it read this request. The
        # file gets one fresh reader.
        reader = _Reader()
    outcome, stopping = reply
    if stopping:
        reader.stop(kill=False)
    else:
        _give_back(reader)
    status = outcome[0]
    if status == "ok":
        return outcome[1]
    if status == "memory":
        raise LimitExceeded("memory")
    if status == "refused":
        raise Refused(outcome[1], outcome[2])
    raise WorkFailed(outcome[1])


def limited_command(command: list[str], *, memory: int) -> list[str]:
    """``command`` started under an address-space limit of ``memory`` bytes: a tiny Python
    launcher sets the limit, then becomes the command (no ``preexec_fn``, which is unsafe in a
    process with threads, as the task worker is)."""
    import sys

    launcher = (
        "import os, resource, sys; "
        "limit = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
        "os.execvp(sys.argv[2], sys.argv[2:])"
    )
    return [sys.executable, "-c", launcher, str(memory), *command]
