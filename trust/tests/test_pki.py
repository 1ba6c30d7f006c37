from __future__ import annotations

import multiprocessing
import stat
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust import _pki_parts
from trust.pki import Pki, PkiMissing, SealUnavailable

from .conftest import ADMIN_AR, ADMIN_CODE, ADMIN_FR


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    return str(name.get_attributes_for_oid(oid)[0].value)


def test_create_writes_ca_tsa_and_crl_with_private_keys_unreadable_by_others(pki_dir: Path, pki: Pki) -> None:
    for key in ("ca.key.pem", "tsa.key.pem", f"seals/{ADMIN_CODE}.key.pem"):
        assert _mode(pki_dir / key) == 0o600, key
    for cert in ("ca.cert.pem", "tsa.cert.pem", "ca.crl.pem"):
        assert _mode(pki_dir / cert) == 0o644, cert
    ca = pki.ca_cert
    assert _attr(ca.subject, NameOID.COMMON_NAME) == "Wasl installation root CA"
    assert pki.installation_name == "Wasl test installation"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert pki.ca_certificate_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_tsa_certificate_has_critical_timestamping_usage(pki: Pki) -> None:
    assert pki.tsa is not None
    eku = pki.tsa.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert pki.tsa.certificate.issuer == pki.ca_cert.subject


def test_seal_certificate_names_the_administration(pki: Pki) -> None:
    cert = pki.seal_for(code=ADMIN_CODE).certificate
    assert _attr(cert.subject, NameOID.ORGANIZATION_NAME) == ADMIN_FR
    assert _attr(cert.subject, NameOID.ORGANIZATION_IDENTIFIER) == ADMIN_CODE
    assert _attr(cert.subject, NameOID.COMMON_NAME) == f"{ADMIN_CODE} seal"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert _attr(alt.get_values_for_type(x509.DirectoryName)[0], NameOID.ORGANIZATION_NAME) == ADMIN_AR
    cert.verify_directly_issued_by(pki.ca_cert)


def test_seals_are_cached_and_persisted(pki_dir: Path, pki: Pki) -> None:
    first = pki.seal_for(code="CACHED", name_fr="Cache")
    assert pki.seal_for(code="CACHED") is first
    reloaded = Pki.load(pki_dir).seal_for(code="CACHED")
    assert reloaded.certificate == first.certificate


def test_renaming_an_administration_reissues_its_seal(pki: Pki) -> None:
    old = pki.seal_for(code="RENAMED", name_fr="Ancien nom").certificate
    new = pki.seal_for(code="RENAMED", name_fr="Nouveau nom").certificate
    assert new != old
    assert _attr(new.subject, NameOID.ORGANIZATION_NAME) == "Nouveau nom"
    assert pki.seal_for(code="RENAMED").certificate == new  # no name: keep the current seal


@pytest.mark.parametrize("code", ["", "../etc", "a/b", "x" * 80, "sp ace"])
def test_invalid_codes_are_refused(pki: Pki, code: str) -> None:
    with pytest.raises(ValueError):
        pki.seal_for(code=code)


def test_missing_pki_is_reported(tmp_path: Path) -> None:
    assert not Pki.exists(tmp_path)
    with pytest.raises(PkiMissing):
        Pki.load(tmp_path)


def test_create_refuses_to_overwrite(pki_dir: Path) -> None:
    with pytest.raises(FileExistsError):
        Pki.create(pki_dir, "again")


def test_without_ca_key_existing_seals_work_and_new_ones_are_refused(tmp_path: Path) -> None:
    Pki.create(tmp_path, "Offline root").seal_for(code="KEPT", name_fr="Gardé")
    (tmp_path / "ca.key.pem").unlink()
    offline = Pki.load(tmp_path)
    assert offline.seal_for(code="KEPT").certificate.issuer == offline.ca_cert.subject
    with pytest.raises(SealUnavailable, match=r"seals/NEW\.cert\.pem"):
        offline.seal_for(code="NEW")


def _issue_in_subprocess(directory: str) -> bytes:
    seal = Pki.load(directory).seal_for(code="RACE", name_fr="Course")
    return seal.certificate.fingerprint(hashes.SHA256())


@pytest.mark.slow
def test_processes_racing_to_issue_a_seal_agree_on_one(tmp_path: Path) -> None:
    Pki.create(tmp_path, "Race")
    # spawn, not fork: forking a process that runs threads (pytest, Django) is unsafe.
    with ProcessPoolExecutor(max_workers=4, mp_context=multiprocessing.get_context("spawn")) as pool:
        fingerprints = set(pool.map(_issue_in_subprocess, [str(tmp_path)] * 8))
    assert len(fingerprints) == 1
    # The files on disk are a matching pair (SigningIdentity checks key against certificate).
    assert Pki.load(tmp_path).seal_for(code="RACE").certificate.fingerprint(hashes.SHA256()) in fingerprints


def test_trust_directory_adds_roots_and_crls(tmp_path: Path, foreign_pki: Pki) -> None:
    local = Pki.create(tmp_path, "Local")
    assert foreign_pki.ca_key is not None
    crl = foreign_pki.crls[0].public_bytes(serialization.Encoding.PEM)
    (tmp_path / "trust" / "partner.pem").write_bytes(foreign_pki.ca_certificate_pem + crl)
    reloaded = Pki.load(tmp_path)
    assert reloaded.trust_roots == (local.ca_cert, foreign_pki.ca_cert)
    assert len(reloaded.crls) == 2


def test_expiring_crl_is_refreshed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pki_parts, "CRL_VALIDITY", timedelta(days=10))  # where the lists are built
    Pki.create(tmp_path, "Short CRL")
    monkeypatch.undo()
    crl = Pki.load(tmp_path).crls[0]
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > datetime.now(UTC) + timedelta(days=300)
    on_disk = x509.load_pem_x509_crl((tmp_path / "ca.crl.pem").read_bytes())
    assert on_disk.next_update_utc == crl.next_update_utc
