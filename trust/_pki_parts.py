"""The installation PKI's building blocks: its files (PEM, atomic writes, the directory lock),
certificates and revocation lists. Used by :class:`trust.pki.Pki`."""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from trust.cms import PrivateKey

LOCK_FILE = ".lock"
CRL_VALIDITY = timedelta(days=365)
CRL_REFRESH_BEFORE = timedelta(days=90)
BACKDATE = timedelta(minutes=5)  # tolerate clocks of other machines being slightly behind
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,58}$")
_PEM_BLOCK_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----\s*", re.DOTALL)


class PkiMissing(RuntimeError):
    """The PKI directory holds no installation PKI, or lacks a part needed for an operation."""


Stamp = tuple[int, int] | None
_UNREAD: Stamp = (-1, -1)  # never the stamp of a real file, nor None (no file)


def _now() -> datetime:
    return datetime.now(UTC)


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    # A reader never sees a half-written file: write a sibling, then rename over the target.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, PrivateKey):
        raise ValueError(f"{path}: only EC and RSA keys are supported")
    return key


def _load_pem_objects(path: Path) -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    certs: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    for match in _PEM_BLOCK_RE.finditer(path.read_bytes()):
        if match.group(1) == b"CERTIFICATE":
            certs.append(x509.load_pem_x509_certificate(match.group(0)))
        elif match.group(1) == b"X509 CRL":
            crls.append(x509.load_pem_x509_crl(match.group(0)))
    return certs, crls


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _organization(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(values[0].value) if values else ""


def _issue(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: x509.Certificate | None,
    issuer_key: PrivateKey,
    validity: timedelta,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """Issue a certificate; ``issuer=None`` makes it self-signed."""
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if issuer is not None:
        # Where revocation status is published: the issuing CA itself, named as a directory
        # entry rather than a URL, since the installation's CRL is distributed with the PKI
        # (ca.crl.pem) and not fetched. Validators only consult CRLs for certificates that
        # declare a distribution point, so without it a revoked seal would still pass.
        crl_dp = x509.DistributionPoint(
            full_name=[x509.DirectoryName(issuer.subject)], relative_name=None, reasons=None, crl_issuer=None
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([crl_dp]), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _chain(leaf_and_more: list[x509.Certificate], anchors: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """Complete a chain with its issuer from the anchors so validators can always build a path."""
    chain = list(leaf_and_more)
    last = chain[-1]
    if last.issuer != last.subject:
        chain.extend(a for a in anchors if a.subject == last.issuer and a not in chain)
    return tuple(chain)


def _stamp(path: Path) -> Stamp:
    """Identifies a version of a file: os.replace gives every rewrite a new inode."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def _check_code(code: str) -> None:
    if not _CODE_RE.match(code):
        raise ValueError(f"invalid administration code {code!r}")


def _read_kek(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text().strip())
    if len(key) != 32:
        raise PkiMissing(f"{path} must hold 32 bytes in hexadecimal")
    return key


def _read_crl(path: Path) -> x509.CertificateRevocationList | None:
    crls = _load_pem_objects(path)[1] if path.is_file() else []
    return crls[0] if crls else None


def _expiring(crl: x509.CertificateRevocationList) -> bool:
    return crl.next_update_utc is None or crl.next_update_utc - _now() < CRL_REFRESH_BEFORE


def _arabic_name(cert: x509.Certificate) -> str:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    for name in alt.get_values_for_type(x509.DirectoryName):
        return _organization(name)
    return ""


def _build_crl(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    *,
    previous: x509.CertificateRevocationList | None = None,
    revoked: Iterable[x509.RevokedCertificate] = (),
) -> x509.CertificateRevocationList:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(now + CRL_VALIDITY)
        # RFC 5280 requires a monotonically increasing CRL number; the time is one.
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for entry in [*(previous if previous is not None else []), *revoked]:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca_key, hashes.SHA256())


@contextmanager
def _locked(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """An advisory lock over the whole PKI directory, shared by all processes of the host."""
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        if exclusive:
            raise
        # A read-only PKI directory (keys supplied by the operator) has no writers to wait for.
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
