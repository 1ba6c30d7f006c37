"""How two Wasl installations authenticate what they send each other.

Every request and every answer between installations is signed with the sending
installation's **exchange identity** (a key and a certificate issued by its root, see
:meth:`trust.pki.Pki.exchange_identity`). The receiving side knows the sender by its pinned
root certificate: the certificate that comes with the message must be issued by that root, and
the signature must cover what was received. Headers::

    X-Wasl-Installation   SHA-256 of the sender's root certificate (the pin it is known by)
    X-Wasl-Certificate    the exchange certificate, DER in base64
    X-Wasl-Date           when it was signed (ISO 8601, UTC); refused if off by more than 5 minutes
    X-Wasl-Nonce          random, once per request; an answer repeats its request's nonce
    X-Wasl-Signature      ECDSA-SHA256 (DER, base64) over the lines of :func:`signing_input`

A request seen once is refused if seen again (replay); a retry of the same envelope is a new
request (new date and nonce) and is answered with the acknowledgement already given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trust.cms import signature_valid
from trust.pinned import issued_by_root, verify_pinned_seal
from trust.pki import EXCHANGE_CODE, Pki
from trust.services import installation_pki
from trust.verification import NOT_INTACT, DataVerdict, verify_sealed_data

VERSION = "wasl-exchange-1"
INSTALLATION = "X-Wasl-Installation"
CERTIFICATE = "X-Wasl-Certificate"
DATE = "X-Wasl-Date"
NONCE = "X-Wasl-Nonce"
SIGNATURE = "X-Wasl-Signature"
CLOCK_SKEW = timedelta(minutes=5)

INBOX_PATH = "/exchange/v1/inbox"
DIRECTORY_PATH = "/exchange/v1/directory"
INSTALLATION_PATH = "/exchange/v1/installation"


class ProtocolError(Exception):
    """A message that cannot be accepted; ``code`` says why, for the other side."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def signing_input(kind: str, path: str, date: str, nonce: str, body: bytes) -> bytes:
    return "\n".join((VERSION, kind, path, date, nonce, hashlib.sha256(body).hexdigest())).encode()


def sign(pki: Pki, *, kind: str, path: str, body: bytes, nonce: str = "") -> dict[str, str]:
    """Headers that authenticate ``body`` as sent by this installation."""
    identity = pki.exchange_identity()
    date = datetime.now(UTC).isoformat(timespec="seconds")
    nonce = nonce or secrets.token_hex(16)
    signature = identity.sign(signing_input(kind, path, date, nonce, body))
    return {
        INSTALLATION: pki.fingerprint,
        CERTIFICATE: _certificate_header(identity.certificate),
        DATE: date,
        NONCE: nonce,
        SIGNATURE: base64.b64encode(signature).decode(),
    }


@lru_cache(maxsize=8)
def _certificate_header(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()


@dataclass(frozen=True)
class Signed:
    """What a checked message says about itself."""

    nonce: str
    date: datetime


def check(
    headers: Mapping[str, str], *, root: x509.Certificate, kind: str, path: str, body: bytes, nonce: str = ""
) -> Signed:
    """Check that ``body`` was signed by the installation whose pinned root is ``root``;
    raise :class:`ProtocolError` (certificate_mismatch, bad_signature, stale) otherwise.
    ``nonce``, for an answer, is the nonce of the request it answers."""
    try:
        der = base64.b64decode(headers.get(CERTIFICATE, ""), validate=True)
        signature = base64.b64decode(headers.get(SIGNATURE, ""), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("bad_signature", "unreadable certificate or signature") from None
    certificate = _issued_by(der, root.public_bytes(Encoding.DER))
    date_text, own_nonce = headers.get(DATE, ""), headers.get(NONCE, "")
    if not own_nonce or len(own_nonce) > 64 or (nonce and own_nonce != nonce):
        raise ProtocolError("bad_signature", "missing or unexpected nonce")
    try:
        date = datetime.fromisoformat(date_text)
    except ValueError:
        raise ProtocolError("bad_signature", "unreadable date") from None
    if date.tzinfo is None:
        raise ProtocolError("bad_signature", "date without a time zone")
    if not signature_valid(certificate, signature, signing_input(kind, path, date_text, own_nonce, body)):
        raise ProtocolError("bad_signature", "the signature does not match what was received")
    if abs(datetime.now(UTC) - date) > CLOCK_SKEW:
        raise ProtocolError("stale", f"signed at {date_text}")
    return Signed(nonce=own_nonce, date=date)


def _issued_by(der: bytes, root_der: bytes) -> x509.Certificate:
    """The exchange certificate ``der``, if the pinned root issued it and it is in force."""
    certificate = issued_by_root(der, root_der)
    if certificate is None:
        raise ProtocolError("certificate_mismatch", "the certificate is not issued by the pinned root")
    moment = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise ProtocolError("certificate_mismatch", "the certificate is not in force")
    identifiers = certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_IDENTIFIER)
    if not identifiers or identifiers[0].value != EXCHANGE_CODE:
        raise ProtocolError("certificate_mismatch", "not an installation's exchange certificate")
    return certificate


def seal_verdict(data: bytes, seal: bytes, root: x509.Certificate) -> DataVerdict:
    """A seal of one of the peer's administrations over ``data``: the fast check made for our
    own kind of seal, else pyHanko's general one (another CA layout, an external TSA)."""
    verdict = verify_pinned_seal(data, seal, root)
    if verdict.valid or verdict.problem == NOT_INTACT:
        return verdict
    return verify_sealed_data(data, seal, pki=installation_pki(), pinned_root=root)


def load_root(pem: str) -> x509.Certificate:
    return _load_root(pem.encode())


@lru_cache(maxsize=64)
def _load_root(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)
