from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from trust.pki import Pki
from trust.sealing import seal_data, seal_pdf
from trust.testing import CERTIFICATE_TRUSTED, SIGNATURE_VALID, pdfsig_available, pdfsig_report
from trust.verification import PdfVerdict, verify_pdf, verify_sealed_data

from .conftest import ADMIN_CODE


def _assert_rejected(verdict: PdfVerdict, problem: str) -> None:
    assert not verdict.valid
    assert verdict.problem == problem, verdict
    assert verdict.signer_code is None


def _contents_hole(sealed: bytes) -> tuple[int, int]:
    match = re.search(rb"/Contents <([0-9a-f]+)>", sealed)
    assert match is not None
    return match.start(1), match.end(1)


@pytest.mark.parametrize(
    "garbage",
    [b"", os.urandom(5000), b"%PDF-1.7\n" + os.urandom(5000), b"%PDF-1.7\ntrailer<</Root 1 0 R>>\n%%EOF\n"],
    ids=["empty", "random", "pdf-header-then-random", "bare-trailer"],
)
def test_garbage_gives_a_verdict_not_an_exception(pki: Pki, garbage: bytes) -> None:
    _assert_rejected(verify_pdf(garbage, pki=pki), "unreadable")


def test_unsigned_pdf(pdf: bytes, pki: Pki) -> None:
    _assert_rejected(verify_pdf(pdf, pki=pki), "no_signature")


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9, 0.99])
def test_truncated_sealed_pdf(sealed: bytes, pki: Pki, fraction: float) -> None:
    verdict = verify_pdf(sealed[: int(len(sealed) * fraction)], pki=pki)
    assert not verdict.valid
    assert verdict.problem in {"unreadable", "no_signature", "not_intact", "modified_after_signing"}


def test_zeroed_signature(sealed: bytes, pki: Pki) -> None:
    start, end = _contents_hole(sealed)
    broken = sealed[:start] + b"0" * (end - start) + sealed[end:]
    _assert_rejected(verify_pdf(broken, pki=pki), "not_intact")


def test_signature_bytes_flipped(sealed: bytes, pki: Pki) -> None:
    start, end = _contents_hole(sealed)
    cms_hex = sealed[start:end].rstrip(b"0")
    position = start + len(cms_hex) - 20  # inside the timestamp token's signature, near the end
    flipped = bytearray(sealed)
    flipped[position] = ord("0") if flipped[position] != ord("0") else ord("1")
    verdict = verify_pdf(bytes(flipped), pki=pki)
    assert not verdict.valid


def test_byte_range_that_does_not_cover_the_file(sealed: bytes, pki: Pki) -> None:
    match = re.search(rb"/ByteRange \[0 (\d+) (\d+) (\d+)\s*\]", sealed)
    assert match is not None
    shorter = str(int(match.group(3)) - 10).encode()
    patched = sealed[: match.start(3)] + shorter.ljust(len(match.group(3))) + sealed[match.end(3) :]
    assert not verify_pdf(patched, pki=pki).valid


def test_seal_from_a_foreign_pki_is_untrusted(pdf: bytes, pki: Pki, foreign_pki: Pki) -> None:
    forged = seal_pdf(pdf, pki=foreign_pki, administration_code=ADMIN_CODE, reason="Récépissé de dépôt")
    verdict = verify_pdf(forged, pki=pki)
    _assert_rejected(verdict, "untrusted")
    assert verdict.intact and not verdict.trusted
    if pdfsig_available():
        report = pdfsig_report(forged, pki.ca_certificate_pem)
        assert SIGNATURE_VALID in report
        assert CERTIFICATE_TRUSTED not in report


def test_sealed_data_garbage(pki: Pki) -> None:
    for cms_der in (b"", os.urandom(300), b"\x30\x03\x02\x01\x01"):
        verdict = verify_sealed_data(b"data", cms_der, pki=pki)
        assert not verdict.valid and verdict.problem == "unreadable"


def test_sealed_data_does_not_accept_a_pdf_signature(sealed: bytes, pki: Pki) -> None:
    start, end = _contents_hole(sealed)
    # The hole is the DER signature in hex, padded with zero bytes: drop whole "00" pairs only
    # (stripping single "0" characters could cut the last digit of the signature itself).
    hex_text = sealed[start:end].decode()
    while hex_text.endswith("00"):
        hex_text = hex_text[:-2]
    cms_der = bytes.fromhex(hex_text)
    assert not verify_sealed_data(b"something else", cms_der, pki=pki).valid


def test_revoked_seal(pdf: bytes, tmp_path: Path) -> None:
    local = Pki.create(tmp_path, "Revocation")
    local.seal_for(code="LEAK", name_fr="Fuite")
    sealed = seal_pdf(pdf, pki=local, administration_code="LEAK", reason="x")
    signature = seal_data(b"data", pki=local, administration_code="LEAK")
    assert verify_pdf(sealed, pki=local).valid
    old_serial = local.seal_for(code="LEAK").certificate.serial_number

    local.revoke_seal(code="LEAK")

    for pki in (local, Pki.load(tmp_path)):  # this process and a fresh one
        assert verify_pdf(sealed, pki=pki).problem == "revoked"
        assert verify_sealed_data(b"data", signature, pki=pki).problem == "revoked"
    assert (tmp_path / "seals" / f"LEAK.revoked-{old_serial:x}.cert.pem").is_file()
    # The next seal comes from a fresh key and is valid.
    renewed = seal_pdf(pdf, pki=local, administration_code="LEAK", reason="x")
    assert local.seal_for(code="LEAK").certificate.serial_number != old_serial
    assert verify_pdf(renewed, pki=local).valid
