"""A reader: the process in which :mod:`documents.sandbox` decodes untrusted files, one after another.

    python -m documents.reader [IDLE]     (started by documents.sandbox, never by hand)

It loads :mod:`documents.decoding` once, then reads requests on its standard input and answers
on its standard output (8 bytes of length, then a pickle; the output is moved to a private
descriptor first, so that a decoder writing to its standard output cannot corrupt an answer).
For each request it caps its own address space (``RLIMIT_AS``) at the request's memory and its
CPU (``RLIMIT_CPU``) at what it has used so far plus the request's seconds, runs the work,
lifts both limits again and answers with plain data only: the result, a refusal's code and
figures, or what went wrong. The caller stops waiting and kills it when the wall time is up.

It stops after answering (saying so in the answer) when the work ran out of memory, when its
address space grew by more than :data:`GROWTH` (a large file's memory does not stay), and after
:data:`READS` files. A damaged file (the decoder raised an error) or a refusal does not stop it. It stops when its standard input closes (the caller
is gone) and when no request came for ``IDLE`` seconds.

This module imports no Django.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import resource
import select
import sys
from typing import IO, Any

from documents.refusals import Refused

READS = 500  # files a reader reads before it makes way for a fresh one
GROWTH = 64 * 1024 * 1024  # address space a reader may keep above its start after a file
_UNLIMITED = resource.RLIM_INFINITY
_PAGE = os.sysconf("SC_PAGE_SIZE")


def address_space() -> int:
    """This process's address space now, in bytes."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * _PAGE


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    parts = []
    while size > 0:
        part = stream.read(size)
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def read_message(stream: IO[bytes]) -> bytes | None:
    """One message (its length first, in 8 bytes); ``None`` at the end of the stream."""
    header = _read_exactly(stream, 8)
    return None if header is None else _read_exactly(stream, int.from_bytes(header))


def write_message(stream: IO[bytes], body: bytes) -> None:
    stream.write(len(body).to_bytes(8))
    stream.write(body)
    stream.flush()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def answer(decoding: Any, request: tuple[int, float, str, tuple[Any, ...], dict[str, Any]]) -> tuple[Any, bool]:
    """Run one request within its limits: ``(outcome, stopping)``."""
    memory, seconds, function, args, kwargs = request
    cpu = math.ceil(_cpu_seconds() + seconds) + 1
    outcome: tuple[Any, ...]
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, _UNLIMITED))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, _UNLIMITED))
        try:
            outcome = ("ok", getattr(decoding, function)(*args, **kwargs))
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (_UNLIMITED, _UNLIMITED))
            resource.setrlimit(resource.RLIMIT_CPU, (_UNLIMITED, _UNLIMITED))
    except MemoryError:
        return ("memory",), True
    except Refused as refused:
        return ("refused", str(refused.code), dict(refused.params)), False
    except Exception as exc:  # a damaged file: the decoder said so, and the reader is as it was
        return ("failed", f"{type(exc).__name__}: {exc}"[:300]), False
    return outcome, False


def serve(requests: IO[bytes], answers: IO[bytes], decoding: Any = None, *, idle: float | None = None) -> None:
    """Answer ``requests`` until they end, or none came for ``idle`` seconds, or this reader
    stops; the work is ``decoding``'s functions (:mod:`documents.decoding` unless given)."""
    if decoding is None:
        from documents import decoding

    start = address_space()
    for count in range(1, READS + 1):
        if idle is not None and not select.select([requests], [], [], idle)[0]:
            return  # a quiet server keeps no reader it does not use
        body = read_message(requests)
        if body is None:
            return
        outcome, stopping = answer(decoding, pickle.loads(body))  # noqa: S301 (from the process that started this one)
        del body
        stopping = stopping or count == READS or address_space() - start > GROWTH
        try:
            reply = pickle.dumps((outcome, stopping), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a result that does not pickle is a defect of the work
            reply = pickle.dumps((("failed", f"{type(exc).__name__}: {exc}"[:300]), True))
            stopping = True
        del outcome
        write_message(answers, reply)
        if stopping:
            return


def main() -> None:
    # Answers go out on a descriptor of their own; the decoders' own output goes to stderr, and
    # they read nothing.
    idle = float(sys.argv[1]) if len(sys.argv) > 1 else None
    answers = os.fdopen(os.dup(1), "wb")
    requests = os.fdopen(os.dup(0), "rb", buffering=0)  # unbuffered: select() sees what is unread
    os.dup2(2, 1)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    with contextlib.suppress(BrokenPipeError):  # the caller went away
        serve(requests, answers, idle=idle)


if __name__ == "__main__":
    main()
