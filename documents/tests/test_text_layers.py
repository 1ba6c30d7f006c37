"""The text of stored files: read from born-digital PDFs, recognised (OCR) in scans, by the worker."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from datetime import timedelta
from typing import Any

import pypdf
import pytest
from PIL import Image
from pytest_django import Settings

from core.clock import now
from documents import storage, text_layers
from documents.decoding import pictures_to_pdf
from documents.intake import pdf_blob
from documents.models import TextLayer
from documents.rendering import render_pdf
from documents.samples import SCANNED_LETTER, scanned_letter
from documents.text_layers import text_layer_make, text_layers_make, text_layers_request

pytestmark = pytest.mark.django_db

# In CI Tesseract is installed (.ci/run): the OCR tests must run there, never be skipped.
needs_ocr = pytest.mark.skipif(
    not text_layers.ocr_available() and os.environ.get("CI") != "true",
    reason="Tesseract with Arabic and French is not installed here",
)


def layer_of(pdf: bytes) -> TextLayer:
    blob = pdf_blob(pdf)
    text_layers_request([blob.pk])
    return TextLayer.objects.get(pk=blob.pk)


def test_a_born_digital_pdf_is_read_in_reading_order_without_ocr() -> None:
    layer = layer_of(render_pdf("scan_sample", SCANNED_LETTER))
    text_layer_make(layer.pk)
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.DONE and layer.method == TextLayer.Method.TEXT
    assert "أتشرف بأن ألتمس منكم تسليمي شهادة السكنى" in layer.text
    assert "certificat de résidence" in layer.text
    assert layer.pages == 1 and layer.pages_recognised == 0 and layer.searchable is None


@pytest.mark.slow
@needs_ocr
def test_a_scanned_bilingual_letter_is_recognised_and_a_searchable_copy_kept_beside_the_original() -> None:
    scan = scanned_letter()
    layer = layer_of(scan)
    assert text_layers_make() == 1
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.DONE and layer.method == TextLayer.Method.OCR, layer.last_error
    assert layer.pages == layer.pages_recognised == 1 and layer.attempts == 1
    for word in ("شهادة", "السكنى", "المستشفى", "certificat", "résidence", "bourse"):
        assert word in layer.text, word
    assert "\u200f" not in layer.text and "\u202b" not in layer.text
    # The original is kept byte for byte; the copy has text a PDF reader finds.
    assert hashlib.sha256(storage.read_bytes(layer.pk)).hexdigest() == layer.pk
    assert storage.read_bytes(layer.pk) == scan
    assert layer.searchable is not None
    copy_text = subprocess.run(
        ["pdftotext", "-", "-"], input=storage.read_bytes(layer.searchable.pk), capture_output=True, check=True
    ).stdout.decode()
    assert "certificat" in copy_text


@pytest.mark.slow
@needs_ocr
def test_a_signed_scan_is_recognised_but_never_rewritten() -> None:
    from trust.sealing import seal_pdf
    from trust.services import installation_pki

    signed = seal_pdf(scanned_letter(dpi=200), pki=installation_pki(), administration_code="TEST", reason="test")
    layer = layer_of(signed)
    text_layer_make(layer.pk)
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.DONE and "certificat" in layer.text
    assert layer.searchable is None


def test_without_tesseract_intake_goes_on_and_the_layer_says_ocr_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text_layers, "ocr_unavailable_reason", lambda: "Tesseract is not installed")
    layer = layer_of(scanned_letter(dpi=100))
    text_layer_make(layer.pk)
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.UNAVAILABLE and layer.finished
    assert layer.last_error == "Tesseract is not installed" and layer.text == ""


@pytest.mark.parametrize(("environment", "threads"), [(None, "1"), ("3", "3")])
def test_tesseract_runs_on_one_thread_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, environment: str | None, threads: str
) -> None:
    given: list[str | None] = []

    def run(command: list[str], **options: Any) -> object:
        given.append(options["env"].get("OMP_THREAD_LIMIT"))
        raise subprocess.TimeoutExpired(command, 1)

    if environment is None:
        monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    else:
        monkeypatch.setenv("OMP_THREAD_LIMIT", environment)
    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(text_layers.RecognitionFailed):
        text_layers._recognise(b"%PDF-1.7", signed=False, pages=1)
    assert given == [threads]


def test_a_failure_is_retried_with_back_off_then_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_layers, "ocr_unavailable_reason", lambda: "")

    def broken(*args: object, **kwargs: object) -> object:
        raise text_layers.RecognitionFailed("OCRmyPDF: page 1 is unreadable")

    monkeypatch.setattr(text_layers, "_recognise", broken)
    layer = layer_of(scanned_letter(dpi=100))
    assert text_layers_make() == 1
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.PENDING and layer.attempts == 1
    assert layer.last_error == "OCRmyPDF: page 1 is unreadable"
    assert layer.next_attempt_at > now() + timedelta(seconds=50)
    assert text_layers_make() == 0  # not due yet
    for _ in range(len(text_layers.RETRY_DELAYS)):
        TextLayer.objects.filter(pk=layer.pk).update(next_attempt_at=now())
        text_layers_make()
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.FAILED and layer.attempts == 1 + len(text_layers.RETRY_DELAYS)


def test_a_layer_taken_by_a_worker_that_died_is_taken_again_after_its_lease() -> None:
    layer = layer_of(render_pdf("scan_sample", SCANNED_LETTER))
    # A worker claimed it (lease in the future) and died before finishing.
    TextLayer.objects.filter(pk=layer.pk).update(next_attempt_at=now() + timedelta(minutes=2), attempts=1)
    assert text_layers_make() == 0
    TextLayer.objects.filter(pk=layer.pk).update(next_attempt_at=now() - timedelta(seconds=1))
    assert text_layers_make() == 1
    layer.refresh_from_db()
    assert layer.status == TextLayer.Status.DONE and layer.attempts == 2


def test_a_scan_longer_than_a_batch_is_given_the_time_its_pages_take(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_layers, "ocr_unavailable_reason", lambda: "")
    writer = pypdf.PdfWriter()
    for _ in range(30):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    layer = layer_of(out.getvalue())
    leases = []

    def recognise(*args: object, **kwargs: object) -> object:
        leases.append(TextLayer.objects.get(pk=layer.pk).next_attempt_at - now())
        raise text_layers.RecognitionFailed("stopped here")

    monkeypatch.setattr(text_layers, "_recognise", recognise)
    assert text_layers_make() == 1
    # While its 30 pages are recognised, no other worker may take it (a batch's lease is 37 min).
    assert leases and leases[0] > timedelta(seconds=30 * text_layers.SECONDS_PER_PAGE)


def test_pictures_become_one_pdf_a_page_a_frame_in_order() -> None:
    transparent = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    png = io.BytesIO()
    transparent.save(png, "PNG")
    frames = [Image.new("L", (50, 70), shade) for shade in (10, 200)]
    tiff = io.BytesIO()
    frames[0].save(tiff, "TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200))
    pdf, count = pictures_to_pdf([png.getvalue(), tiff.getvalue()], max_pixels=10**6)
    assert count == 3
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    # 50 px at 200 dpi is 18 pt wide; a picture without resolution is taken at 300 dpi.
    assert round(float(reader.pages[1].mediabox.width)) == 18
    assert round(float(reader.pages[0].mediabox.width)) == round(60 / 300 * 72)


def test_only_files_with_text_to_find_are_asked_for() -> None:
    from documents.models import Blob

    other = Blob.objects.create(sha256="0" * 64, size=1, content_type="application/zip")
    text_layers_request([other.pk])
    assert not TextLayer.objects.exists()


@pytest.mark.slow
@needs_ocr
def test_scans_waiting_together_are_recognised_in_one_run_and_each_gets_its_own_text_and_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[int] = []
    recognise = text_layers._recognise

    def counted(pdf: bytes, *, signed: bool, pages: int) -> object:
        runs.append(pages)
        return recognise(pdf, signed=signed, pages=pages)

    monkeypatch.setattr(text_layers, "_recognise", counted)
    first = layer_of(scanned_letter(dpi=200, title_fr="Permis de construire"))
    second = layer_of(scanned_letter(dpi=200, title_fr="Raccordement au réseau", title_ar="طلب الربط بالماء"))
    born = layer_of(render_pdf("scan_sample", SCANNED_LETTER))
    assert text_layers_make() == 3
    assert runs == [2]  # both scans in one OCRmyPDF run; the born-digital file needed none
    first.refresh_from_db()
    second.refresh_from_db()
    assert "Permis" in first.text and "Raccordement" not in first.text
    assert "Raccordement" in second.text and "الربط" in second.text
    for layer in (first, second):
        assert layer.status == TextLayer.Status.DONE and layer.method == TextLayer.Method.OCR
        assert layer.searchable is not None and layer.searchable.pk != layer.pk
        from pypdf import PdfReader

        assert len(PdfReader(io.BytesIO(storage.read_bytes(layer.searchable.pk))).pages) == 1
    born.refresh_from_db()
    assert born.method == TextLayer.Method.TEXT


def test_a_batch_that_fails_is_done_again_file_by_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_layers, "ocr_unavailable_reason", lambda: "")
    calls: list[int] = []

    def flaky(pdf: bytes, *, signed: bool, pages: int) -> tuple[list[str], bytes]:
        calls.append(pages)
        if pages > 1:
            raise text_layers.RecognitionFailed("one page of the batch is unreadable")
        return ["نص معروف"], pdf

    monkeypatch.setattr(text_layers, "_recognise", flaky)
    layers = [layer_of(scanned_letter(dpi=60, title_fr=f"Lettre {n}")) for n in range(2)]
    assert text_layers_make() == 2
    assert calls == [2, 1, 1]
    for layer in layers:
        layer.refresh_from_db()
        assert layer.status == TextLayer.Status.DONE and layer.text == "نص معروف"


def test_a_file_whose_reading_needs_more_than_its_limits_fails_alone_and_at_once(settings: Settings) -> None:
    """A file stored before the limits (or under larger ones): its text is read in a child
    process, which runs out of memory; the worker does not, and the other file is read."""
    from documents.models import Blob
    from documents.samples import png_of_pixels

    settings.FILE_WORK_MEMORY = 300 * 1024 * 1024
    settings.MAX_PIXELS = 500_000_000
    heavy = png_of_pixels(20_000, 20_000, bits=1)  # 400 MB once decoded
    sha256 = storage.store_bytes(heavy)
    Blob.objects.create(sha256=sha256, size=len(heavy), content_type="image/png", pages=1)
    letter = pdf_blob(render_pdf("scan_sample", SCANNED_LETTER))
    text_layers_request([sha256, letter.pk])
    assert text_layers_make() == 2
    failed, read = TextLayer.objects.get(pk=sha256), TextLayer.objects.get(pk=letter.pk)
    assert failed.status == TextLayer.Status.FAILED and failed.attempts == 1
    assert "300 MB of memory" in failed.last_error
    assert read.status == TextLayer.Status.DONE and "certificat de résidence" in read.text


def test_a_stored_file_over_the_limits_of_today_fails_at_once_without_being_read(settings: Settings) -> None:
    from documents.models import Blob
    from documents.samples import pdf_inflating_to, tiff_of_frames

    settings.MAX_PAGES = 7
    settings.MAX_PDF_INFLATED = 2 * 1024 * 1024
    frames = tiff_of_frames(8)
    sha256 = storage.store_bytes(frames)
    Blob.objects.create(sha256=sha256, size=len(frames), content_type="image/tiff", pages=8)
    bomb = pdf_blob(pdf_inflating_to(3 * 1024 * 1024))
    text_layers_request([sha256, bomb.pk])
    assert text_layers_make() == 2
    for pk, code in ((sha256, "too_many_pages"), (bomb.pk, "pdf_inflated")):
        layer = TextLayer.objects.get(pk=pk)
        assert layer.status == TextLayer.Status.FAILED and layer.attempts == 1
        assert layer.last_error.startswith(code)
