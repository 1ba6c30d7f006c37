"""Helpers for tests of any app: sample PDFs, and poppler's ``pdfsig`` as an independent validator.

pyHanko both makes and checks our seals, so a bug shared by both sides would go unnoticed;
``pdfsig`` (poppler + NSS) is a second, unrelated implementation. It trusts the CAs of an NSS
database, so :func:`pdfsig_report` keeps one small database per CA, created on first use and
removed when the process exits.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

PDFSIG = shutil.which("pdfsig") or "/usr/bin/pdfsig"
CERTUTIL = shutil.which("certutil") or "/usr/bin/certutil"
SIGNATURE_VALID = "Signature is Valid."
CERTIFICATE_TRUSTED = "Certificate is Trusted."

_lock = threading.Lock()


def pdfsig_available() -> bool:
    return Path(PDFSIG).is_file() and Path(CERTUTIL).is_file()


@cache
def _nss_db(ca_pem: bytes) -> Path:
    """An NSS database trusting ``ca_pem`` (an empty one for b"")."""
    directory = Path(tempfile.mkdtemp(prefix="wasl-nss-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    subprocess.run([CERTUTIL, "-N", "-d", f"sql:{directory}", "--empty-password"], check=True, capture_output=True)
    if ca_pem:
        (directory / "ca.pem").write_bytes(ca_pem)
        subprocess.run(
            [CERTUTIL, "-A", "-d", f"sql:{directory}", "-n", "root", "-t", "CT,C,C", "-i", str(directory / "ca.pem")],
            check=True,
            capture_output=True,
        )
    return directory


def pdfsig_report(pdf: bytes, ca_pem: bytes = b"") -> str:
    """What ``pdfsig`` prints for ``pdf`` when it trusts only ``ca_pem`` (stdout and stderr)."""
    with _lock:  # certutil on one database at a time
        database = _nss_db(ca_pem)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        result = subprocess.run(
            [PDFSIG, "-nssdir", f"sql:{database}", handle.name], capture_output=True, text=True, timeout=60
        )
    return result.stdout + result.stderr


def assert_pdfsig_trusted(pdf: bytes, ca_pem: bytes) -> str:
    """Fail unless pdfsig finds every signature valid and its certificate trusted."""
    report = pdfsig_report(pdf, ca_pem)
    signatures = report.count("Signature #")
    assert signatures, f"pdfsig found no signature:\n{report}"
    assert report.count(SIGNATURE_VALID) == signatures, report
    assert report.count(CERTIFICATE_TRUSTED) == signatures, report
    return report


def sample_pdf(text: str = "Récépissé de dépôt", *, paragraphs: int = 3) -> bytes:
    """A small one-page PDF made by typst with its embedded fonts (no system font needed)."""
    import typst

    with tempfile.TemporaryDirectory(prefix="wasl-typst-") as tmp:
        source = Path(tmp) / "sample.typ"
        body = "\n\n".join(["#lorem(60)"] * paragraphs)
        # The title goes in through sys.inputs, so it needs no escaping as typst markup.
        source.write_text(f"= #sys.inputs.title\n\nRéférence : #box[2026-000123]\n\n{body}\n", encoding="utf-8")
        return bytes(typst.compile(str(source), ignore_system_fonts=True, sys_inputs={"title": text}))
