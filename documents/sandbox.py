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
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from documents.reader import ACK
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
    memory: int  # bytes of address space a reader may have while it reads one file
    seconds: float  # wall time, and CPU time, it may take over that file


class _Unavailable(Exception):
    """The reader ended before it had read the request: it never worked on it."""


class _Garbled(Exception):
    """The reader's answer is not one it could have meant: too long, not plain data, or not the
    shape of an answer."""


class _PlainData(pickle._Unpickler):
    """Plain data only (no class, no function), read by the pickle module's Python unpickler: its
    memo is a dictionary, where the C unpickler's (Python 3.12.1) grows to the largest index a
    pickle names, so that seven bytes could make it allocate gigabytes."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a reader answered with {module}.{name}, not plain data")


def _answer_of(body: bytes | bytearray) -> tuple[tuple[Any, ...], bool]:
    try:
        loaded = _PlainData(io.BytesIO(body)).load()
    except Exception as exc:  # any malformed pickle: UnpicklingError, ValueError, EOFError…
        raise _Garbled(f"{type(exc).__name__}: {exc}"[:200]) from None
    if not (isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], bool)):
        raise _Garbled("not an answer")
    outcome, stopping = loaded
    shapes = {"ok": 2, "memory": 1, "refused": 3, "failed": 2}
    if not (isinstance(outcome, tuple) and outcome and shapes.get(outcome[0]) == len(outcome)):
        raise _Garbled("not an outcome")
    if outcome[0] == "refused" and not (isinstance(outcome[1], str) and isinstance(outcome[2], dict)):
        raise _Garbled("not a refusal")
    return outcome, stopping


# Only these reach a reader: it needs nothing else, and the web worker's secrets stay out of it.
_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "HOME", "LD_LIBRARY_PATH", "PYTHONPATH")


class _Reader:
    def __init__(self, command: list[str] | None = None) -> None:
        env = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        self.reused = False  # it has read files before this one
        # -P: nothing from the current directory on its path; the code comes from PYTHONPATH.
        self.process = subprocess.Popen(
            command or [sys.executable, "-P", "-m", "documents.reader", str(IDLE_SECONDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=_ROOT,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._to = self.process.stdin.fileno()
        self._from = self.process.stdout.fileno()
        os.set_blocking(self._to, False)
        self._writable = select.poll()
        self._writable.register(self._to, select.POLLOUT)
        self._readable = select.poll()
        self._readable.register(self._from, select.POLLIN)
        _live.add(self)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _write(self, data: bytes | memoryview, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not self._writable.poll(left * 1000):
                raise TimeoutError
            try:
                view = view[os.write(self._to, view) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise _Unavailable from None

    def _read(self, size: int, deadline: float) -> bytearray | None:
        """``size`` bytes, or ``None`` when the reader ended first."""
        received = bytearray(size)
        view = memoryview(received)
        got = 0
        while got < size:
            left = deadline - time.monotonic()
            if left <= 0 or not self._readable.poll(left * 1000):
                raise TimeoutError
            count = os.readv(self._from, [view[got:]])
            if count == 0:
                return None
            got += count
        return received

    def ask(self, request: bytes, seconds: float, *, most: int) -> tuple[tuple[Any, ...], bool] | None:
        """The reader's answer to ``request`` within ``seconds`` (:class:`TimeoutError` after
        them, writing the request included): ``(outcome, stopping)``, or ``None`` when it died
        while working on it. :class:`_Unavailable` when it ended before it had read it;
        :class:`_Garbled` for an answer over ``most`` bytes or not one it could have meant."""
        deadline = time.monotonic() + seconds
        self._write(len(request).to_bytes(8), deadline)
        self._write(request, deadline)
        acknowledged = self._read(1, deadline)
        if acknowledged is None:
            raise _Unavailable
        if bytes(acknowledged) != ACK:
            raise _Garbled("no acknowledgement")
        header = self._read(8, deadline)
        if header is None:
            return None
        size = int.from_bytes(header)
        if size > most:
            raise _Garbled(f"an answer of {size} bytes")
        body = self._read(size, deadline)
        return None if body is None else _answer_of(body)

    def stop(self, *, kill: bool) -> int:
        """Stop it (killed, or given a second to end by itself); its exit code."""
        if kill:
            self.process.kill()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if not kill:
            try:
                return self.process.wait(1)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


_lock = threading.Lock()
_idle: list[_Reader] = []
_live: weakref.WeakSet[_Reader] = weakref.WeakSet()  # every reader of this process, idle or at work


def _forget_after_fork() -> None:
    # A forked child must not use its parent's readers, nor keep their pipes open (a reader sees
    # its caller gone only when every copy of its input is closed).
    global _lock, _live
    _lock = threading.Lock()
    for reader in list(_live):
        for pipe in (reader.process.stdin, reader.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
    _idle.clear()
    _live = weakref.WeakSet()


os.register_at_fork(after_in_child=_forget_after_fork)


def _take() -> _Reader:
    taken = None
    with _lock:
        for reader in list(_idle):  # those that ended while idle are reaped here
            if not reader.alive():
                _idle.remove(reader)
                reader.stop(kill=True)
        if _idle:
            taken = _idle.pop()
            taken.reused = True
    return taken or _Reader()


def _give_back(reader: _Reader) -> None:
    with _lock:
        if len(_idle) < IDLE:
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
            reply = reader.ask(request, limits.seconds, most=limits.memory)
            break
        except _Unavailable:
            code = reader.stop(kill=True)
            if not reader.reused:
                raise LimitExceeded("crashed", f"exit {code}") from None
            # A reader that had read files before ended before reading this request: it had been
            # idle too long, or was killed from outside. The file gets one fresh reader.
            reader = _Reader()
        except TimeoutError:
            reader.stop(kill=True)
            raise LimitExceeded("time") from None
        except _Garbled as garbled:
            reader.stop(kill=True)
            raise LimitExceeded("crashed", str(garbled)) from None
        except BaseException:
            reader.stop(kill=True)
            raise
    if reply is None:
        code = reader.stop(kill=True)
        if code == -signal.SIGXCPU:
            raise LimitExceeded("time")
        raise LimitExceeded("crashed", f"exit {code}")
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
