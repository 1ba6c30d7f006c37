"""Checking a detached CMS seal from another installation against its pinned root, fast.

pyHanko's general validator (:func:`trust.verification.verify_sealed_data`) builds paths,
policies and revocation checks for any signature and costs ~10 ms. Between installations we know
exactly what to expect: a seal certificate issued **directly** by the pinned root, SHA-256, signed
attributes with the content type and the message digest, and a signature timestamp token from a
timestamping unit issued directly by the same root. This module checks exactly that, with
``cryptography`` (~0.5 ms), and refuses anything else (then the caller may fall back on the
general validator). The test suite checks it agrees with pyHanko and OpenSSL.

Not checked: revocation (the peer's revocation list is not at hand; a peer refuses its own
revoked seals), and certificate policies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import cms as asn1_cms
from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust import der
from trust.cms import signature_valid
from trust.pki import Pki
from trust.verification import (
    NOT_INTACT,
    REVOKED,
    TIMESTAMP_INVALID,
    UNREADABLE,
    UNTRUSTED,
    DataVerdict,
    verify_sealed_data,
)

SHA256 = "sha256"


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@lru_cache(maxsize=512)
def issued_by_root(cert_der: bytes, root_der: bytes) -> x509.Certificate | None:
    """The certificate ``cert_der`` if the root ``root_der`` issued it directly, else None."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        cert.verify_directly_issued_by(x509.load_der_x509_certificate(root_der))
    except (ValueError, TypeError, InvalidSignature):
        return None
    return cert


def _issued_by_root(cert_der: bytes, root_der: bytes) -> x509.Certificate:
    cert = issued_by_root(cert_der, root_der)
    if cert is None:
        raise _Refused(UNTRUSTED)
    return cert


def _signer(signed_data: asn1_cms.SignedData, root_der: bytes) -> tuple[asn1_cms.SignerInfo, x509.Certificate]:
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise _Refused(UNREADABLE)
    signer_info = signer_infos[0]
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        raise _Refused(UNREADABLE)
    issuer_der, serial = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        candidate = choice.chosen
        certificate_der = candidate.dump()  # before reading it: read, asn1crypto would re-encode it
        if candidate.serial_number == serial and candidate["tbs_certificate"]["issuer"].dump() == issuer_der:
            return signer_info, _issued_by_root(certificate_der, root_der)
    raise _Refused(UNTRUSTED)


def _check_signature(
    signer_info: asn1_cms.SignerInfo, cert: x509.Certificate, digest: bytes, content_type: str
) -> bytes:
    """The signed attributes name ``content_type`` and ``digest`` and the signature covers them;
    returns the signature value."""
    if signer_info["digest_algorithm"]["algorithm"].native != SHA256:
        raise _Refused(UNREADABLE)
    attributes = signer_info["signed_attrs"]
    # The signature covers the attributes encoded as a SET OF (RFC 5652 §5.4): their bytes as
    # received, taken before reading them (asn1crypto re-encodes what was read, slowly).
    signed = der.tlv(0x31, attributes.contents)
    found: dict[str, object] = {}
    for attribute in attributes:
        name = attribute["type"].native
        values = attribute["values"]
        if name in found or len(values) != 1:
            raise _Refused(NOT_INTACT)
        found[name] = values[0].native
    if found.get("content_type") != content_type or found.get("message_digest") != digest:
        raise _Refused(NOT_INTACT)
    signature = bytes(signer_info["signature"].native)
    if not signature_valid(cert, signature, signed):
        raise _Refused(NOT_INTACT)
    return signature


def _in_force(cert: x509.Certificate, moment: datetime) -> None:
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise _Refused(UNTRUSTED)


def _timestamp(signer_info: asn1_cms.SignerInfo, signature: bytes, root_der: bytes) -> datetime:
    """The time of the signature timestamp token over ``signature``, checked."""
    tokens = [
        attribute["values"][0]
        for attribute in signer_info["unsigned_attrs"] or []
        if attribute["type"].native == "signature_time_stamp_token"
    ]
    if len(tokens) != 1:
        raise _Refused(TIMESTAMP_INVALID)
    token = tokens[0]["content"]
    encapsulated = token["encap_content_info"]
    if encapsulated["content_type"].native != "tst_info":
        raise _Refused(TIMESTAMP_INVALID)
    tst_der = bytes(encapsulated["content"].contents)
    tst_info = asn1_tsp.TSTInfo.load(tst_der)
    imprint = tst_info["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != SHA256 or (
        imprint["hashed_message"].native != hashlib.sha256(signature).digest()
    ):
        raise _Refused(TIMESTAMP_INVALID)
    try:
        tsa_info, tsa_cert = _signer(token, root_der)
        _check_signature(tsa_info, tsa_cert, hashlib.sha256(tst_der).digest(), "tst_info")
        usage = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (_Refused, x509.ExtensionNotFound):
        raise _Refused(TIMESTAMP_INVALID) from None
    if ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise _Refused(TIMESTAMP_INVALID)
    moment: datetime = tst_info["gen_time"].native.astimezone(UTC)
    _in_force(tsa_cert, moment)
    return moment


def verify_pinned_seal(
    data: bytes, cms_der: bytes, root: x509.Certificate, *, revoked: Callable[[x509.Certificate], bool] | None = None
) -> DataVerdict:
    """Check a detached CMS seal (:func:`trust.sealing.seal_data`) over ``data`` by an
    administration of the installation whose root is ``root``; ``revoked``, when the
    revocation list is at hand (our own), says whether the seal's certificate was revoked."""
    root_der = root.public_bytes(Encoding.DER)
    try:
        try:
            content_info = asn1_cms.ContentInfo.load(cms_der, strict=True)
            if content_info["content_type"].native != "signed_data":
                raise _Refused(UNREADABLE)
            signed_data = content_info["content"]
            if signed_data["encap_content_info"]["content"].native is not None:
                raise _Refused(UNREADABLE)  # a seal is detached
            signer_info, cert = _signer(signed_data, root_der)
            signature = _check_signature(signer_info, cert, hashlib.sha256(data).digest(), "data")
            moment = _timestamp(signer_info, signature, root_der)
        except (ValueError, TypeError, KeyError) as exc:
            raise _Refused(UNREADABLE) from exc
        _in_force(cert, moment)
        if revoked is not None and revoked(cert):
            raise _Refused(REVOKED)
    except _Refused as refused:
        return DataVerdict(valid=False, signer_code=None, timestamp_at=None, problem=refused.problem)
    codes = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    return DataVerdict(valid=True, signer_code=str(codes[0].value) if codes else None, timestamp_at=moment, problem="")


def verify_own_seal(data: bytes, cms_der: bytes, *, pki: Pki) -> DataVerdict:
    """A seal this installation made, checked the fast way with its revocation list; seals of
    another layout (supplied keys, an external TSA) go to pyHanko's general validator."""
    verdict = verify_pinned_seal(data, cms_der, pki.ca_cert, revoked=pki.is_revoked)
    if verdict.valid or verdict.problem in (NOT_INTACT, REVOKED):
        return verdict
    return verify_sealed_data(data, cms_der, pki=pki)
