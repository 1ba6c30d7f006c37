"""Seal PDFs (PAdES B-T) and arbitrary bytes (CAdES B-T detached CMS) with an administration's seal.

Both produce a CMS SignedData whose signer is the administration's seal certificate and whose
signature carries an RFC 3161 timestamp token as unsigned attribute (level B-T). The token comes
from the installation's own timestamping unit, issued in-process, or from an external TSA when
``Pki.tsa_url`` is set (``WASL_TSA_URL``).

Why it is fast (~1 ms instead of pyHanko's 70-100 ms): keys are parsed once per process (cached
in :class:`~trust.pki.Pki`), keys are EC P-256, the CMS and the timestamp token are assembled
from precomputed DER (:mod:`trust.cms`), the PDF is signed in one pass into a hole of known size
(:mod:`trust.pdf_update`), and the timestamp is issued without a request/response round trip.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from io import BytesIO

from trust import cms
from trust._sync import run_sync
from trust.cms import SigningIdentity
from trust.pdf_update import Appearance, UnsupportedPdf, prepare_signature
from trust.pki import Pki, PkiMissing

__all__ = ["UnsupportedPdf", "add_validation_data", "seal_data", "seal_pdf", "sign_pdf", "timestamp_token"]

# Room left for a token from an external TSA whose size we cannot predict exactly.
_EXTERNAL_TOKEN_MARGIN = 2048
_SIZE_MARGIN = 64  # ECDSA signatures and random serials vary by a few bytes


def _now() -> datetime:
    return datetime.now(UTC)


def timestamp_token(digest: bytes, *, pki: Pki) -> bytes:
    """An RFC 3161 TimeStampToken (DER ContentInfo) over a SHA-256 ``digest``.

    From the external TSA when ``pki.tsa_url`` is set (network errors then propagate as
    pyHanko's ``TimestampRequestError`` or ``OSError``), else issued in-process.
    """
    if pki.tsa_url:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        token = run_sync(HTTPTimeStamper(pki.tsa_url).async_timestamp(digest, "sha256"))
        return bytes(token.dump())
    if pki.tsa is None:
        raise PkiMissing(f"no timestamping unit in {pki.directory} (tsa.cert.pem / tsa.key.pem) and no TSA URL")
    return cms.timestamp_token(pki.tsa, imprint=digest, moment=_now())


def _signed_cms(seal: SigningIdentity, digest: bytes, *, pki: Pki) -> bytes:
    def stamp(signature: bytes) -> bytes:
        # The signature timestamp covers the signature value (RFC 5126 / ETSI EN 319 122-1).
        token = timestamp_token(hashlib.sha256(signature).digest(), pki=pki)
        return cms.signature_timestamp_attribute(token)

    return seal.signed_data(content_type=cms.ID_DATA, digest=digest, unsigned=stamp)


@lru_cache(maxsize=256)
def _cms_size(seal: SigningIdentity, pki: Pki) -> int:
    """Bytes to reserve in the PDF: measured on a throw-away CMS, since only a few bytes vary."""
    size = len(_signed_cms(seal, bytes(32), pki=pki)) + _SIZE_MARGIN
    return size + (_EXTERNAL_TOKEN_MARGIN if pki.tsa_url else 0)


def seal_pdf(
    pdf: bytes,
    *,
    pki: Pki,
    administration_code: str,
    reason: str,
    location: str = "",
    appearance: Appearance | None = None,
    anchor: str = "",
) -> bytes:
    """Return ``pdf`` with a PAdES B-T seal of the administration appended (invisible unless
    ``appearance`` is given), carrying ``anchor`` in its signature dictionary when given.

    Raises :class:`~trust.pdf_update.UnsupportedPdf` for input that cannot be sealed
    (unreadable or encrypted), :class:`~trust.pki.SealUnavailable` or
    :class:`~trust.pki.PkiMissing` when the PKI cannot provide a seal or a timestamp.
    """
    seal = pki.seal_for(code=administration_code)
    return sign_pdf(
        pdf,
        identity=seal,
        pki=pki,
        reason=reason,
        location=location,
        field_name="Seal",
        appearance=appearance,
        anchor=anchor,
    )


def sign_pdf(
    pdf: bytes,
    *,
    identity: SigningIdentity,
    pki: Pki,
    reason: str,
    location: str = "",
    field_name: str = "Signature",
    appearance: Appearance | None = None,
    signing_time: datetime | None = None,
    anchor: str = "",
) -> bytes:
    """Return ``pdf`` with a PAdES B-T signature by ``identity`` appended as an incremental update
    (earlier signatures stay valid), visible when ``appearance`` is given. Same errors as
    :func:`seal_pdf`."""
    prepared = prepare_signature(
        pdf,
        reserved=_cms_size(identity, pki),
        signing_time=signing_time or _now(),
        reason=reason,
        location=location,
        field_name=field_name,
        appearance=appearance,
        anchor=anchor,
    )
    return prepared.finish(_signed_cms(identity, prepared.digest(), pki=pki))


def add_validation_data(pdf: bytes, *, pki: Pki, identity: SigningIdentity) -> bytes:
    """Append a Document Security Store (one incremental update) with what a validator needs
    without asking us anything: the signer's chain, the timestamping unit's, and the PKI's CRLs.
    A PAdES B-T signature followed by it is B-LT; validators do not count it as a change."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    chain = [*identity.chain, *(pki.tsa.chain if pki.tsa is not None else ())]
    certs = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in dict.fromkeys(chain)]
    crls = [asn1_crl.CertificateList.load(c.public_bytes(Encoding.DER)) for c in pki.crls]
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=certs, crls=crls)
        out = BytesIO()
        writer.write(out)  # type: ignore[no-untyped-call]
    except Exception as exc:  # pyHanko raises many types on malformed input
        raise UnsupportedPdf(f"cannot add validation data: {exc}") from exc
    return out.getvalue()


def seal_data(data: bytes, *, pki: Pki, administration_code: str) -> bytes:
    """A detached CMS SignedData (DER) over ``data``, timestamped: CAdES B-T."""
    seal = pki.seal_for(code=administration_code)
    return _signed_cms(seal, hashlib.sha256(data).digest(), pki=pki)
