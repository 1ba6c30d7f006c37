"""Verify sealed PDFs and sealed data with pyHanko, against the installation's trust roots only.

Nothing is fetched from the network: trust anchors are the PKI's root plus ``trust/*.pem``, and
revocation is checked against the CRLs kept in the PKI directory. Both functions return a
verdict for any input, however broken; they never raise on bad documents.

``problem`` is a short machine code (empty when valid), in order of precedence:

``unreadable``              not a PDF / not a CMS structure we can parse
``no_signature``            a readable PDF without any signature
``not_intact``              the signed bytes or the signature value do not check out
``revoked``                 the seal certificate (or its CA) is revoked
``untrusted``               the seal does not chain to a trusted root (foreign PKI, expired, …)
``modified_after_signing``  bytes were added after the signed revision
``no_timestamp``            the signature carries no timestamp token (it must be B-T)
``timestamp_invalid``       the timestamp token is broken or its TSA is not trusted
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from typing import TYPE_CHECKING

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader

from trust._sync import run_sync
from trust.pdf_update import ANCHOR_KEY
from trust.pki import Pki

# pyHanko's validation is imported by the functions that validate, not here: its package
# (pyhanko.sign) loads aiohttp and its signers, half a second of every process that imports this
# module (every web worker, every manage.py command, through the views) and never verifies.
if TYPE_CHECKING:
    from pyhanko.sign.validation.status import PdfSignatureStatus, StandardCMSSignatureStatus
    from pyhanko_certvalidator import ValidationContext

logger = logging.getLogger(__name__)

UNREADABLE = "unreadable"
NO_SIGNATURE = "no_signature"
NOT_INTACT = "not_intact"
REVOKED = "revoked"
UNTRUSTED = "untrusted"
MODIFIED_AFTER_SIGNING = "modified_after_signing"
NO_TIMESTAMP = "no_timestamp"
TIMESTAMP_INVALID = "timestamp_invalid"


@dataclass(frozen=True)
class PdfVerdict:
    """The outcome of checking the last signature of a PDF.

    ``signer_code`` and ``signer_name`` come from the seal certificate and are only filled in
    when that certificate is trusted, so they can be compared with the expected administration.
    """

    valid: bool
    intact: bool
    trusted: bool
    covers_whole_document: bool
    signer_code: str | None
    signer_name: str | None
    signed_at: datetime | None  # claimed by the signer (/M); prefer timestamp_at
    timestamp_at: datetime | None
    timestamp_valid: bool
    problem: str
    anchor: str = ""  # the register-log anchor the last signature carries (registry.anchors)


@dataclass(frozen=True)
class DataVerdict:
    valid: bool
    signer_code: str | None
    timestamp_at: datetime | None
    problem: str


def _pdf_failure(problem: str) -> PdfVerdict:
    return PdfVerdict(
        valid=False,
        intact=False,
        trusted=False,
        covers_whole_document=False,
        signer_code=None,
        signer_name=None,
        signed_at=None,
        timestamp_at=None,
        timestamp_valid=False,
        problem=problem,
    )


@lru_cache(maxsize=64)
def _asn1_crl(der: bytes) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(der)


@lru_cache(maxsize=16)
def _asn1_roots(pki: Pki) -> tuple[asn1_x509.Certificate, ...]:
    return tuple(asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER)) for cert in pki.trust_roots)


def validation_context(pki: Pki) -> ValidationContext:
    """A fresh offline context (pyHanko's contexts accumulate state, so one per validation)."""
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=list(_asn1_roots(pki)),
        crls=[_asn1_crl(crl.public_bytes(Encoding.DER)) for crl in pki.crls],
        allow_fetching=False,
    )


def _subject_field(status: StandardCMSSignatureStatus, *names: str) -> str | None:
    subject = status.signing_cert.subject.native
    for name in names:
        if subject.get(name):
            return str(subject[name])
    return None


def _trust_problem(status: StandardCMSSignatureStatus) -> str:
    if not (status.intact and status.valid):
        return NOT_INTACT
    if status.revoked:
        return REVOKED
    return "" if status.trusted else UNTRUSTED


