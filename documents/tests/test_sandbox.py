"""The readers that decode untrusted files: reused from file to file (a refused or damaged file
included), replaced after running out of memory or time, safe with threads and forks, and
answering with plain data only."""

from __future__ import annotations

import io
import os
import pickle
import resource
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from documents import reader, samples, sandbox
from documents.refusals import Refused
from documents.sandbox import LimitExceeded, Limits, WorkFailed, run_limited

LIMITS = Limits(memory=1 << 30, seconds=30)
INSPECT = {"max_pages": 50, "max_pixels": 10**8, "max_inflated": 10**8}


def served() -> sandbox._Reader:
    """The reader that read the last file: the one given back last (readers are taken from the
    end of the idle list and given back to it)."""
    return sandbox._idle[-1]


def idle_pids() -> list[int]:
    return [idle.process.pid for idle in sandbox._idle]


def test_one_reader_reads_file_after_file() -> None:
    pdf = samples.pdf_of_pages(3)
    assert run_limited("pdf_inspect", pdf, limits=LIMITS, **INSPECT) == 3
    first = served()
    for _ in range(5):
        assert run_limited("pdf_inspect", pdf, limits=LIMITS, **INSPECT) == 3
    assert served() is first


def test_a_refusal_or_a_damaged_file_fails_alone_and_keeps_the_reader() -> None:
    run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    first = served()
    with pytest.raises(Refused) as refused:
        run_limited("pdf_inspect", samples.pdf_of_pages(9), limits=LIMITS, **{**INSPECT, "max_pages": 7})
    assert (refused.value.code, refused.value.params) == ("too_many_pages", {"limit": 7})
    with pytest.raises(WorkFailed):
        run_limited("picture_inspect", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, limits=LIMITS, max_pixels=10**8, max_frames=5)
    assert served() is first
    assert run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT) == 1


def test_a_reader_over_its_memory_limit_is_replaced() -> None:
    run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    first = served()
    heavy = samples.png_of_pixels(20_000, 20_000, bits=1)  # 400 MB to decode
    with pytest.raises(LimitExceeded) as exceeded:
        run_limited(
            "picture_inspect", heavy, limits=Limits(memory=300 << 20, seconds=30), max_pixels=10**9, max_frames=5
        )
    assert exceeded.value.kind == "memory"
    assert first not in sandbox._idle
    assert first.process.wait(5) == 0  # it ended by itself, after answering
    assert run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT) == 1


def test_the_time_limit_holds_for_a_reader_that_has_worked_before() -> None:
    # The CPU limit counts from what the reader has used so far, and the wall time from the request.
    for _ in range(3):
        run_limited("pdf_inspect", samples.pdf_of_pages(40), limits=LIMITS, **INSPECT)
    first = served()
    many = samples.pdf_of_pages(60_000).replace(b"/Count 60000 ", b"/Count 1 ")
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as exceeded:
        run_limited("pdf_inspect", many, limits=Limits(memory=1 << 30, seconds=0.5), **{**INSPECT, "max_pages": 10**5})
    assert exceeded.value.kind == "time"
    assert time.monotonic() - started < 5
    assert first not in sandbox._idle
    assert first.process.returncode == -signal.SIGKILL


def test_a_reader_killed_while_idle_is_replaced_without_failing_the_next_file(monkeypatch: pytest.MonkeyPatch) -> None:
    run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    killed = served()
    os.kill(killed.process.pid, signal.SIGKILL)
    killed.process.wait()
    # Taken as if it were still alive (it died between the check and the request): it never
    # acknowledges the request, so the file goes to a fresh reader, once.
    monkeypatch.setattr(sandbox._Reader, "alive", lambda reader: True)
    assert run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT) == 1
    assert killed not in sandbox._idle and served() is not killed


def test_a_reader_idle_too_long_ends_and_the_next_file_gets_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_idle", [])  # readers of this test only, started with a short idle time
    monkeypatch.setattr(sandbox, "IDLE_SECONDS", 1)
    run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    [idle] = sandbox._idle
    assert idle.process.wait(10) == 0
    assert run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT) == 1
    assert idle_pids() not in ([], [idle.process.pid])


