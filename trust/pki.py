"""The installation PKI: a root CA, a timestamping unit (TSA) and one seal per administration.

Everything lives in one directory (``settings.PKI_DIR``)::

    ca.cert.pem              root CA certificate: the trust anchor of every seal
    ca.key.pem               root CA key (0600); needed only to issue/revoke seals and renew the CRL
    ca.crl.pem               CRL signed by the root, so that validators check revocation offline
    tsa.cert.pem, tsa.key.pem            the timestamping unit (EKU timeStamping, critical)
    seals/<CODE>.cert.pem, seals/<CODE>.key.pem     one seal per administration
    seals/<CODE>.revoked-<serial>.cert.pem          seals revoked by :meth:`Pki.revoke_seal`
    seals/installation.cert.pem, .key.pem     the installation's exchange identity (other installations)
    keystore.key             key-encryption key (0600) of the people's signing keys kept in the
                             database (:mod:`trust.keystore`); never stored in the database
    trust/*.pem              extra trust anchors and CRLs (external CA, external TSA)
    .lock                    fcntl lock: writers exclusive, readers shared, across processes

A seal certificate's subject is O=<French name>, organizationIdentifier=<CODE>, CN="<CODE> seal";
the Arabic name, when given, is a directoryName in subjectAltName. Its keyUsage is
digitalSignature + nonRepudiation. Certificates name the root as their CRL distribution point
(a directory name, not a URL: the CRL travels with the PKI and nothing is fetched).

Bringing your own keys: an operator may put PEM files issued by another CA under the same
names instead of running ``manage.py pki_init``. A ``*.cert.pem`` file may hold a chain (the
certificate first, then its issuers, which are then embedded in every signature). Keys are
unencrypted PKCS#8 or traditional PEM, EC or RSA. Put the root of that external chain (and the
CRLs it publishes, as PEM "X509 CRL" blocks) in ``trust/``: verification trusts the
certificates of ``ca.cert.pem`` plus every certificate found in ``trust/*.pem``. Without
``ca.key.pem`` seals cannot be issued on demand, so every administration's seal must then be
supplied the same way; the directory may then be read-only. An external TSA (``WASL_TSA_URL``)
replaces ``tsa.*.pem``; its root goes in ``trust/`` too. Files replaced while the application
runs are picked up: a seal's certificate file and the CRL are checked (one stat) on each use.

Keys are EC P-256: signing is ~20x cheaper than RSA-2048 and the signatures are smaller.
Validity periods are long (root 30 years, TSA 20, seals 10, renewed a year before expiry)
because a seal is verified long after it was made, and the PKI has no online services.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust._pki_parts import (
    _UNREAD,
    BACKDATE,
    Stamp,
    _arabic_name,
    _build_crl,
    _cert_pem,
    _chain,
    _check_code,
    _expiring,
    _issue,
    _key_pem,
    _key_usage,
    _load_key,
    _load_pem_objects,
    _locked,
    _name,
    _now,
    _organization,
    _read_crl,
    _read_kek,
    _stamp,
    _write_atomic,
)
from trust._pki_parts import (
    LOCK_FILE as LOCK_FILE,  # the lock's own file: not part of the PKI a backup copies
)
from trust._pki_parts import (
    PkiMissing as PkiMissing,  # raised by this module: part of its interface
)
from trust.cms import PrivateKey, SigningIdentity

CA_CERT = "ca.cert.pem"
CA_KEY = "ca.key.pem"
CA_CRL = "ca.crl.pem"
TSA_CERT = "tsa.cert.pem"
TSA_KEY = "tsa.key.pem"
KEYSTORE_KEY = "keystore.key"
SEALS_DIR = "seals"
TRUST_DIR = "trust"
EXCHANGE_CODE = "installation"  # the exchange identity's file name; administrations' codes are capitals

ROOT_CA_CN = "Wasl installation root CA"
TSA_CN = "Wasl timestamping unit"
ROOT_VALIDITY = timedelta(days=30 * 365)
TSA_VALIDITY = timedelta(days=20 * 365)
SEAL_VALIDITY = timedelta(days=10 * 365)
SEAL_RENEW_BEFORE = timedelta(days=365)
PERSON_VALIDITY = timedelta(days=3 * 365)


def pki_directory_locked(directory: Path | str, *, exclusive: bool = False) -> AbstractContextManager[None]:
    """The PKI directory's lock, for a tool that reads or writes the directory whole (a backup).

    Shared, no seal is half-issued and no key is paired with another certificate while it is held.
    """
    return _locked(Path(directory), exclusive=exclusive)


class SealUnavailable(RuntimeError):
    """No seal exists for an administration and none can be issued (no CA key)."""


@dataclass(frozen=True)
class _Seal:
    identity: SigningIdentity
    renew_after: datetime
    stamp: Stamp  # of the certificate file, so a seal replaced by another process is noticed


class Pki:
    """A loaded installation PKI. Parse once per process and share: keys are cached here."""

    def __init__(
        self,
        directory: Path,
        *,
        ca_cert: x509.Certificate,
        ca_key: PrivateKey | None,
        tsa: SigningIdentity | None,
        extra_roots: list[x509.Certificate],
        extra_crls: list[x509.CertificateRevocationList],
        tsa_url: str = "",
    ) -> None:
        self.directory = directory
        self.ca_cert = ca_cert
        self.ca_key = ca_key
        self.tsa = tsa
        self.tsa_url = tsa_url
        self.trust_roots: tuple[x509.Certificate, ...] = (ca_cert, *extra_roots)
        self._extra_crls = tuple(extra_crls)
        self._own_crl: x509.CertificateRevocationList | None = None
        self._crl_stamp: Stamp = _UNREAD
        self._seals: dict[str, _Seal] = {}
        self._lock = threading.RLock()

    # -- creation and loading -------------------------------------------------------------

    @staticmethod
    def exists(directory: Path | str) -> bool:
        return (Path(directory) / CA_CERT).is_file()

    @classmethod
    def create(cls, directory: Path | str, installation_name: str, *, tsa_url: str = "") -> Pki:
        """Create a new root CA, timestamping unit and CRL in ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(directory, exclusive=True):
            if cls.exists(directory):
                raise FileExistsError(f"an installation PKI already exists in {directory}")
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_cert = _issue(
                subject=_name((NameOID.ORGANIZATION_NAME, installation_name), (NameOID.COMMON_NAME, ROOT_CA_CN)),
                public_key=ca_key.public_key(),
                issuer=None,
                issuer_key=ca_key,
                validity=ROOT_VALIDITY,
                extensions=[
                    # Path length 0: the root only ever issues end-entity certificates.
                    (x509.BasicConstraints(ca=True, path_length=0), True),
                    (_key_usage(signing=False), True),
                ],
            )
            tsa_key = ec.generate_private_key(ec.SECP256R1())
            tsa_cert = _issue(
                subject=_name((NameOID.ORGANIZATION_NAME, installation_name), (NameOID.COMMON_NAME, TSA_CN)),
                public_key=tsa_key.public_key(),
                issuer=ca_cert,
                issuer_key=ca_key,
                validity=TSA_VALIDITY,
                extensions=[
                    (x509.BasicConstraints(ca=False, path_length=None), True),
                    (_key_usage(signing=True), True),
                    # RFC 3161 §2.3: the TSA certificate has only timeStamping, marked critical.
                    (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),
                ],
            )
            _write_atomic(directory / CA_KEY, _key_pem(ca_key), mode=0o600)
            _write_atomic(directory / TSA_KEY, _key_pem(tsa_key), mode=0o600)
            _write_atomic(directory / TSA_CERT, _cert_pem(tsa_cert), mode=0o644)
            crl = _build_crl(ca_cert, ca_key)
            _write_atomic(directory / CA_CRL, crl.public_bytes(serialization.Encoding.PEM), mode=0o644)
            (directory / SEALS_DIR).mkdir(mode=0o700, exist_ok=True)
            (directory / TRUST_DIR).mkdir(mode=0o755, exist_ok=True)
            # Written last: its presence is what marks the PKI as complete.
            _write_atomic(directory / CA_CERT, _cert_pem(ca_cert), mode=0o644)
        return cls.load(directory, tsa_url=tsa_url)

    @classmethod
    def load(cls, directory: Path | str, *, tsa_url: str = "") -> Pki:
        directory = Path(directory)
        if not cls.exists(directory):
            raise PkiMissing(f"no installation PKI in {directory} ({CA_CERT} not found)")
        with _locked(directory, exclusive=False):
            ca_certs, _ = _load_pem_objects(directory / CA_CERT)
            if not ca_certs:
                raise PkiMissing(f"{directory / CA_CERT} holds no certificate")
            ca_cert = ca_certs[0]
            ca_key = _load_key(directory / CA_KEY) if (directory / CA_KEY).is_file() else None
            extra_roots: list[x509.Certificate] = ca_certs[1:]
            extra_crls: list[x509.CertificateRevocationList] = []
            trust_dir = directory / TRUST_DIR
            for path in sorted(trust_dir.glob("*.pem")) if trust_dir.is_dir() else []:
                certs, crls = _load_pem_objects(path)
                extra_roots.extend(certs)
                extra_crls.extend(crls)
            tsa = None
            if (directory / TSA_CERT).is_file() and (directory / TSA_KEY).is_file():
                tsa_certs, _ = _load_pem_objects(directory / TSA_CERT)
                tsa = SigningIdentity(
                    key=_load_key(directory / TSA_KEY), chain=_chain(tsa_certs, [ca_cert, *extra_roots])
                )
        return cls(
            directory,
            ca_cert=ca_cert,
            ca_key=ca_key,
            tsa=tsa,
            extra_roots=extra_roots,
            extra_crls=extra_crls,
            tsa_url=tsa_url,
        )

    # -- public properties ----------------------------------------------------------------

    @property
    def installation_name(self) -> str:
        return _organization(self.ca_cert.subject)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the root certificate (hex): what other installations pin."""
        return hashlib.sha256(self.ca_cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    def exchange_identity(self) -> SigningIdentity:
        """The installation's own key and certificate, which sign its exchange requests and
        answers to other installations; issued from the root like a seal, on first use."""
        return self.seal_for(code=EXCHANGE_CODE, name_fr=self.installation_name)

    @property
    def ca_certificate_pem(self) -> bytes:
        return _cert_pem(self.ca_cert)

    @property
    def crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        """CRLs for validation: ours (reread when it changes, renewed before expiry) + trust/."""
        own = self._own_crl
        renew = own is not None and self.ca_key is not None and _expiring(own)
        if renew or self._crl_stamp != _stamp(self.directory / CA_CRL):
            with self._lock:
                own, self._crl_stamp = self._current_crl()
                self._own_crl = own
        return (own, *self._extra_crls) if own is not None else self._extra_crls

    # -- seals -----------------------------------------------------------------------------

    def seal_for(self, *, code: str, name_fr: str = "", name_ar: str = "") -> SigningIdentity:
        """The seal of administration ``code``, issued on first use (and renewed) if we can.

        With names, a seal whose certificate carries other names is reissued: call this when an
        administration is created or renamed. Without names an existing seal is returned as is,
        and a missing one is issued in the code's name.
        """
        _check_code(code)
        cached = self._seals.get(code)
        if (
            cached is not None
            and cached.stamp == _stamp(self._seal_paths(code)[0])  # ~2 µs, catches revocations
            and _now() < cached.renew_after
            and not self._renamed(cached, name_fr, name_ar)
        ):
            return cached.identity
        with self._lock:
            seal = self._read_seal(code)
            if seal is None or (self.ca_key is not None and self._stale(seal, name_fr, name_ar)):
                seal = self._issue_seal(code=code, name_fr=name_fr, name_ar=name_ar)
            self._seals[code] = seal
            return seal.identity

    def _renamed(self, seal: _Seal, name_fr: str, name_ar: str) -> bool:
        cert = seal.identity.certificate
        if name_fr and _organization(cert.subject) != name_fr:
            return True
        return bool(name_ar) and _arabic_name(cert) != name_ar

    def _stale(self, seal: _Seal, name_fr: str, name_ar: str) -> bool:
        return _now() >= seal.renew_after or self._renamed(seal, name_fr, name_ar)

    def _seal_paths(self, code: str) -> tuple[Path, Path]:
        base = self.directory / SEALS_DIR
        return base / f"{code}.cert.pem", base / f"{code}.key.pem"

    def _load_seal(self, code: str) -> _Seal | None:
        """Read a seal from disk; the caller holds the directory lock."""
        cert_path, key_path = self._seal_paths(code)
        if not (cert_path.is_file() and key_path.is_file()):
            return None
        stamp = _stamp(cert_path)
        certs, _ = _load_pem_objects(cert_path)
        identity = SigningIdentity(key=_load_key(key_path), chain=_chain(certs, list(self.trust_roots)))
        expiry = identity.certificate.not_valid_after_utc
        # Seals we cannot renew stay in use until they expire.
        renew_after = expiry - SEAL_RENEW_BEFORE if self.ca_key is not None else expiry
        return _Seal(identity=identity, renew_after=renew_after, stamp=stamp)

    def _read_seal(self, code: str) -> _Seal | None:
        with _locked(self.directory, exclusive=False):
            return self._load_seal(code)

    def _issue_seal(self, *, code: str, name_fr: str, name_ar: str) -> _Seal:
        if self.ca_key is None:
            raise SealUnavailable(
                f"no seal for administration {code!r} and no CA key to issue one: place "
                f"{SEALS_DIR}/{code}.cert.pem and {SEALS_DIR}/{code}.key.pem in {self.directory}"
            )
        cert_path, key_path = self._seal_paths(code)
        with _locked(self.directory, exclusive=True):
            # Another process may have issued it while we waited for the lock.
            seal = self._load_seal(code)
            if seal is not None and not self._stale(seal, name_fr, name_ar):
                return seal
            key = ec.generate_private_key(ec.SECP256R1())
            subject = _name(
                (NameOID.ORGANIZATION_NAME, name_fr or code),
                (NameOID.ORGANIZATION_IDENTIFIER, code),
                (NameOID.COMMON_NAME, f"{code} seal"),
            )
            extensions: list[tuple[x509.ExtensionType, bool]] = [
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (_key_usage(signing=True), True),
            ]
            if name_ar:
                # The Arabic name as an alternative name of the same subject.
                alt = x509.DirectoryName(_name((NameOID.ORGANIZATION_NAME, name_ar)))
                extensions.append((x509.SubjectAlternativeName([alt]), False))
            cert = _issue(
                subject=subject,
                public_key=key.public_key(),
                issuer=self.ca_cert,
                issuer_key=self.ca_key,
                validity=SEAL_VALIDITY,
                extensions=extensions,
            )
            cert_path.parent.mkdir(mode=0o700, exist_ok=True)
            # Readers hold the shared lock, so they never pair the new key with the old cert.
            _write_atomic(key_path, _key_pem(key), mode=0o600)
            _write_atomic(cert_path, _cert_pem(cert), mode=0o644)
            seal = self._load_seal(code)
            assert seal is not None
            return seal

    def revoke_seal(self, *, code: str) -> None:
        """Revoke the current seal of ``code`` (its key leaked, say); the next use issues a new one.

        The certificate joins the CRL, so documents sealed with it verify as ``revoked``; its key
        is deleted and the certificate kept as ``seals/<CODE>.revoked-<serial>.cert.pem``.
        """
        _check_code(code)
        if self.ca_key is None:
            raise SealUnavailable(f"revoking a seal needs the CA key ({CA_KEY}) in {self.directory}")
        cert_path, key_path = self._seal_paths(code)
        with self._lock, _locked(self.directory, exclusive=True):
            if not cert_path.is_file():
                raise SealUnavailable(f"no seal for administration {code!r}")
            cert = _load_pem_objects(cert_path)[0][0]
            self._add_to_crl(cert)
            key_path.unlink(missing_ok=True)
            os.replace(cert_path, cert_path.with_name(f"{code}.revoked-{cert.serial_number:x}.cert.pem"))
            self._seals.pop(code, None)

    # -- people's signing certificates -----------------------------------------------------

    def issue_person(
        self,
        *,
        public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
        full_name: str,
        email: str,
        organization_name: str,
        organization_code: str,
        title: str = "",
    ) -> x509.Certificate:
        """A signing certificate for a person acting for an organisation (an administration).

        Subject: CN=<full name>, O=<organisation>, organizationIdentifier=<code>, title when
        given; the e-mail address as subject alternative name; keyUsage digitalSignature +
        nonRepudiation, valid ``PERSON_VALIDITY``.
        """
        _check_code(organization_code)
        if self.ca_key is None:
            raise SealUnavailable(f"issuing a certificate needs the CA key ({CA_KEY}) in {self.directory}")
        attributes = [
            (NameOID.COMMON_NAME, full_name[:64]),
            (NameOID.ORGANIZATION_NAME, organization_name[:64] or organization_code),
            (NameOID.ORGANIZATION_IDENTIFIER, organization_code),
        ]
        if title:
            attributes.append((NameOID.TITLE, title[:64]))
        return _issue(
            subject=_name(*attributes),
            public_key=public_key,
            issuer=self.ca_cert,
            issuer_key=self.ca_key,
            validity=PERSON_VALIDITY,
            extensions=[
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (_key_usage(signing=True), True),
                (x509.SubjectAlternativeName([x509.RFC822Name(email)]), False),
            ],
        )

    def revoke(self, certificate: x509.Certificate) -> None:
        """Put ``certificate`` (issued by this PKI's root) on the CRL."""
        if self.ca_key is None:
            raise SealUnavailable(f"revoking a certificate needs the CA key ({CA_KEY}) in {self.directory}")
        if certificate.issuer != self.ca_cert.subject:
            raise ValueError("this certificate was not issued by the installation's root")
        with self._lock, _locked(self.directory, exclusive=True):
            self._add_to_crl(certificate)

    def is_revoked(self, certificate: x509.Certificate) -> bool:
        return any(
            crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
            and crl.issuer == certificate.issuer
            for crl in self.crls
        )

    def _add_to_crl(self, certificate: x509.Certificate) -> None:
        """The caller holds the exclusive directory lock."""
        assert self.ca_key is not None
        crl_path = self.directory / CA_CRL
        previous = _read_crl(crl_path)
        if previous is not None and previous.get_revoked_certificate_by_serial_number(certificate.serial_number):
            return  # already revoked
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(_now() - BACKDATE)
            .build()
        )
        crl = _build_crl(self.ca_cert, self.ca_key, previous=previous, revoked=[entry])
        _write_atomic(crl_path, crl.public_bytes(serialization.Encoding.PEM), mode=0o644)

    def key_encryption_key(self) -> bytes:
        """The installation's key-encryption key (32 bytes), created on first use."""
        path = self.directory / KEYSTORE_KEY
        with self._lock:
            if path.is_file():
                return _read_kek(path)
            with _locked(self.directory, exclusive=True):
                if not path.is_file():  # another process may have created it meanwhile
                    _write_atomic(path, secrets.token_bytes(32).hex().encode() + b"\n", mode=0o600)
            return _read_kek(path)

    # -- CRL -------------------------------------------------------------------------------

    def _current_crl(self) -> tuple[x509.CertificateRevocationList | None, Stamp]:
        path = self.directory / CA_CRL
        with _locked(self.directory, exclusive=False):
            stamp, crl = _stamp(path), _read_crl(path)
        if self.ca_key is None or (crl is not None and not _expiring(crl)):
            return crl, stamp
        with _locked(self.directory, exclusive=True):
            crl = _read_crl(path)  # another process may have renewed it meanwhile
            if crl is None or _expiring(crl):
                crl = _build_crl(self.ca_cert, self.ca_key, previous=crl)
                _write_atomic(path, crl.public_bytes(serialization.Encoding.PEM), mode=0o644)
            return crl, _stamp(path)
