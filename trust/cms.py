"""CMS SignedData (RFC 5652) and RFC 3161 timestamp tokens, assembled from precomputed DER.

A :class:`SigningIdentity` is built once per key and certificate chain; it keeps the parts of
a SignerInfo that never change (certificates, issuer and serial, the ESS signing-certificate-v2
attribute, algorithm identifiers) already encoded. Producing a signature is then one hash, one
private-key operation and a few byte concatenations.

Only SHA-256 is used. Keys may be EC (the installation's own, for speed) or RSA (an operator
may bring RSA keys issued by an external CA).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trust import der

SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_CT_TST_INFO = "1.2.840.113549.1.9.16.1.4"
ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ATTR_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
ATTR_SIGNATURE_TIMESTAMP = "1.2.840.113549.1.9.16.2.14"
# Policy under which the installation's timestamping unit issues tokens. An OID in the 2.25
# arc (X.667: a UUID as an integer) needs no registration and cannot collide with anyone's.
WASL_TSA_POLICY = "2.25.161914834796316599446498616419361064533"

SHA256_ALGORITHM = der.algorithm(SHA256)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def attribute(type_oid: str, *values: bytes) -> bytes:
    return der.sequence(der.oid(type_oid), der.set_of(*values))


@dataclass(frozen=True, eq=False)
class SigningIdentity:
    """A private key with its certificate chain, and the DER that every signature reuses."""

    key: PrivateKey
    chain: tuple[x509.Certificate, ...]  # the signer's certificate first, then its issuers
    certificate_set: bytes = field(init=False)
    issuer_and_serial: bytes = field(init=False)
    signature_algorithm: bytes = field(init=False)
    signing_certificate_attr: bytes = field(init=False)

    def __post_init__(self) -> None:
        cert = self.chain[0]
        if not isinstance(self.key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise TypeError("only EC and RSA keys are supported")
        spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if self.key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            raise ValueError(f"the key does not match the certificate {cert.subject.rfc4514_string()}")
        ders = tuple(c.public_bytes(Encoding.DER) for c in self.chain)
        issuer = cert.issuer.public_bytes()
        serial = der.integer(cert.serial_number)
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            sig_alg = der.algorithm(ECDSA_WITH_SHA256)
        else:
            sig_alg = der.algorithm(SHA256_WITH_RSA, der.NULL)
        # ESSCertIDv2 (RFC 5035) with SHA-256, the DEFAULT hash algorithm, which DER omits.
        # issuerSerial is GeneralNames holding the issuer as a directoryName ([4], explicit
        # because Name is a CHOICE).
        issuer_serial = der.sequence(der.sequence(der.context(4, issuer)), serial)
        ess_cert_id = der.sequence(der.octet_string(hashlib.sha256(ders[0]).digest()), issuer_serial)
        # [0] IMPLICIT CertificateSet; a DER SET OF, hence sorted.
        object.__setattr__(self, "certificate_set", der.context(0, *sorted(ders)))
        object.__setattr__(self, "issuer_and_serial", der.sequence(issuer, serial))
        object.__setattr__(self, "signature_algorithm", sig_alg)
        object.__setattr__(
            self,
            "signing_certificate_attr",
            attribute(ATTR_SIGNING_CERTIFICATE_V2, der.sequence(der.sequence(ess_cert_id))),
        )

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def sign_attributes(self, *, content_type: str, digest: bytes) -> tuple[bytes, bytes]:
        """Build and sign the signed attributes for ``digest``: (attributes as a SET, signature)."""
        signed_attrs = der.set_of(
            attribute(ATTR_CONTENT_TYPE, der.oid(content_type)),
            attribute(ATTR_MESSAGE_DIGEST, der.octet_string(digest)),
            self.signing_certificate_attr,
        )
        # The signature covers the attributes encoded as a SET (tag 0x31), RFC 5652 §5.4.
        signature = self.sign(signed_attrs)
        return signed_attrs, signature

    def signed_data(
        self,
        *,
        content_type: str,
        digest: bytes,
        content: bytes | None = None,
        unsigned: Callable[[bytes], bytes | None] | None = None,
    ) -> bytes:
        """A ContentInfo wrapping SignedData with one SignerInfo.

        ``content`` is embedded when given (timestamp tokens carry their TSTInfo), otherwise
        the signature is detached. ``unsigned`` receives the signature value and may return a
        DER attribute to add unsigned (how the signature timestamp is attached).
        """
        signed_attrs, signature = self.sign_attributes(content_type=content_type, digest=digest)
        unsigned_attr = unsigned(signature) if unsigned else None
        signer_info = der.sequence(
            der.integer(1),
            self.issuer_and_serial,
            SHA256_ALGORITHM,
            b"\xa0" + signed_attrs[1:],  # [0] IMPLICIT SET OF Attribute
            self.signature_algorithm,
            der.octet_string(signature),
            der.context(1, unsigned_attr) if unsigned_attr else b"",
        )
        if content is None:
            encap = der.sequence(der.oid(content_type))
        else:
            encap = der.sequence(der.oid(content_type), der.context(0, der.octet_string(content)))
        signed_data = der.sequence(
            # v3 is required as soon as the encapsulated content is not id-data (RFC 5652 §5.1).
            der.integer(1 if content_type == ID_DATA else 3),
            der.set_of(SHA256_ALGORITHM),
            encap,
            self.certificate_set,
            der.set_of(signer_info),
        )
        return der.sequence(der.oid(ID_SIGNED_DATA), der.context(0, signed_data))


def signature_valid(certificate: x509.Certificate, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` was made with the key of ``certificate`` (SHA-256,
    ECDSA or RSA PKCS#1 v1.5): what :meth:`SigningIdentity.sign` makes."""
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def timestamp_token(
    tsa: SigningIdentity,
    *,
    imprint: bytes,
    moment: datetime,
    policy: str = WASL_TSA_POLICY,
    nonce: int | None = None,
) -> bytes:
    """Issue an RFC 3161 TimeStampToken over a SHA-256 ``imprint``, signed by ``tsa``.

    ``nonce`` echoes a requester's nonce; tokens issued in-process need none.
    """
    tst_info = der.sequence(
        der.integer(1),
        der.oid(policy),
        der.sequence(SHA256_ALGORITHM, der.octet_string(imprint)),
        # Random 127-bit serials are unique without keeping a counter shared between processes.
        der.integer(secrets.randbits(127)),
        der.generalized_time(moment),
        der.integer(nonce) if nonce is not None else b"",
        # tsa [0] GeneralName: a directoryName, so that validators can show who stamped.
        der.context(0, der.context(4, tsa.certificate.subject.public_bytes())),
    )
    return tsa.signed_data(content_type=ID_CT_TST_INFO, digest=hashlib.sha256(tst_info).digest(), content=tst_info)


def signature_timestamp_attribute(token: bytes) -> bytes:
    """The unsigned attribute that makes a CAdES/PAdES signature level B-T."""
    return attribute(ATTR_SIGNATURE_TIMESTAMP, token)
