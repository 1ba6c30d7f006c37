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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trust.cms import SigningIdentity

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


class TimestampingServer:
    """A real RFC 3161 timestamping unit over HTTP on 127.0.0.1, answering with ``tsa`` (a PKI's
    timestamping identity), for ``WASL_TSA_URL`` in tests. It can be slow: each answer waits
    ``hold`` seconds, or until :attr:`release` is set (keep ``hold`` under the client's timeout,
    5 s for pyHanko). :attr:`arrivals` counts the requests received and :attr:`answered` those
    answered (counted before the answer is sent); :meth:`wait_for` blocks until so many
    requests are in."""

    def __init__(self, tsa: SigningIdentity, *, hold: float = 0.0) -> None:
        from http.server import ThreadingHTTPServer

        self.tsa, self.hold = tsa, hold
        self.release = threading.Event()
        self.arrivals = self.answered = 0
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _tsa_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> TimestampingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, arrivals: int, timeout: float = 60.0) -> bool:
        """Whether ``arrivals`` requests came in before ``timeout`` (a guard, not a measure)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.arrivals >= arrivals, timeout=timeout)

    def _count(self, attribute: str) -> None:
        with self._changed:
            setattr(self, attribute, getattr(self, attribute) + 1)
            self._changed.notify_all()


def _tsa_handler(server: TimestampingServer) -> type:
    from datetime import UTC, datetime
    from http.server import BaseHTTPRequestHandler

    from asn1crypto import cms as asn1_cms
    from asn1crypto import tsp

    from trust import cms

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            server._count("arrivals")
            if server.hold:
                server.release.wait(server.hold)
            token = cms.timestamp_token(
                server.tsa,
                imprint=request["message_imprint"]["hashed_message"].native,
                moment=datetime.now(UTC),
                nonce=request["nonce"].native,
            )
            response = tsp.TimeStampResp(
                {"status": {"status": "granted"}, "time_stamp_token": asn1_cms.ContentInfo.load(token)}
            ).dump()
            # Counted before the answer leaves: nothing that waits for it has seen it yet.
            server._count("answered")
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
