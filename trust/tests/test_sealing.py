from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pypdf import PdfReader, PdfWriter

from trust import cms
from trust.pdf_update import UnsupportedPdf
from trust.pki import Pki
from trust.sealing import seal_data, seal_pdf, timestamp_token
from trust.testing import (
    CERTIFICATE_TRUSTED,
    SIGNATURE_VALID,
    TimestampingServer,
    assert_pdfsig_trusted,
    pdfsig_available,
    pdfsig_report,
)
from trust.verification import verify_pdf, verify_sealed_data

from .conftest import ADMIN_CODE

needs_pdfsig = pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def _xref_stream_pdf(pdf: bytes) -> bytes:
    writer = copy_into_new_writer(PdfFileReader(BytesIO(pdf)), writer_kwargs={"stream_xrefs": True})
    out = BytesIO()
    write: Callable[[BytesIO], None] = writer.write  # pyhanko leaves it unannotated
    write(out)
    return out.getvalue()


def test_seal_is_an_incremental_pades_signature(pdf: bytes, sealed: bytes) -> None:
    assert sealed.startswith(pdf)  # the original bytes are untouched
    signatures = PdfFileReader(BytesIO(sealed)).embedded_regular_signatures
    assert len(signatures) == 1
    sig_object = signatures[0].sig_object
    assert sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig_object["/Reason"] == "Récépissé de dépôt"
    assert signatures[0].sig_field["/Rect"] == [0, 0, 0, 0]  # invisible
    signer_info = signatures[0].signer_info
    assert "signature_time_stamp_token" in {a["type"].native for a in signer_info["unsigned_attrs"]}
    assert "signing_certificate_v2" in {a["type"].native for a in signer_info["signed_attrs"]}


def test_sealed_pdf_verifies_with_pyhanko(sealed: bytes, pki: Pki) -> None:
    verdict = verify_pdf(sealed, pki=pki)
    assert verdict.valid, verdict
    assert verdict.intact and verdict.trusted and verdict.covers_whole_document and verdict.timestamp_valid
    assert verdict.problem == ""
    assert verdict.signer_code == ADMIN_CODE
    assert verdict.timestamp_at is not None
    assert abs(verdict.timestamp_at - datetime.now(UTC)) < timedelta(minutes=5)


@needs_pdfsig
def test_sealed_pdf_verifies_with_pdfsig(sealed: bytes, pki: Pki) -> None:
    report = assert_pdfsig_trusted(sealed, pki.ca_certificate_pem)
    assert "ETSI.CAdES.detached" in report
    assert "Total document signed" in report


@needs_pdfsig
def test_pdfsig_does_not_trust_an_unknown_root(sealed: bytes) -> None:
    report = pdfsig_report(sealed)  # an NSS database without our CA
    assert SIGNATURE_VALID in report
    assert CERTIFICATE_TRUSTED not in report


@needs_pdfsig
def test_one_byte_changed_inside_the_signed_range_is_detected(sealed: bytes, pdf: bytes, pki: Pki) -> None:
    tampered = bytearray(sealed)
    offset = len(pdf) // 2  # somewhere in the original document, well inside the first signed range
    tampered[offset] ^= 0x01
    verdict = verify_pdf(bytes(tampered), pki=pki)
    assert not verdict.valid and not verdict.intact
    assert verdict.problem == "not_intact"
    assert SIGNATURE_VALID not in pdfsig_report(bytes(tampered), pki.ca_certificate_pem)


def test_bytes_appended_after_the_signature_are_reported(sealed: bytes, pki: Pki) -> None:
    verdict = verify_pdf(sealed + b"% appended later\n", pki=pki)
    assert verdict.intact and verdict.trusted
    assert not verdict.covers_whole_document
    assert not verdict.valid
    assert verdict.problem == "modified_after_signing"


@needs_pdfsig
def test_a_sealed_pdf_can_be_sealed_again(sealed: bytes, pki: Pki) -> None:
    pki.seal_for(code="MINT", name_fr="Ministère de l'Intérieur")
    twice = seal_pdf(sealed, pki=pki, administration_code="MINT", reason="Transmission")
    verdict = verify_pdf(twice, pki=pki)
    assert verdict.valid, verdict
    assert verdict.signer_code == "MINT"
    report = assert_pdfsig_trusted(twice, pki.ca_certificate_pem)
    assert report.count("Signature #") == 2
    fields = [s.field_name for s in PdfFileReader(BytesIO(twice)).embedded_regular_signatures]
    assert fields == ["Seal", "Seal2"]


@needs_pdfsig
def test_pdf_with_cross_reference_stream(pdf: bytes, pki: Pki) -> None:
    original = _xref_stream_pdf(pdf)
    assert b"/XRef" in original[-400:]
    sealed = seal_pdf(original, pki=pki, administration_code=ADMIN_CODE, reason="Test")
    assert b"/Type /XRef" in sealed[len(original) :]
    assert verify_pdf(sealed, pki=pki).valid
    assert_pdfsig_trusted(sealed, pki.ca_certificate_pem)


