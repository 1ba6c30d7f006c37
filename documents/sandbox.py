"""Run the decoding of an untrusted file in a child process with a memory and a time limit.

A small file can ask for gigabytes once decoded (a PNG of 150 million pixels in 200 KB, a PDF
stream that inflates a thousandfold) or for minutes of work (tens of thousands of pages). Each
such piece of work (:mod:`documents.decoding`) runs in a child process: its address space is
capped with ``RLIMIT_AS``, its CPU time with ``RLIMIT_CPU``, and the parent stops waiting (and
kills it) when its time is up. A file over a limit fails alone, with :class:`LimitExceeded`;
the web worker or the task worker that asked never holds the memory, and nothing of it stays.

Children come from multiprocessing's fork server: one small process per calling process,
started on first use, that loaded :mod:`documents.decoding` (pypdf, Pillow, PDFium, img2pdf)
once; each child is a fork of it (a few milliseconds), single-threaded, knowing nothing of the
caller's database connections or threads. The fork server also loads the caller's main
module, as multiprocessing does; every entry point of Wasl guards its own start
(``if __name__ == "__main__"``).

This module imports no Django: limits are passed in by the caller.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from documents.refusals import Refused

__all__ = ["LimitExceeded", "Limits", "Refused", "WorkFailed", "limited_command", "run_limited"]

# This module too: each child unpickles its work (``_child``, ``Limits``) from it, and a child that
# imported it itself (its dataclasses built anew) took about 3 ms more CPU.
PRELOAD = ["__main__", "documents.decoding", "documents.sandbox"]
_lock = threading.Lock()
_context: Any = None


class LimitExceeded(Exception):
    """The work needed more memory or time than allowed (``kind``: "memory", "time", or
    "crashed" when the child died without saying why, as native code out of memory does)."""

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


def _fork_server() -> Any:
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def run_limited(function: str, *args: Any, limits: Limits, **kwargs: Any) -> Any:
    """``documents.decoding.<function>(*args, **kwargs)`` in a child process within ``limits``;
    its result (plain data that pickles). A :class:`Refused` the function raises comes back
    as itself, any other exception as :class:`WorkFailed`; over a limit, :class:`LimitExceeded`.
    The function is named, not passed, so that the caller never loads the decoders itself."""
    context = _fork_server()
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(writer, limits, function, args, kwargs), daemon=True, name="wasl-decode"
    )
    outcome: tuple[str, Any] | None = None
    try:
        child.start()
    except BaseException:
        reader.close()
        writer.close()
        raise
    try:
        writer.close()
        if reader.poll(limits.seconds):
            try:
                outcome = reader.recv()
            except EOFError:  # died before answering
                outcome = None
        else:
            outcome = ("time", None)
    finally:
        reader.close()
        if child.is_alive():
            child.join(0.5 if outcome is not None and outcome[0] != "time" else 0)
        if child.is_alive():
            child.kill()
        child.join()
    if outcome is None:
        code = child.exitcode
        if code == -signal.SIGXCPU:
            raise LimitExceeded("time")
        raise LimitExceeded("crashed", f"exit {code}")
    status, value = outcome
    if status == "ok":
        return value
    if status in ("memory", "time"):
        raise LimitExceeded(status)
    if status == "raised" and isinstance(value, Refused):
        raise value
    raise WorkFailed(value)


def _child(conn: Connection, limits: Limits, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    cpu = math.ceil(limits.seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    outcome: tuple[str, Any]
    try:
        from documents import decoding  # loaded already by the fork server

        outcome = ("ok", getattr(decoding, function)(*args, **kwargs))
    except MemoryError:
        outcome = ("memory", None)
    except Exception as exc:
        outcome = ("raised", exc) if isinstance(exc, Refused) else ("failed", f"{type(exc).__name__}: {exc}"[:300])
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(("memory", None))
    conn.close()


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
