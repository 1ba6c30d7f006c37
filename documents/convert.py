"""Office documents to PDF, when a converter is installed (LibreOffice's ``soffice``).

``settings.OFFICE_CONVERTER`` (``WASL_OFFICE_CONVERTER``) names the program; by default
``soffice`` or ``libreoffice`` found on the PATH. Without one, :func:`office_to_pdf` is not
offered and the pages say plainly that a PDF is needed. The conversion runs in a private
temporary directory, with a time limit; the result is checked like any uploaded PDF.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

OFFICE_EXTENSIONS = frozenset({".doc", ".docx", ".odt", ".rtf"})
TIMEOUT_SECONDS = 60


class ConversionFailed(Exception):
    """The converter could not make a PDF of this document."""


def converter() -> str | None:
    """The converter program, or None when none is installed."""
    configured = getattr(settings, "OFFICE_CONVERTER", "")
    if configured:
        return shutil.which(configured) or (configured if Path(configured).is_file() else None)
    return shutil.which("soffice") or shutil.which("libreoffice")


def is_office(filename: str) -> bool:
    return Path(filename).suffix.lower() in OFFICE_EXTENSIONS


def office_to_pdf(data: bytes, filename: str) -> bytes:
    """The PDF the converter makes of ``data`` (an office document named ``filename``)."""
    program = converter()
    if program is None:
        raise ConversionFailed("no converter installed")
    suffix = Path(filename).suffix.lower()
    if suffix not in OFFICE_EXTENSIONS:
        raise ConversionFailed(f"not an office document: {suffix}")
    with tempfile.TemporaryDirectory(prefix="wasl-convert-") as tmp:
        source = Path(tmp) / f"document{suffix}"
        source.write_bytes(data)
        try:
            subprocess.run(
                [program, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=True,
                cwd=tmp,
                env={"HOME": tmp, "PATH": "/usr/bin:/bin"},
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConversionFailed(str(exc)) from exc
        result = Path(tmp) / "document.pdf"
        if not result.is_file():
            raise ConversionFailed("the converter made no PDF")
        return result.read_bytes()
