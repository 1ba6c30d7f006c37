"""A reader: the process in which :mod:`documents.sandbox` decodes untrusted files, one after another.

    python -m documents.reader [IDLE]     (started by documents.sandbox, never by hand)

It loads :mod:`documents.decoding` once, then reads requests on its standard input and answers
on its standard output (8 bytes of length, then a pickle; the output is moved to a private
descriptor first, so that a decoder writing to its standard output cannot corrupt an answer).
It acknowledges each request once read whole (:data:`ACK`), caps its own address space
(``RLIMIT_AS``) at the request's memory and its CPU (``RLIMIT_CPU``) at what it has used so far
plus the request's seconds, runs the work, pickles the answer under the same limits, puts the
limits back and answers with plain data only: the result, a refusal's code and figures, or what
went wrong. The caller stops waiting and kills it when the wall time is up.

It stops after answering (saying so in the answer) when the work ran out of memory, when its
address space grew by more than :data:`GROWTH` (a large file's memory does not stay), and after
:data:`READS` files. A damaged file (the decoder raised an error) or a refusal does not stop it. It stops when its standard input closes (the caller
is gone) and when no request came for ``IDLE`` seconds.

This module imports no Django.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import pickle
import resource
import select
import sys
from collections.abc import Callable
from typing import IO, Any

from documents.refusals import Refused

READS = 500  # files a reader reads before it makes way for a fresh one
GROWTH = 64 * 1024 * 1024  # address space a reader may keep above its start after a file
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


ACK = b"\x06"  # written once a request is read whole: from then on the reader is working on it


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _capped(value: int, hard: int) -> int:
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def _outcome(
    decoding: Any, function: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], bool]:
    try:
        return ("ok", getattr(decoding, function)(*args, **kwargs)), False
    except MemoryError:
        return ("memory",), True
    except Refused as refused:
        return ("refused", str(refused.code), dict(refused.params)), False
    except Exception as exc:  # a damaged file: the decoder said so, and the reader is as it was
        return ("failed", f"{type(exc).__name__}: {exc}"[:300]), False


def answer(
    decoding: Any, request: tuple[int, float, str, tuple[Any, ...], dict[str, Any]], *, grown: Callable[[], bool]
) -> tuple[bytes, bool]:
    """Run one request within its limits: the answer (pickled), and whether this reader stops
    after it (the work ran out of memory, or ``grown()`` says its memory stayed too large).

    The limits are lowered for the request (soft limits, within the hard limits the process was
    given: ``ulimit``, systemd's ``LimitAS=``) and put back as they were after it; the answer is
    pickled under them too."""
    memory, seconds, function, args, kwargs = request
    saved = {kind: resource.getrlimit(kind) for kind in (resource.RLIMIT_AS, resource.RLIMIT_CPU)}
    cpu = math.ceil(_cpu_seconds() + seconds) + 1
    try:
        try:
            hard = saved[resource.RLIMIT_AS][1]
            resource.setrlimit(resource.RLIMIT_AS, (_capped(memory, hard), hard))
            hard = saved[resource.RLIMIT_CPU][1]
            resource.setrlimit(resource.RLIMIT_CPU, (_capped(cpu, hard), hard))
            outcome, stopping = _outcome(decoding, function, args, kwargs)
            stopping = stopping or grown()
            return pickle.dumps((outcome, stopping), protocol=pickle.HIGHEST_PROTOCOL), stopping
        finally:
            for kind, limits in saved.items():
                resource.setrlimit(kind, limits)
    except MemoryError:  # answering took more than was left
        return pickle.dumps((("memory",), True)), True
    except Exception as exc:  # a result that does not pickle: a defect of the work
        return pickle.dumps((("failed", f"{type(exc).__name__}: {exc}"[:300]), True)), True


def _spent(start: int, last: bool) -> bool:
    """Whether this reader should make way for a fresh one: its last file, or its memory grew."""
    return last or address_space() - start > GROWTH


def serve(requests: IO[bytes], answers: IO[bytes], decoding: Any = None, *, idle: float | None = None) -> None:
    """Answer ``requests`` until they end, or none came for ``idle`` seconds, or this reader
    stops; the work is ``decoding``'s functions (:mod:`documents.decoding` unless given). Each
    request is acknowledged with :data:`ACK` once read, then answered."""
    if decoding is None:
        from documents import decoding

    start = address_space()
    for count in range(1, READS + 1):
        if idle is not None and not select.select([requests], [], [], idle)[0]:
            return  # a quiet server keeps no reader it does not use
        body = read_message(requests)
        if body is None:
            return
        request = pickle.loads(body)  # noqa: S301 (from the process that started this one)
        del body
        answers.write(ACK)
        answers.flush()
        reply, stopping = answer(decoding, request, grown=functools.partial(_spent, start, count == READS))
        del request
        write_message(answers, reply)
        if stopping:
            return


def main() -> None:
    # No core file: it would hold the files read and the environment.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
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
