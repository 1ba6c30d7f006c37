"""Helpers for tests that check rendered PDFs with the real tools, not with mocks.

They run poppler's ``pdftotext`` and ``pdftoppm`` and zbar's ``zbarimg`` (Debian packages
``poppler-utils`` and ``zbar-tools``). ``missing_pdf_tools()`` names the ones that are absent,
for a ``pytest.mark.skipif``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

PDF_TOOLS: tuple[str, ...] = ("pdftotext", "pdftoppm", "zbarimg")

# Directional formatting characters that pdftotext wraps around right-to-left runs
# (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def missing_pdf_tools() -> list[str]:
    """The command-line tools used by this module that are not on PATH."""
    return [tool for tool in PDF_TOOLS if shutil.which(tool) is None]


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The text of ``pdf`` as ``pdftotext`` extracts it, without bidi control characters.

    Arabic comes out in logical (reading) order. With ``layout=True`` pdftotext keeps the
    physical layout, so a label and its value stay on one line.
    """
    args = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    result = subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True, timeout=60)
    return _BIDI_CONTROLS.sub("", result.stdout.decode("utf-8"))


def qr_urls_in_pdf(pdf: bytes, *, dpi: int = 110) -> list[str]:
    """Every QR code payload found on the pages of ``pdf``, page by page, as zbar decodes it.

    Each page is rasterised with ``pdftoppm -r <dpi>`` (110 dpi is about what a phone sees
    on a printed page) and scanned with ``zbarimg``. Returns an empty list when no code is
    found. zbarimg's harmless warnings on stderr (dbus) are ignored.
    """
    with tempfile.TemporaryDirectory(prefix="wasl-qr-") as tmp:
        directory = Path(tmp)
        source = directory / "document.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(source), str(directory / "page")],
            capture_output=True,
            check=True,
            timeout=60,
        )
        urls: list[str] = []
        for page in sorted(directory.glob("page*.png")):
            result = subprocess.run(
                ["zbarimg", "-q", "--raw", str(page)],
                capture_output=True,
                timeout=60,
            )
            # Exit status 4 means "no symbol found"; anything else but 0 is a failure.
            if result.returncode not in (0, 4):
                raise RuntimeError(
                    f"zbarimg failed on {page.name} ({result.returncode}): {result.stderr.decode(errors='replace')}"
                )
            urls.extend(line for line in result.stdout.decode("utf-8").splitlines() if line)
        return urls