def _ends_cleanly(pdf: bytes) -> bool:
    """Nothing follows the last revision's end-of-file marker but line ends."""
    return pdf.rstrip(b"\r\n\t \x00").endswith(b"%%EOF")


def _covers(status: PdfSignatureStatus) -> bool:
    """The signature covers the whole file, or all that follows it is validation data (a DSS
    with certificates and CRLs: PAdES B-LT), which does not modify the document."""
    from pyhanko.sign.diff_analysis.policy_api import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    # Bytes after the signed revision that form no revision of their own are not accepted.
    return (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level == ModificationLevel.LTA_UPDATES
    )


def _timestamp(status: StandardCMSSignatureStatus) -> tuple[datetime | None, bool, str]:
    """(time, valid, problem) of the signature timestamp."""
    ts = status.timestamp_validity
    if ts is None:
        return None, False, NO_TIMESTAMP
    ok = ts.intact and ts.valid and ts.trusted
    return ts.timestamp, ok, "" if ok else TIMESTAMP_INVALID


def verify_pdf(pdf: bytes, *, pki: Pki) -> PdfVerdict:
    """Check the last (outermost) signature of ``pdf``: integrity, trust, coverage, timestamp."""
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        reader.root  # noqa: B018 - a PDF without a readable catalog is not a PDF we can check
    except Exception:  # any parse failure means the bytes are not a PDF we can read
        return _pdf_failure(UNREADABLE)
    try:
        signatures = reader.embedded_regular_signatures
    except Exception:  # a signature dictionary whose CMS cannot even be parsed
        return _pdf_failure(NOT_INTACT)
    if not signatures:
        return _pdf_failure(NO_SIGNATURE)
    try:
        vc = validation_context(pki)
        status = run_sync(
            async_validate_pdf_signature(signatures[-1], signer_validation_context=vc, ts_validation_context=vc)
        )
    except Exception:
        # pyHanko raises on structurally broken signatures (bad /ByteRange, garbage CMS, ...).
        logger.info("PDF signature could not be validated", exc_info=True)
        return _pdf_failure(NOT_INTACT)

    intact = bool(status.intact and status.valid)
    trusted = bool(status.trusted)
    covers = _covers(status) and _ends_cleanly(pdf)
    timestamp_at, timestamp_valid, ts_problem = _timestamp(status)
    problem = _trust_problem(status) or ("" if covers else MODIFIED_AFTER_SIGNING) or ts_problem
    return PdfVerdict(
        valid=not problem,
        intact=intact,
        trusted=trusted,
        covers_whole_document=covers,
        signer_code=_subject_field(status, "organization_identifier", "serial_number") if trusted else None,
        signer_name=_subject_field(status, "organization_name") if trusted else None,
        signed_at=status.signer_reported_dt,
        timestamp_at=timestamp_at,
        timestamp_valid=timestamp_valid,
        problem=problem,
        anchor=signature_anchor(signatures[-1].sig_object),
    )


def signature_anchor(sig_object: object) -> str:
    """The ``/WaslAnchor`` text of a signature dictionary, or "" (see trust.pdf_update)."""
    try:
        value = sig_object.get(ANCHOR_KEY)  # type: ignore[attr-defined]
    except Exception:
        return ""
    return str(value) if isinstance(value, str) else ""


@dataclass(frozen=True)
class SignatureVerdict:
    """One signature of a PDF, as the public verification page lists them.

    ``level``: ``seal`` (an administration's seal), ``advanced`` (a person's certificate from a
    trusted root: law 43-20's advanced electronic signature; never "qualified", which needs a
    qualified device this installation does not have), or ``unknown`` (untrusted signer).
    ``covers_whole_document`` is expected only of the last signature: later ones are added after
    it by design."""

    field: str
    signer: str | None
    organization: str | None
    organization_code: str | None
    level: str
    valid: bool
    intact: bool
    trusted: bool
    revoked: bool
    covers_whole_document: bool
    timestamp_at: datetime | None
    problem: str