def test_non_ascii_reason_and_location(pdf: bytes, pki: Pki) -> None:
    sealed = seal_pdf(pdf, pki=pki, administration_code=ADMIN_CODE, reason="وصل إيداع", location="الرباط")
    sig_object = PdfFileReader(BytesIO(sealed)).embedded_regular_signatures[0].sig_object
    assert sig_object["/Reason"] == "وصل إيداع"
    assert sig_object["/Location"] == "الرباط"
    assert verify_pdf(sealed, pki=pki).valid


@pytest.mark.parametrize("garbage", [b"", b"not a pdf", b"%PDF-1.7\n%%EOF\n"])
def test_unreadable_input_cannot_be_sealed(pki: Pki, garbage: bytes) -> None:
    with pytest.raises(UnsupportedPdf):
        seal_pdf(garbage, pki=pki, administration_code=ADMIN_CODE, reason="x")


def test_encrypted_pdf_is_refused(pdf: bytes, pki: Pki) -> None:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = BytesIO()
    writer.write(out)
    with pytest.raises(UnsupportedPdf, match="encrypted"):
        seal_pdf(out.getvalue(), pki=pki, administration_code=ADMIN_CODE, reason="x")


def test_seal_data_round_trip_and_tampering(pki: Pki) -> None:
    data = b"checkpoint 42 " + hashlib.sha256(b"log").digest()
    signature = seal_data(data, pki=pki, administration_code=ADMIN_CODE)
    verdict = verify_sealed_data(data, signature, pki=pki)
    assert verdict.valid, verdict
    assert verdict.signer_code == ADMIN_CODE
    assert verdict.timestamp_at is not None
    tampered = verify_sealed_data(data + b"!", signature, pki=pki)
    assert not tampered.valid
    assert tampered.problem == "not_intact"


@needs_openssl
def test_seal_data_verifies_with_openssl(pki: Pki, tmp_path: Path) -> None:
    """OpenSSL's CMS code, a third implementation, accepts the detached signature."""
    (tmp_path / "data.bin").write_bytes(b"checkpoint 7")
    (tmp_path / "sig.der").write_bytes(seal_data(b"checkpoint 7", pki=pki, administration_code=ADMIN_CODE))
    (tmp_path / "ca.pem").write_bytes(pki.ca_certificate_pem)
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "data.bin",
               "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert "Verification successful" in result.stderr, result.stderr
    (tmp_path / "data.bin").write_bytes(b"checkpoint 8")
    assert subprocess.run(command, cwd=tmp_path, capture_output=True).returncode != 0


def test_seal_data_from_a_foreign_pki_is_untrusted(pki: Pki, foreign_pki: Pki) -> None:
    signature = seal_data(b"data", pki=foreign_pki, administration_code=ADMIN_CODE)
    verdict = verify_sealed_data(b"data", signature, pki=pki)
    assert not verdict.valid
    assert verdict.problem == "untrusted"
    assert verdict.signer_code is None


@needs_openssl
def test_timestamp_token_is_a_valid_rfc3161_token(pki: Pki, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"stamp me").digest()
    token = timestamp_token(digest, pki=pki)
    info = asn1_cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    assert isinstance(info, tsp.TSTInfo)
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["policy"].dotted == cms.WASL_TSA_POLICY
    # OpenSSL, a third implementation, checks the token against our CA and TSA certificate.
    assert pki.tsa is not None
    (tmp_path / "token.der").write_bytes(token)
    (tmp_path / "ca.pem").write_bytes(pki.ca_certificate_pem)
    (tmp_path / "tsa.pem").write_bytes(pki.tsa.certificate.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "ts", "-verify", "-token_in", "-in", "token.der", "-digest", digest.hex(), "-CAfile", "ca.pem",
         "-untrusted", "tsa.pem"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert "Verification: OK" in result.stdout, result.stdout + result.stderr


@pytest.fixture
def external_tsa_url(foreign_pki: Pki) -> Iterator[str]:
    assert foreign_pki.tsa is not None
    with TimestampingServer(foreign_pki.tsa) as server:
        yield server.url


def test_external_tsa_is_used_when_configured(
    pdf: bytes, foreign_pki: Pki, external_tsa_url: str, tmp_path: Path
) -> None:
    Pki.create(tmp_path, "Uses an external TSA")
    with_url = Pki.load(tmp_path, tsa_url=external_tsa_url)
    sealed = seal_pdf(pdf, pki=with_url, administration_code=ADMIN_CODE, reason="x")
    unsigned = PdfFileReader(BytesIO(sealed)).embedded_regular_signatures[0].signer_info["unsigned_attrs"]
    token = next(a["values"][0] for a in unsigned if a["type"].native == "signature_time_stamp_token")
    assert any("Somebody else" in str(c.chosen.subject.native) for c in token["content"]["certificates"])
    # Until the external TSA's root is trusted, the seal is but its timestamp is not.
    verdict = verify_pdf(sealed, pki=Pki.load(tmp_path))
    assert verdict.trusted and not verdict.timestamp_valid
    assert verdict.problem == "timestamp_invalid"
    (tmp_path / "trust" / "external-tsa.pem").write_bytes(foreign_pki.ca_certificate_pem)
    assert verify_pdf(sealed, pki=Pki.load(tmp_path)).valid