def test_threads_each_get_their_own_answer() -> None:
    files = {pages: samples.pdf_of_pages(pages) for pages in range(1, 9)}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: run_limited("pdf_inspect", files[n], limits=LIMITS, **INSPECT), files))
    assert answers == list(files)
    assert 1 <= len(sandbox._idle) <= sandbox.IDLE


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_forked_process_starts_its_own_readers() -> None:
    run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    parents = idle_pids()
    pipes = [
        pipe.fileno() for reader in sandbox._idle for pipe in (reader.process.stdin, reader.process.stdout) if pipe
    ]
    pid = os.fork()
    if pid == 0:  # the child: none of its parent's readers, and a reader of its own works
        code = 1
        try:
            closed = all(not _open(fd) for fd in pipes)
            if (
                closed
                and sandbox._idle == []
                and run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT) == 1
            ):
                code = 0 if not set(idle_pids()) & set(parents) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's readers still answer it.
    assert run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT) == 1
    assert sorted(idle_pids()) == sorted(parents)


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_an_answer_larger_than_a_pipe_comes_back_whole() -> None:
    noise = Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3))
    png = io.BytesIO()
    noise.save(png, "PNG", compress_level=1)
    pdf, pages = run_limited("pictures_to_pdf", [png.getvalue()], limits=LIMITS, max_pixels=10**8)
    assert pages == 1 and pdf.startswith(b"%PDF") and len(pdf) > len(png.getvalue()) > 4_000_000


def test_a_reader_gets_none_of_the_callers_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASL_SECRET_KEY", "not for the reader")
    monkeypatch.setattr(sandbox, "_idle", [])
    run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    [reader] = sandbox._idle
    environment = Path(f"/proc/{reader.process.pid}/environ").read_bytes()
    assert b"WASL_SECRET_KEY" not in environment and b"PATH=" in environment
    reader.stop(kill=True)


# What a reader taken over by a hostile file could answer instead of the truth: each is refused
# as a crash, at once and without holding what it claims, and that reader is killed.
def _framed(body: bytes) -> bytes:
    return reader.ACK + len(body).to_bytes(8) + body


HOSTILE_ANSWERS = {
    "an object": _framed(pickle.dumps((("ok", SimpleNamespace(x=1)), False))),
    "a length of 2**62": reader.ACK + (2**62).to_bytes(8),
    "a memo index of 2**28": _framed(b"]r" + (2**28).to_bytes(4, "little") + b"."),
    "a number of 5,000 digits": _framed(b"L" + b"9" * 5000 + b"L\n."),
    "a list, not an answer": _framed(pickle.dumps(["ok", 1])),
    "an unknown outcome": _framed(pickle.dumps((("granted", 1), False))),
    "no acknowledgement": b"?" + _framed(pickle.dumps((("ok", 1), False))),
}
FAKE_READER = (
    "import sys, time; requests = sys.stdin.buffer; requests.read(int.from_bytes(requests.read(8))); "
    "sys.stdout.buffer.write(bytes.fromhex(sys.argv[1])); sys.stdout.buffer.flush(); time.sleep(60)"
)


