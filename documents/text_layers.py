"""The text of stored files, for search: a PDF's own text, or OCR of its scanned pages.

Registration never waits for this. The search index asks for the text of each attachment
(:func:`text_layers_request`, a ``TextLayer`` row); the worker makes them
(:func:`text_layers_make`): a page that has text of its own (a born-digital PDF) is read in
reading order from where PDFium says its glyphs are drawn (:mod:`documents.pdftext`: Arabic,
French and both on a line, whatever order the producer stored them in); a page that is only a
picture (a scan) is recognised by OCRmyPDF and Tesseract (Arabic and French), run as a
separate process. The
original file is kept byte for byte; the searchable copy OCRmyPDF makes is stored beside it,
except for a signed PDF, whose text only is kept (a rewritten copy would no longer carry a
valid signature). What is indexed is OCRmyPDF's sidecar text, not the copy's text layer, which
scrambles Arabic word order.

Where Tesseract (or its Arabic or French data) is not installed, born-digital text is still
read and the layer says OCR is unavailable. A failure is retried with back-off; a crash in the
middle leaves the row pending, and it is taken again once its lease has run out.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F

from core.clock import now
from documents import storage
from documents.intake import file_work_limits, pdf_blob
from documents.models import Blob, TextLayer
from documents.sandbox import LimitExceeded, Refused, limited_command, run_limited

logger = logging.getLogger(__name__)

OCR_LANGUAGES = ("ara", "fra")
PAGE_HAS_TEXT = 16  # characters a page's own text needs to count as born-digital
BATCH_FILES = 8  # files the worker takes at a time
BATCH_PAGES = 24  # pages recognised in one OCRmyPDF run
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
SECONDS_PER_PAGE = 90  # OCR time allowed per page before it is stopped (and retried)
MIN_SECONDS = 300  # ... and for any run (a busy machine is slow; a stuck run is still stopped)
TEXT_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/tiff"}
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")
_SKIPPED = re.compile(r"^\[OCR skipped on page\(s\) [\d-]+\]$")


class RecognitionFailed(Exception):
    pass


@functools.cache
def ocr_unavailable_reason() -> str:
    """Why OCR cannot run here ("" when it can). Checked once per process."""
    if shutil.which("tesseract") is None:
        return "Tesseract is not installed"
    try:
        import ocrmypdf  # noqa: F401
    except ImportError:
        return "OCRmyPDF is not installed"
    try:
        listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Tesseract does not answer: {exc}"
    missing = [language for language in OCR_LANGUAGES if language not in listed.split()]
    if missing:
        return "Tesseract has no data for " + ", ".join(missing)
    return ""


def ocr_available() -> bool:
    return not ocr_unavailable_reason()


def text_layers_request(blob_ids: list[str]) -> None:
    """Ask for the text of these files (those that have text to find); asking twice is harmless."""
    wanted = Blob.objects.filter(pk__in=blob_ids, content_type__in=TEXT_TYPES).values_list("pk", flat=True)
    TextLayer.objects.bulk_create([TextLayer(blob_id=pk) for pk in wanted], ignore_conflicts=True)


def text_layers_make(*, limit: int = BATCH_FILES) -> int:
    """Make the due text layers (at most ``limit``); return how many were taken.

    The scans among them go to OCRmyPDF together, as one PDF of all their pages (at most
    BATCH_PAGES): a one-page letter then does not pay OCRmyPDF's start alone, and the pages
    are recognised two at a time. A batch that fails is done again file by file, so that one
    bad file never holds up the others."""
    claimed: list[str] = []
    due = list(
        TextLayer.objects.filter(status=TextLayer.Status.PENDING, next_attempt_at__lte=now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    # A lease longer than the longest run (a full batch): a worker that dies leaves its files to
    # be taken again after it, never while a live worker is still on them.
    lease = _lease(BATCH_PAGES)
    for pk in due:
        moment = now()
        if TextLayer.objects.filter(pk=pk, status=TextLayer.Status.PENDING, next_attempt_at__lte=moment).update(
            next_attempt_at=moment + lease, started_at=moment, attempts=F("attempts") + 1
        ):  # else another worker took it meanwhile
            claimed.append(pk)
    works = [work for work in map(_prepared, claimed) if work is not None]
    batch: list[_Work] = []
    for work in works:
        if not work.scanned or not ocr_available() or work.signed or len(work.texts) > BATCH_PAGES:
            _made(work)
        else:
            if batch and sum(len(w.texts) for w in batch) + len(work.texts) > BATCH_PAGES:
                _recognise_together(batch)
                batch = []
            batch.append(work)
    if batch:
        _recognise_together(batch)
    return len(claimed)


def _run_limit(pages: int) -> int:
    """How long an OCRmyPDF run of ``pages`` pages may take before it is stopped (seconds)."""
    return max(MIN_SECONDS, SECONDS_PER_PAGE * pages)


def _lease(pages: int) -> timedelta:
    """How long files being recognised (``pages`` pages) are kept from other workers: longer than
    their run may take."""
    return timedelta(seconds=_run_limit(pages) + 60)


def text_layer_make(blob_id: str) -> TextLayer:
    """Read or recognise the text of one stored file and record it (see the module's text)."""
    work = _prepared(blob_id)
    if work is not None:
        _made(work)
    return TextLayer.objects.get(pk=blob_id)


@dataclass
class _Work:
    layer: TextLayer
    texts: list[str]  # each page's own text ("" for a picture), then the recognised text
    pdf: bytes  # the file as a PDF (pictures put into one)
    scanned: list[int]  # pages with no text of their own
    started: float

    @property
    def signed(self) -> bool:
        return b"/ByteRange" in self.pdf


def _prepared(blob_id: str) -> _Work | None:
    layer = TextLayer.objects.select_related("blob").get(pk=blob_id)
    started = time.monotonic()
    try:
        texts, pdf = _pages_of(storage.read_bytes(layer.blob_id), layer.blob.content_type)
    except LimitExceeded as exceeded:
        # The same file would need as much again: no retry. The worker itself never held it.
        logger.warning("text of %s: over the limits of its child process (%s)", blob_id, exceeded)
        _fail(layer, _over_limits(exceeded))
        return None
    except Refused as refused:  # over a limit read before decoding (the pixels of a picture)
        logger.warning("text of %s: %s %s", blob_id, refused.code, refused.params)
        _fail(layer, f"{refused.code} (limit {refused.params.get('limit', '?')})")
        return None
    except Exception as exc:
        logger.warning("text of %s: %s", blob_id, exc)
        _retry_or_fail(layer, str(exc) or type(exc).__name__)
        return None
    scanned = [n for n, text in enumerate(texts) if len(text.strip()) < PAGE_HAS_TEXT]
    if len(scanned) > BATCH_PAGES:
        # Longer than a batch: recognised alone, and given the time its pages may take.
        TextLayer.objects.filter(pk=blob_id).update(next_attempt_at=now() + _lease(len(texts)))
    return _Work(layer=layer, texts=texts, pdf=pdf, scanned=scanned, started=started)


def _made(work: _Work) -> None:
    """Recognise ``work``'s scanned pages (alone) if it has any, and record its text."""
    searchable: bytes | None = None
    status = TextLayer.Status.DONE
    try:
        if work.scanned and not ocr_available():
            status = TextLayer.Status.UNAVAILABLE
            work.layer.last_error = ocr_unavailable_reason()
        elif work.scanned:
            recognised, searchable = _recognise(work.pdf, signed=work.signed, pages=len(work.texts))
            _take(work, recognised)
        _record(work, status, searchable)
    except Exception as exc:
        logger.warning("text of %s: %s", work.layer.pk, exc)
        _retry_or_fail(work.layer, str(exc) or type(exc).__name__)


def _recognise_together(batch: list[_Work]) -> None:
    if len(batch) == 1:
        _made(batch[0])
        return
    from pypdf import PdfReader, PdfWriter

    try:
        joined = PdfWriter()
        for work in batch:
            for page in PdfReader(io.BytesIO(work.pdf)).pages:
                joined.add_page(page)
        out = io.BytesIO()
        joined.write(out)
        total = sum(len(work.texts) for work in batch)
        recognised, searchable = _recognise(out.getvalue(), signed=False, pages=total)
        assert searchable is not None
        copy = PdfReader(io.BytesIO(searchable))
        first = 0
        for work in batch:
            count = len(work.texts)
            _take(work, recognised[first : first + count])
            part = PdfWriter()
            for page in copy.pages[first : first + count]:
                part.add_page(page)
            piece = io.BytesIO()
            part.write(piece)
            _record(work, TextLayer.Status.DONE, piece.getvalue())
            first += count
    except Exception as exc:
        logger.info("OCR of %d files together failed (%s): one by one", len(batch), exc)
        for work in batch:
            if not TextLayer.objects.filter(pk=work.layer.pk, status=TextLayer.Status.DONE).exists():
                _made(work)


def _take(work: _Work, recognised: list[str]) -> None:
    for n in work.scanned:
        work.texts[n] = recognised[n] if n < len(recognised) else ""
    work.layer.pages_recognised = len(work.scanned)


def _joined(texts: list[str]) -> str:
    """The text of a file from its pages' texts: a form feed between pages."""
    return _INVISIBLE.sub("", "\n\f".join(t.strip() for t in texts)).strip()


def _record(work: _Work, status: str, searchable: bytes | None) -> None:
    layer = work.layer
    text = _joined(work.texts)
    with transaction.atomic():
        layer.pages = len(work.texts)
        layer.text = text
        recognised = bool(work.scanned) and status == TextLayer.Status.DONE
        layer.method = TextLayer.Method.OCR if recognised else TextLayer.Method.TEXT if text else TextLayer.Method.NONE
        if searchable is not None:
            layer.searchable = pdf_blob(searchable, pages=layer.pages)
        layer.status = status
        layer.finished_at = now()
        layer.seconds = round(time.monotonic() - work.started, 2)
        if status == TextLayer.Status.DONE:
            layer.last_error = ""
        layer.save()


def text_layer_reread(blob_id: str) -> bool:
    """Read the own text of a PDF already done again, the way it is read today (after a change
    in :mod:`documents.pdftext`); True when its text changed, which is then recorded.

    Its pages with text of their own get the new reading; recognised pages (OCR) keep the
    text they have: nothing is recognised again. A file that cannot be read within its limits
    today keeps its text (logged)."""
    layer = TextLayer.objects.select_related("blob").get(pk=blob_id)
    if layer.status != TextLayer.Status.DONE or layer.blob.content_type != "application/pdf":
        return False
    try:
        texts, _ = _pages_of(storage.read_bytes(blob_id), layer.blob.content_type)
    except Exception as exc:  # over today's limits, damaged, or gone: it keeps what it has
        logger.warning("text of %s not read again: %s", blob_id, exc)
        return False
    if layer.method == TextLayer.Method.OCR:
        before = [page.strip() for page in layer.text.split("\f")]
        if len(before) != len(texts):
            logger.warning("text of %s not read again: %d pages, %d in its text", blob_id, len(texts), len(before))
            return False
        texts = [own if len(own.strip()) >= PAGE_HAS_TEXT else kept for own, kept in zip(texts, before, strict=True)]
    text = _joined(texts)
    if text == layer.text:
        return False
    TextLayer.objects.filter(pk=blob_id).update(text=text)
    return True


def _over_limits(exceeded: LimitExceeded) -> str:
    limits = file_work_limits()
    return (
        f"reading it needs more than {limits.memory // (1 << 20)} MB of memory or {limits.seconds:.0f} s "
        f"({exceeded.kind})"
    )


def _fail(layer: TextLayer, reason: str) -> None:
    layer.status = TextLayer.Status.FAILED
    layer.finished_at = now()
    layer.last_error = reason[:300]
    TextLayer.objects.filter(pk=layer.pk).update(
        status=layer.status, finished_at=layer.finished_at, last_error=layer.last_error
    )


def _retry_or_fail(layer: TextLayer, reason: str) -> None:
    attempts = TextLayer.objects.filter(pk=layer.pk).values_list("attempts", flat=True).first() or 1
    layer.last_error = reason[:300]
    if attempts > len(RETRY_DELAYS):
        layer.status = TextLayer.Status.FAILED
        layer.finished_at = now()
        TextLayer.objects.filter(pk=layer.pk).update(
            status=layer.status, finished_at=layer.finished_at, last_error=layer.last_error
        )
    else:
        layer.next_attempt_at = now() + RETRY_DELAYS[attempts - 1]
        TextLayer.objects.filter(pk=layer.pk).update(next_attempt_at=layer.next_attempt_at, last_error=layer.last_error)


def _pages_of(data: bytes, content_type: str) -> tuple[list[str], bytes]:
    """Each page's own text, and the file as a PDF; read in a child process within the limits
    of any file (documents.sandbox), so that a file no upload check would let through today
    (stored before the limits, or under larger ones) fails alone."""
    if content_type not in TEXT_TYPES:
        return [], b""
    texts, pdf = run_limited(
        "page_texts",
        data,
        content_type,
        max_pixels=settings.MAX_PIXELS,
        max_pages=settings.MAX_PAGES,
        max_inflated=settings.MAX_PDF_INFLATED,
        limits=file_work_limits(),
    )
    return texts, pdf or data


def _recognise(pdf: bytes, *, signed: bool, pages: int) -> tuple[list[str], bytes | None]:
    """OCR of the pages without text of ``pdf``: each page's recognised text, and the
    searchable copy (None for a signed PDF)."""
    with tempfile.TemporaryDirectory(prefix="wasl-ocr-") as work:
        source, output, sidecar = Path(work, "in.pdf"), Path(work, "out.pdf"), Path(work, "text.txt")
        source.write_bytes(pdf)
        command = [
            sys.executable,
            "-m",
            "ocrmypdf",
            "--language",
            "+".join(OCR_LANGUAGES),
            "--skip-text",
            "--output-type",
            "pdf",
            "--sidecar",
            str(sidecar),
            "--jobs",
            str(min(os.cpu_count() or 1, 2)),
            "--quiet",
        ]
        if signed:
            command.append("--invalidate-digital-signatures")  # the copy is thrown away
        command += [str(source), str(output)]
        try:
            limit = _run_limit(pages)
            # Each process of the run (OCRmyPDF, Ghostscript, Tesseract) within the memory of
            # any file's work; fewer malloc arenas keep threads' reserved address space small.
            # Tesseract on one thread (unless the environment says otherwise): OCRmyPDF would
            # give a short document's pages two OpenMP threads each, which spin while they wait
            # for one another; on a busy 2-core machine a page took three times the CPU and
            # twice the time.
            run = subprocess.run(
                limited_command(command, memory=settings.FILE_WORK_MEMORY),
                capture_output=True,
                text=True,
                timeout=limit,
                env={"OMP_THREAD_LIMIT": "1", **os.environ, "MALLOC_ARENA_MAX": "2"},
            )
        except subprocess.TimeoutExpired as exc:
            raise RecognitionFailed(f"OCR took longer than {exc.timeout:.0f} s") from exc
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]
            raise RecognitionFailed(f"OCRmyPDF: {last}"[:300])
        texts = [
            "" if _SKIPPED.match(page.strip()) else page
            for page in sidecar.read_text(encoding="utf-8", errors="replace").split("\f")
        ]
        return texts, None if signed else output.read_bytes()
