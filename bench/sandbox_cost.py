"""CPU of checking one uploaded PDF in a reader process (``documents.sandbox``), and of the check
alone.

    python -m bench.sandbox_cost [--files N]

Checks the same ~200 KB PDF ``N`` times with ``run_limited("pdf_inspect", …)`` as an upload is
checked, and adds up: this process's CPU (sending the request, waiting, reading the answer) and
the readers', read from ``/proc/<reader>/stat`` (and, for a reader that made way for a fresh one,
from this process's reaped children). Then ``documents.decoding.pdf_inspect`` on the
same bytes in this process: the check without the reader. The difference is what the isolation
costs per file.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from typing import Any


def _readers_seconds(sandbox: Any) -> float:
    """CPU of the readers idle now, and of those this process has reaped (a reader makes way
    for a fresh one after ``documents.reader.READS`` files)."""
    from bench.procstat import own_and_reaped_seconds

    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return reaped.ru_utime + reaped.ru_stime + sum(own_and_reaped_seconds(r.process.pid)[0] for r in sandbox._idle)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    args = parser.parse_args(argv)
    n = max(1, args.files)
    data_dir = tempfile.mkdtemp(prefix="wasl-bench-sandbox-")
    os.environ.update(DJANGO_SETTINGS_MODULE="wasl.settings", WASL_DEMO="true", WASL_DATA_DIR=data_dir)
    try:
        import django

        django.setup()
        from django.conf import settings

        from documents import decoding, sandbox
        from documents.intake import file_work_limits
        from documents.samples import pdf_bytes
        from documents.sandbox import run_limited

        pdf = pdf_bytes(pad_to=200_000, text="bench")
        limits: dict[str, Any] = {
            "max_pages": settings.MAX_PAGES,
            "max_pixels": settings.MAX_PIXELS,
            "max_inflated": settings.MAX_PDF_INFLATED,
        }
        run_limited("pdf_inspect", pdf, limits=file_work_limits(), **limits)  # starts the reader
        reader_before = _readers_seconds(sandbox)
        started = time.process_time()
        for _ in range(n):
            run_limited("pdf_inspect", pdf, limits=file_work_limits(), **limits)
        caller = (time.process_time() - started) * 1000 / n
        reader_after = _readers_seconds(sandbox)
        started = time.process_time()
        for _ in range(n):
            decoding.pdf_inspect(pdf, **limits)
        alone = (time.process_time() - started) * 1000 / n
        figures = {
            "caller_ms": caller,
            "reader_ms": (reader_after - reader_before) * 1000 / n,
            "check_alone_ms": alone,
        }
        total = figures["caller_ms"] + figures["reader_ms"]
        print(
            f"one PDF of {len(pdf) // 1000} KB, {n} times: {total:.2f} ms of CPU per file in all "
            f"(caller {caller:.2f}, reader {figures['reader_ms']:.2f}); "
            f"the check alone, in-process: {alone:.2f} ms"
        )
        return figures
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
