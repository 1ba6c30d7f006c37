"""People's signing keys kept by the installation: encrypted at rest, unlocked by their passphrase.

A signatory's private key is stored (with their certificate, in the database) only as
AES-256-GCM ciphertext under a key derived from two secrets:

* the installation's key-encryption key, a file of the PKI directory
  (:meth:`trust.pki.Pki.key_encryption_key`), never in the database: a copy of the database
  alone unlocks nothing;
* the signatory's passphrase, stretched with scrypt: someone holding both the database and the
  server still has to guess each passphrase, slowly.

The format (``WK1``, salt, nonce, ciphertext of the PKCS#8 DER key) carries everything needed to
unlock it but the two secrets. A wrong passphrase and a changed key-encryption key are told
apart from a damaged blob only as far as AES-GCM allows: both raise :class:`WrongPassphrase`.

Unlocking costs one scrypt derivation (~40 ms with N=2**14): a batch of signatures unlocks the
key once and signs many times.
"""

from __future__ import annotations

import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import pkcs12

from trust.cms import PrivateKey

MAGIC = b"WK1"
SALT_SIZE = 16
NONCE_SIZE = 12
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE = 8


class WrongPassphrase(ValueError):
    """The passphrase (or the installation's key-encryption key) does not open this key."""


class WeakPassphrase(ValueError):
    """A new passphrase too short to protect a signing key."""


def _wrapping_key(passphrase: str, salt: bytes, kek: bytes) -> bytes:
    stretched = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode())
    # Both secrets are needed: the KEK as HKDF salt, the stretched passphrase as input.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=kek, info=b"wasl signing key").derive(stretched)


def lock_key(key: PrivateKey, passphrase: str, *, kek: bytes) -> bytes:
    """``key`` encrypted for storage; ``passphrase`` must be at least ``MIN_PASSPHRASE`` long."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise WeakPassphrase(f"a passphrase of at least {MIN_PASSPHRASE} characters is needed")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    salt, nonce = secrets.token_bytes(SALT_SIZE), secrets.token_bytes(NONCE_SIZE)
    ciphertext = AESGCM(_wrapping_key(passphrase, salt, kek)).encrypt(nonce, der, MAGIC)
    return MAGIC + salt + nonce + ciphertext


def unlock_key(blob: bytes, passphrase: str, *, kek: bytes) -> PrivateKey:
    """The private key in ``blob``; :class:`WrongPassphrase` when it does not open."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + SALT_SIZE + NONCE_SIZE + 16:
        raise WrongPassphrase("not a stored signing key")
    salt = blob[len(MAGIC) : len(MAGIC) + SALT_SIZE]
    nonce = blob[len(MAGIC) + SALT_SIZE : len(MAGIC) + SALT_SIZE + NONCE_SIZE]
    try:
        der = AESGCM(_wrapping_key(passphrase, salt, kek)).decrypt(
            nonce, blob[len(MAGIC) + SALT_SIZE + NONCE_SIZE :], MAGIC
        )
    except Exception as exc:  # cryptography's InvalidTag: wrong secret or altered blob
        raise WrongPassphrase("the passphrase does not open this key") from exc
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise WrongPassphrase("unsupported key type")
    return key


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh signing key: EC P-256, like the installation's seals."""
    return ec.generate_private_key(ec.SECP256R1())


class UnusableCertificateFile(ValueError):
    """A PKCS#12 file without a usable signing key and certificate."""


def read_pkcs12(data: bytes, password: str) -> tuple[PrivateKey, tuple[x509.Certificate, ...]]:
    """The private key and certificate chain (signer first) of a PKCS#12 (.p12/.pfx) file from an
    external provider. :class:`WrongPassphrase` when the password does not open it,
    :class:`UnusableCertificateFile` when it holds no EC/RSA key with its certificate."""
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError as exc:
        message = str(exc).lower()
        if "password" in message or "mac" in message or "decrypt" in message:
            raise WrongPassphrase("the password does not open this certificate file") from exc
        raise UnusableCertificateFile("not a PKCS#12 certificate file") from exc
    if key is None or certificate is None:
        raise UnusableCertificateFile("the file holds no private key with its certificate")
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise UnusableCertificateFile("only EC and RSA keys can sign")
    return key, (certificate, *others)