def verify_pdf_signatures(pdf: bytes, *, pki: Pki) -> list[SignatureVerdict]:
    """Every signature of ``pdf`` in signing order, each checked (integrity, trust, revocation,
    timestamp); the last one must also cover the whole file. Empty for unreadable input."""
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception:
        return []
    verdicts = []
    vc = validation_context(pki)  # one per document: its signatures share roots, CRLs and paths
    for index, signature in enumerate(signatures):
        last = index == len(signatures) - 1
        try:
            # The revisions after an earlier signature are covered by the last one, which must
            # span the whole file: comparing them object by object (pyHanko's difference
            # analysis) would only repeat that, at several times the cost.
            status = run_sync(
                async_validate_pdf_signature(
                    signature, signer_validation_context=vc, ts_validation_context=vc, skip_diff=not last
                )
            )
        except Exception:
            logger.info("PDF signature could not be validated", exc_info=True)
            verdicts.append(
                SignatureVerdict(
                    field=str(signature.field_name),
                    signer=None,
                    organization=None,
                    organization_code=None,
                    level="unknown",
                    valid=False,
                    intact=False,
                    trusted=False,
                    revoked=False,
                    covers_whole_document=False,
                    timestamp_at=None,
                    problem=NOT_INTACT,
                )
            )
            continue
        covers = _covers(status) and _ends_cleanly(pdf)
        timestamp_at, _valid, ts_problem = _timestamp(status)
        problem = _trust_problem(status) or ("" if covers or not last else MODIFIED_AFTER_SIGNING) or ts_problem
        trusted = bool(status.trusted)
        common_name = _subject_field(status, "common_name") or ""
        is_seal = trusted and common_name.endswith(" seal")
        verdicts.append(
            SignatureVerdict(
                field=str(signature.field_name),
                signer=common_name or None,
                organization=_subject_field(status, "organization_name"),
                organization_code=_subject_field(status, "organization_identifier", "serial_number"),
                level=("seal" if is_seal else "advanced") if trusted else "unknown",
                valid=not problem,
                intact=bool(status.intact and status.valid),
                trusted=trusted,
                revoked=bool(status.revoked),
                covers_whole_document=covers,
                timestamp_at=timestamp_at,
                problem=problem,
            )
        )
    return verdicts


@lru_cache(maxsize=64)
def _asn1_certificate(der: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(der)


def pinned_context(root: x509.Certificate) -> ValidationContext:
    """An offline context trusting only ``root``: another installation's root certificate,
    pinned. (Its revocation list is not at hand; a revoked seal of a peer is its to refuse.)"""
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=[_asn1_certificate(root.public_bytes(Encoding.DER))],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def verify_sealed_data(
    data: bytes, cms_der: bytes, *, pki: Pki, pinned_root: x509.Certificate | None = None
) -> DataVerdict:
    """Check a detached CMS made by :func:`trust.sealing.seal_data` against ``data``: trusted
    by ``pki``, or by ``pinned_root`` alone (another installation's) when given."""
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

    try:
        content_info = asn1_cms.ContentInfo.load(cms_der, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not a SignedData")
        signed_data = content_info["content"]
        # asn1crypto parses lazily: touch the parts validation needs so garbage fails here.
        # (Not `.native`, which re-encodes everything and costs seconds.)
        if len(signed_data["signer_infos"]) != 1 or signed_data["encap_content_info"]["content"].native:
            raise ValueError("expected one signer and detached content")
    except Exception:
        return DataVerdict(valid=False, signer_code=None, timestamp_at=None, problem=UNREADABLE)
    try:
        vc = validation_context(pki) if pinned_root is None else pinned_context(pinned_root)
        status = run_sync(
            async_validate_detached_cms(data, signed_data, signer_validation_context=vc, ts_validation_context=vc)
        )
    except Exception:
        logger.info("CMS signature could not be validated", exc_info=True)
        return DataVerdict(valid=False, signer_code=None, timestamp_at=None, problem=NOT_INTACT)
    timestamp_at, _, ts_problem = _timestamp(status)
    problem = _trust_problem(status) or ts_problem
    trusted = bool(status.trusted)
    return DataVerdict(
        valid=not problem,
        signer_code=_subject_field(status, "organization_identifier", "serial_number") if trusted else None,
        timestamp_at=timestamp_at,
        problem=problem,
    )
