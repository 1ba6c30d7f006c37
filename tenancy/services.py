"""Changes to accounts, administrations, services and staff."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.core import signing
from django.db import transaction

from audit.services import audit_record
from core.canonical import sha256_hex
from core.clock import now
from tenancy.models import Administration, ApiToken, Membership, Service, User

EMAIL_VERIFICATION_SALT = "wasl.email-verification"
EMAIL_VERIFICATION_MAX_AGE = 3 * 24 * 3600


class TokenInvalid(Exception):
    pass


def account_register(
    *,
    email: str,
    password: str,
    full_name: str,
    kind: str = User.Kind.PERSON,
    national_id: str = "",
    company_id: str = "",
    language: str = "ar",
) -> User:
    """Create a citizen or company account, not yet verified. Validate with the form first."""
    with transaction.atomic():
        user = User.objects.create_user(
            email,
            password,
            full_name=full_name.strip(),
            kind=kind,
            national_id=national_id.strip().upper(),
            company_id=company_id.strip(),
            language=language,
        )
        audit_record(actor=user, action="account.registered", obj=user, subject_user=user)
    return user


def email_verification_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=EMAIL_VERIFICATION_SALT)


def account_verify_email(*, token: str) -> User:
    try:
        data = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=EMAIL_VERIFICATION_MAX_AGE)
    except signing.BadSignature:
        raise TokenInvalid from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
        if user is None:
            raise TokenInvalid
        if user.email_verified_at is None:
            user.email_verified_at = now()
            user.save(update_fields=["email_verified_at"])
            audit_record(actor=user, action="account.email_verified", obj=user, subject_user=user)
    return user


def api_token_issue(*, email: str, password: str) -> tuple[User, str] | None:
    """Check the credentials and return a new bearer token, or None when they are wrong."""
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None or not isinstance(user, User):
        return None
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            user=user,
            key_hash=sha256_hex(raw),
            expires_at=now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
        )
        audit_record(actor=user, action="api_token.issued", subject_user=user)
    return user, raw


def api_token_user(raw: str) -> User | None:
    """The active user behind a bearer token that has not expired."""
    token = ApiToken.objects.select_related("user").filter(key_hash=sha256_hex(raw)).first()
    if token is None or token.expires_at <= now() or not token.user.is_active:
        return None
    return token.user


def administration_create(
    *, actor: User | None, code: str, kind: str, name_ar: str, name_fr: str, name_zgh: str = ""
) -> Administration:
    with transaction.atomic():
        administration = Administration(code=code, kind=kind, name_ar=name_ar, name_fr=name_fr, name_zgh=name_zgh)
        administration.full_clean()
        administration.save()
        audit_record(actor=actor, action="administration.created", obj=administration, administration=administration)
    return administration


def service_create(
    *,
    actor: User | None,
    administration: Administration,
    code: str,
    name_ar: str,
    name_fr: str,
    name_zgh: str = "",
    parent: Service | None = None,
    kind: str = Service.Kind.CENTRAL,
    location: str = "",
) -> Service:
    if parent is not None and parent.administration_id != administration.pk:
        raise ValueError("the parent service belongs to another administration")
    with transaction.atomic():
        service = Service(
            administration=administration,
            code=code,
            name_ar=name_ar,
            name_fr=name_fr,
            name_zgh=name_zgh,
            parent=parent,
            kind=kind,
            location=location,
        )
        service.full_clean()
        service.save()
        audit_record(actor=actor, action="service.created", obj=service, administration=administration)
    return service


def membership_grant(
    *, actor: User | None, user: User, administration: Administration, role: str, service: Service | None = None
) -> Membership:
    if service is not None and service.administration_id != administration.pk:
        raise ValueError("the service belongs to another administration")
    with transaction.atomic():
        membership, _created = Membership.objects.update_or_create(
            user=user, administration=administration, role=role, defaults={"service": service, "is_active": True}
        )
        audit_record(
            actor=actor,
            action="membership.granted",
            obj=membership,
            administration=administration,
            subject_user=user,
            data={"role": role},
        )
    return membership


def membership_revoke(*, actor: User | None, membership: Membership) -> None:
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(is_active=False)
        audit_record(
            actor=actor,
            action="membership.revoked",
            obj=membership,
            administration=membership.administration,
            subject_user=membership.user,
            data={"role": membership.role},
        )
