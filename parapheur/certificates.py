"""People's signing certificates: enrolment with the installation PKI, import of a provider's
PKCS#12 file, revocation, and unlocking a key to sign.

The key never leaves the server unencrypted and is never stored in clear: see
:mod:`trust.keystore`. The visible block of the person's signatures (name, title,
administration, in French and Arabic) is drawn once at enrolment and kept with the certificate.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from core.errors import Refused
from documents.rendering import png_block, render_png
from parapheur.models import SigningCertificate
from tenancy.models import Administration, User
from trust import keystore
from trust.cms import PrivateKey, SigningIdentity
from trust.pdf_update import BlockImage
from trust.services import installation_pki

BLOCK_PPI = 250
LEVEL_FR = "Signature électronique avancée"
LEVEL_AR = "توقيع إلكتروني متقدم"


class CertificateRefused(Refused):
    pass


def _pem(*certificates: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def chain_of(certificate: SigningCertificate) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates(certificate.chain_pem.encode()))


def _encode_block(image: BlockImage) -> bytes:
    return image.width.to_bytes(4, "big") + image.height.to_bytes(4, "big") + image.data


def decode_block(blob: bytes) -> BlockImage:
    return BlockImage(width=int.from_bytes(blob[:4], "big"), height=int.from_bytes(blob[4:8], "big"), data=blob[8:])


def draw_block(
    *, signer: str, administration: Administration, title_fr: str, title_ar: str, delegator: str = ""
) -> BlockImage:
    png = render_png(
        "signature_block",
        {
            "signer": signer,
            "title_fr": title_fr,
            "title_ar": title_ar,
            "administration_fr": administration.name_fr,
            "administration_ar": administration.name_ar,
            "delegator": delegator,
            "level_fr": LEVEL_FR,
            "level_ar": LEVEL_AR,
        },
        ppi=BLOCK_PPI,
    )
    return png_block(png)


def _store(
    *,
    user: User,
    administration: Administration,
    key: PrivateKey,
    chain: tuple[x509.Certificate, ...],
    passphrase: str,
    source: str,
    title_fr: str,
    title_ar: str,
) -> SigningCertificate:
    pki = installation_pki()
    try:
        locked = keystore.lock_key(key, passphrase, kek=pki.key_encryption_key())
    except keystore.WeakPassphrase:
        raise CertificateRefused(
            "weak_passphrase",
            _("Choose a passphrase of at least %(n)d characters.") % {"n": keystore.MIN_PASSPHRASE},
            field="passphrase",
        ) from None
    leaf = chain[0]
    block = draw_block(signer=user.full_name, administration=administration, title_fr=title_fr, title_ar=title_ar)
    moment = now()
    with transaction.atomic():
        # One certificate in use per person and administration: the new one replaces the old.
        SigningCertificate.objects.filter(user=user, administration=administration, revoked_at=None).update(
            revoked_at=moment
        )
        certificate = SigningCertificate.objects.create(
            user=user,
            administration=administration,
            source=source,
            title_fr=title_fr,
            title_ar=title_ar,
            chain_pem=_pem(*chain),
            locked_key=locked,
            serial=f"{leaf.serial_number:x}",
            subject=leaf.subject.rfc4514_string()[:300],
            issuer=leaf.issuer.rfc4514_string()[:300],
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            created_at=moment,
            block=_encode_block(block),
        )
        audit_record(
            actor=user,
            action=(
                AuditAction.SIGNING_CERTIFICATE_IMPORTED
                if source == SigningCertificate.Source.IMPORTED
                else AuditAction.SIGNING_CERTIFICATE_ISSUED
            ),
            obj=certificate,
            administration=administration,
            subject_user=user,
            data={"serial": certificate.serial, "issuer": certificate.issuer},
        )
    return certificate


def certificate_enrol(
    *, user: User, administration: Administration, passphrase: str, title_fr: str = "", title_ar: str = ""
) -> SigningCertificate:
    """Issue ``user`` a signing certificate of the installation PKI; the key, made here, is
    kept encrypted under ``passphrase``."""
    pki = installation_pki()
    if len(passphrase) < keystore.MIN_PASSPHRASE:  # before making anything
        raise CertificateRefused(
            "weak_passphrase",
            _("Choose a passphrase of at least %(n)d characters.") % {"n": keystore.MIN_PASSPHRASE},
            field="passphrase",
        )
    key = keystore.new_key()
    leaf = pki.issue_person(
        public_key=key.public_key(),
        full_name=user.full_name,
        email=user.email,
        organization_name=administration.name_fr,
        organization_code=administration.code,
        title=title_fr,
    )
    return _store(
        user=user,
        administration=administration,
        key=key,
        chain=(leaf, pki.ca_cert),
        passphrase=passphrase,
        source=SigningCertificate.Source.INSTALLATION,
        title_fr=title_fr,
        title_ar=title_ar,
    )


def certificate_import(
    *,
    user: User,
    administration: Administration,
    pkcs12_data: bytes,
    pkcs12_password: str,
    passphrase: str,
    title_fr: str = "",
    title_ar: str = "",
) -> SigningCertificate:
    """Keep a certificate from an external provider (a PKCS#12 file) to sign with."""
    try:
        key, chain = keystore.read_pkcs12(pkcs12_data, pkcs12_password)
    except keystore.WrongPassphrase:
        raise CertificateRefused(
            "wrong_password", _("The password does not open this certificate file."), field="pkcs12_password"
        ) from None
    except keystore.UnusableCertificateFile:
        raise CertificateRefused(
            "unusable_certificate",
            _("This file holds no signing key with its certificate (a .p12 or .pfx file is expected)."),
            field="pkcs12",
        ) from None
    moment = now()
    if not chain[0].not_valid_before_utc <= moment <= chain[0].not_valid_after_utc:
        raise CertificateRefused("expired", _("This certificate is expired or not yet valid."), field="pkcs12")
    return _store(
        user=user,
        administration=administration,
        key=key,
        chain=chain,
        passphrase=passphrase,
        source=SigningCertificate.Source.IMPORTED,
        title_fr=title_fr,
        title_ar=title_ar,
    )


def certificate_revoke(*, actor: User, certificate: SigningCertificate) -> None:
    """Stop a certificate: on the installation's CRL when it issued it, and never used again."""
    with transaction.atomic():
        locked = SigningCertificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.revoked_at is None:
            locked.revoked_at = now()
            locked.save(update_fields=["revoked_at"])
        if locked.source == SigningCertificate.Source.INSTALLATION:
            installation_pki().revoke(chain_of(locked)[0])
        audit_record(
            actor=actor,
            action=AuditAction.SIGNING_CERTIFICATE_REVOKED,
            obj=locked,
            administration=locked.administration,
            subject_user=locked.user,
            data={"serial": locked.serial},
        )


def current_certificate(user: User, administration: Administration) -> SigningCertificate | None:
    return (
        SigningCertificate.objects.filter(user=user, administration=administration, revoked_at=None)
        .order_by("-created_at")
        .first()
    )


@dataclass(frozen=True)
class Signer:
    """An unlocked key with its certificate, ready to sign (kept for a batch, then dropped)."""

    certificate: SigningCertificate
    identity: SigningIdentity
    block: BlockImage


def unlock(certificate: SigningCertificate | None, passphrase: str) -> Signer:
    """The signer of ``certificate`` once checked usable now: not revoked (here or on the CRL),
    not expired, opened by ``passphrase``. Refused otherwise, with the reason."""
    if certificate is None:
        raise CertificateRefused(
            "no_certificate", _("You have no signing certificate here yet: enrol first."), status=409
        )
    if certificate.revoked_at is not None:
        raise CertificateRefused("revoked", _("Your signing certificate is revoked."), status=409)
    moment = now()
    if not certificate.not_before <= moment <= certificate.not_after:
        raise CertificateRefused("expired", _("Your signing certificate is expired."), status=409)
    pki = installation_pki()
    chain = chain_of(certificate)
    if pki.is_revoked(chain[0]):
        raise CertificateRefused("revoked", _("Your signing certificate is revoked."), status=409)
    try:
        key = keystore.unlock_key(bytes(certificate.locked_key), passphrase, kek=pki.key_encryption_key())
    except keystore.WrongPassphrase:
        raise CertificateRefused("wrong_passphrase", _("Wrong passphrase."), field="passphrase") from None
    return Signer(
        certificate=certificate,
        identity=SigningIdentity(key=key, chain=chain),
        block=decode_block(bytes(certificate.block)),
    )