@pytest.mark.parametrize("answer", HOSTILE_ANSWERS.values(), ids=HOSTILE_ANSWERS.keys())
def test_a_hostile_answer_is_a_crash_and_its_reader_is_killed(monkeypatch: pytest.MonkeyPatch, answer: bytes) -> None:
    fake = sandbox._Reader([sys.executable, "-c", FAKE_READER, answer.hex()])
    monkeypatch.setattr(sandbox, "_idle", [fake])
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as exceeded:
        run_limited("pdf_inspect", samples.pdf_bytes(), limits=LIMITS, **INSPECT)
    assert exceeded.value.kind == "crashed"
    assert time.monotonic() - started < 10
    assert fake.process.returncode == -signal.SIGKILL
    assert sandbox._idle == []


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_reader_under_a_hard_memory_limit_stays_within_it() -> None:
    # A process started with a hard limit (ulimit -v, systemd's LimitAS=): the reader may lower its
    # soft limit under it, never raise it; a request asking for more gets the hard limit.
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            hard = reader.address_space() + (2 << 30)
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
            pages = run_limited(
                "pdf_inspect", samples.pdf_bytes(), limits=Limits(memory=hard * 4, seconds=30), **INSPECT
            )
            code = 0 if pages == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_answer_naming_a_class_or_function_is_refused() -> None:
    # A reader taken over by a hostile file could answer anything; the caller reads plain data only.
    hostile = pickle.dumps((("ok", SimpleNamespace(x=1)), False))
    with pytest.raises(pickle.UnpicklingError):
        sandbox._PlainData(io.BytesIO(hostile)).load()
    plain = pickle.dumps((("ok", (["text"], b"%PDF", 3, None, {"a": 1.5})), False))
    assert sandbox._PlainData(io.BytesIO(plain)).load() == (("ok", (["text"], b"%PDF", 3, None, {"a": 1.5})), False)


# --- The reader's own rules, run in this process -----------------------------------------------


def serve(decoding: Any, *requests: tuple[str, tuple[Any, ...]], memory: int = 1 << 40) -> list[tuple[Any, bool]]:
    incoming = io.BytesIO()
    for function, args in requests:
        reader.write_message(incoming, pickle.dumps((memory, 30.0, function, args, {})))
    incoming.seek(0)
    outgoing = io.BytesIO()
    reader.serve(incoming, outgoing, decoding)
    outgoing.seek(0)
    answers = []
    while outgoing.read(1) == reader.ACK:
        body = reader.read_message(outgoing)
        assert body is not None
        answers.append(pickle.loads(body))
    return answers


def test_a_request_runs_under_its_limits_and_they_are_put_back() -> None:
    before = {kind: resource.getrlimit(kind) for kind in (resource.RLIMIT_AS, resource.RLIMIT_CPU)}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    work = SimpleNamespace(
        limits=lambda: [resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)]
    )
    [((status, (memory, cpu)), stopping)] = serve(work, ("limits", ()), memory=8 << 30)
    assert (status, stopping) == ("ok", False)
    assert memory == (8 << 30, before[resource.RLIMIT_AS][1])
    assert used + 30 < cpu[0] <= used + 33 and cpu[1] == before[resource.RLIMIT_CPU][1]
    assert {kind: resource.getrlimit(kind) for kind in before} == before


def test_a_reader_stops_after_a_file_that_left_its_memory_grown() -> None:
    kept: list[bytearray] = []

    def grow() -> int:
        kept.append(bytearray(reader.GROWTH + (16 << 20)))
        return 2

    work = SimpleNamespace(small=lambda: 1, grow=grow)
    assert serve(work, ("small", ()), ("grow", ()), ("small", ())) == [(("ok", 1), False), (("ok", 2), True)]


def test_a_reader_stops_after_running_out_of_memory_but_not_after_a_refusal_or_an_error() -> None:
    def refuse() -> None:
        raise Refused("pdf_password")

    def fail() -> None:
        raise ValueError("damaged")

    def exhaust() -> None:
        raise MemoryError

    work = SimpleNamespace(refuse=refuse, fail=fail, exhaust=exhaust, small=lambda: 1)
    assert serve(work, ("refuse", ()), ("fail", ()), ("small", ()), ("exhaust", ()), ("small", ())) == [
        (("refused", "pdf_password", {}), False),
        (("failed", "ValueError: damaged"), False),
        (("ok", 1), False),
        (("memory",), True),
    ]


def test_a_reader_makes_way_after_its_quota_of_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "READS", 2)
    work = SimpleNamespace(small=lambda: 1)
    assert serve(work, ("small", ()), ("small", ()), ("small", ())) == [(("ok", 1), False), (("ok", 1), True)]
