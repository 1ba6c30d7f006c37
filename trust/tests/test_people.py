"""People's signing certificates and keys: issued by the installation PKI or imported from a
PKCS#12 file, kept encrypted, signing PDFs one incremental signature after another."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.test import Client

from trust import keystore
from trust.cms import SigningIdentity
from trust.pki import Pki
from trust.sealing import seal_pdf, sign_pdf
from trust.testing import assert_pdfsig_trusted, pdfsig_available, pdfsig_report
from trust.verification import REVOKED, verify_pdf

needs_pdfsig = pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")


@pytest.fixture
def own_pki(tmp_path: Path) -> Pki:
    """A PKI of its own: these tests revoke certificates."""
    return Pki.create(tmp_path / "pki", "Wasl people test")


def person(pki: Pki, name: str = "Nadia Amrani", email: str = "nadia@commune.ma") -> SigningIdentity:
    key = keystore.new_key()
    cert = pki.issue_person(
        public_key=key.public_key(),
        full_name=name,
        email=email,
        organization_name="Commune de Test",
        organization_code="COMMUNE-TEST",
        title="Présidente",
    )
    return SigningIdentity(key=key, chain=(cert, pki.ca_cert))


def test_a_person_certificate_names_the_person_and_the_administration(own_pki: Pki) -> None:
    cert = person(own_pki).certificate
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[NameOID.COMMON_NAME] == "Nadia Amrani"
    assert subject[NameOID.ORGANIZATION_IDENTIFIER] == "COMMUNE-TEST"
    assert subject[NameOID.TITLE] == "Présidente"
    assert cert.issuer == own_pki.ca_cert.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    emails = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert emails.get_values_for_type(x509.RFC822Name) == ["nadia@commune.ma"]


@needs_pdfsig
def test_signatures_by_two_people_and_a_seal_all_stay_valid(own_pki: Pki, pdf: bytes) -> None:
    first = sign_pdf(pdf, identity=person(own_pki), pki=own_pki, reason="Visa")
    second = sign_pdf(first, identity=person(own_pki, "Karim Idrissi", "karim@commune.ma"), pki=own_pki, reason="Sig")
    sealed = seal_pdf(second, pki=own_pki, administration_code="COMMUNE-TEST", reason="Cachet")
    assert sealed.startswith(second) and second.startswith(first) and first.startswith(pdf)
    report = assert_pdfsig_trusted(sealed, own_pki.ca_certificate_pem)
    assert report.count("Signature #") == 3
    assert "Nadia Amrani" in report and "Karim Idrissi" in report
    verdict = verify_pdf(sealed, pki=own_pki)
    assert verdict.valid and verdict.signer_code == "COMMUNE-TEST"


def test_a_revoked_person_no_longer_verifies(own_pki: Pki, pdf: bytes) -> None:
    signer = person(own_pki)
    signed = sign_pdf(pdf, identity=signer, pki=own_pki, reason="Signature")
    assert verify_pdf(signed, pki=own_pki).valid and not own_pki.is_revoked(signer.certificate)
    own_pki.revoke(signer.certificate)
    assert own_pki.is_revoked(signer.certificate)
    verdict = verify_pdf(signed, pki=Pki.load(own_pki.directory))
    assert not verdict.valid and verdict.problem == REVOKED
    own_pki.revoke(signer.certificate)  # twice: one entry
    crl = Pki.load(own_pki.directory).crls[0]
    assert sum(1 for entry in crl if entry.serial_number == signer.certificate.serial_number) == 1


def test_only_our_own_certificates_can_be_revoked(own_pki: Pki, foreign_pki: Pki) -> None:
    with pytest.raises(ValueError):
        own_pki.revoke(person(foreign_pki).certificate)


def test_a_stored_key_opens_only_with_its_passphrase_and_the_installation_key(own_pki: Pki) -> None:
    kek = own_pki.key_encryption_key()
    assert len(kek) == 32 and kek == Pki.load(own_pki.directory).key_encryption_key()
    assert (own_pki.directory / "keystore.key").stat().st_mode & 0o077 == 0
    key = keystore.new_key()
    blob = keystore.lock_key(key, "correct horse battery", kek=kek)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert der not in blob
    opened = keystore.unlock_key(blob, "correct horse battery", kek=kek)
    assert opened.private_numbers() == key.private_numbers()
    with pytest.raises(keystore.WrongPassphrase):
        keystore.unlock_key(blob, "wrong horse battery", kek=kek)
    with pytest.raises(keystore.WrongPassphrase):
        keystore.unlock_key(blob, "correct horse battery", kek=bytes(32))  # the database alone
    with pytest.raises(keystore.WrongPassphrase):
        keystore.unlock_key(blob[:-1] + bytes([blob[-1] ^ 1]), "correct horse battery", kek=kek)
    with pytest.raises(keystore.WeakPassphrase):
        keystore.lock_key(key, "short", kek=kek)


def _p12(password: bytes) -> tuple[bytes, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Signataire externe")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(b"ext", key, cert, None, encryption), key, cert


def test_a_pkcs12_file_is_read_with_its_password() -> None:
    data, key, cert = _p12(b"provider-pass")
    read_key, chain = keystore.read_pkcs12(data, "provider-pass")
    assert chain[0] == cert and read_key.private_numbers() == key.private_numbers()
    with pytest.raises(keystore.WrongPassphrase):
        keystore.read_pkcs12(data, "nope")
    with pytest.raises(keystore.UnusableCertificateFile):
        keystore.read_pkcs12(b"%PDF-1.7 not a certificate", "provider-pass")


@needs_pdfsig
def test_pdfsig_flags_a_signature_from_an_unknown_provider(own_pki: Pki, pdf: bytes) -> None:
    """A key imported from a provider whose root is not trusted signs, but is reported untrusted."""
    data, _, _ = _p12(b"x")
    key, chain = keystore.read_pkcs12(data, "x")
    signed = sign_pdf(pdf, identity=SigningIdentity(key=key, chain=chain), pki=own_pki, reason="Signature")
    report = pdfsig_report(signed, own_pki.ca_certificate_pem)
    assert "Signature is Valid." in report and "Certificate is Trusted." not in report
    assert not verify_pdf(signed, pki=own_pki).trusted


@needs_pdfsig
def test_a_visible_signature_draws_its_block_where_asked_and_stays_valid(own_pki: Pki, pdf: bytes) -> None:
    import zlib

    from trust.pdf_update import Appearance, BlockImage, UnsupportedPdf, page_size

    block = BlockImage(width=2, height=1, data=zlib.compress(bytes([255, 0, 0, 0, 0, 255])))
    x0, y0, x1, y1 = page_size(pdf, -1)
    assert (x1 - x0, y1 - y0) == pytest.approx((595.28, 841.89), abs=0.1)  # A4
    appearance = Appearance(page=-1, x=300, y=50, width=200, image=block, lines=("2026-11-21 10:00 (UTC)",))
    signed = sign_pdf(pdf, identity=person(own_pki), pki=own_pki, reason="Signature", appearance=appearance)
    assert_pdfsig_trusted(signed, own_pki.ca_certificate_pem)
    assert b"/Subtype /Image" in signed and b"(2026-11-21 10:00 \\(UTC\\)) Tj" in signed
    assert b"/Rect [ 300 50 500 " in signed
    with pytest.raises(UnsupportedPdf):
        sign_pdf(
            pdf,
            identity=person(own_pki),
            pki=own_pki,
            reason="x",
            appearance=Appearance(**{**appearance.__dict__, "page": 5}),
        )


@needs_pdfsig
def test_validation_data_makes_a_signature_long_term_and_changes_nothing_it_signed(own_pki: Pki, pdf: bytes) -> None:
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    from trust.sealing import add_validation_data

    signer = person(own_pki)
    signed = sign_pdf(pdf, identity=signer, pki=own_pki, reason="Signature")
    lt = add_validation_data(signed, pki=own_pki, identity=signer)
    assert lt.startswith(signed)
    dss = PdfFileReader(BytesIO(lt)).root["/DSS"]
    assert len(dss["/Certs"]) >= 3 and len(dss["/CRLs"]) == 1  # signer, root, timestamping unit; the CRL
    verdict = verify_pdf(lt, pki=own_pki)
    assert verdict.valid and verdict.covers_whole_document
    assert_pdfsig_trusted(lt, own_pki.ca_certificate_pem)
    # Anything else appended after it is still a change.
    assert verify_pdf(lt + b"% later\n", pki=own_pki).problem == "modified_after_signing"


def test_the_crl_is_published_and_lists_a_revoked_person(db: None, client: Client) -> None:
    from cryptography import x509 as cx509

    from trust.services import installation_pki

    pki = installation_pki()
    signer = person(pki, "Revoked Person", "revoked@commune.ma")
    pki.revoke(signer.certificate)
    response = client.get("/verify/root-ca.crl.pem")
    assert response.status_code == 200
    crl = cx509.load_pem_x509_crl(response.content)
    assert crl.issuer == pki.ca_cert.subject
    assert crl.get_revoked_certificate_by_serial_number(signer.certificate.serial_number) is not None
