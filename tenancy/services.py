"""Changes to accounts, administrations, services and staff."""

from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.canonical import sha256_hex
from core.clock import now
from core.errors import Refused
from tenancy.models import Administration, ApiToken, Membership, Service, User
from tenancy.permissions import Action, roles_who
from tenancy.throttles import account_failures_forget, normalised_email, password_reset_attempt

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
        audit_record(actor=user, action=AuditAction.ACCOUNT_REGISTERED, obj=user, subject_user=user)
    return user


def platform_admin_create(*, actor: User | None, email: str, password: str, full_name: str) -> User:
    """Create a platform administrator (``/admin/``: administrations, staff, accounts), its
    e-mail address taken as confirmed. Validate the address and the password first; an address
    an account already uses raises ``IntegrityError``. ``actor`` is None when the installation
    creates its first one (``manage.py install``)."""
    with transaction.atomic():
        user = User.objects.create_superuser(email, password, full_name=full_name.strip())
        audit_record(actor=actor, action=AuditAction.PLATFORM_ADMIN_CREATED, obj=user, subject_user=user)
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
            audit_record(actor=user, action=AuditAction.ACCOUNT_EMAIL_VERIFIED, obj=user, subject_user=user)
    return user


def credential_stamp(user: User) -> str:
    """A digest of the account's password hash: it changes with every change of password."""
    return sha256_hex(f"wasl.credentials\n{user.password}")


def api_token_issue(*, email: str, password: str, request: HttpRequest | None = None) -> tuple[User, str] | None:
    """Check the credentials and return a new bearer token, or None when they are wrong.

    The check goes through the sign-in limits (``request`` gives the client address) and
    raises :class:`tenancy.throttles.Throttled` when the account or the address must wait.
    The token lives until it expires or the account's password changes.
    """
    user = authenticate(request, username=email.strip().lower(), password=password)
    if user is None or not isinstance(user, User):
        return None
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            user=user,
            key_hash=sha256_hex(raw),
            credential_stamp=credential_stamp(user),
            expires_at=now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
        )
        audit_record(actor=user, action=AuditAction.API_TOKEN_ISSUED, subject_user=user)
    return user, raw


def api_token_user(raw: str) -> User | None:
    """The active user behind a bearer token that has not expired and was issued under the
    account's current password."""
    token = ApiToken.objects.select_related("user").filter(key_hash=sha256_hex(raw)).first()
    if token is None or token.expires_at <= now() or not token.user.is_active:
        return None
    if not constant_time_compare(token.credential_stamp, credential_stamp(token.user)):
        return None
    return token.user


class PasswordChange(StrEnum):
    CHANGED = "changed"  # by the account itself, signed in, knowing the old password
    RESET = "reset"  # through a link sent to the account's e-mail address


def account_password_set(*, actor: User, user: User, password: str, how: PasswordChange) -> int:
    """Give ``user`` a new password (validate it with the form first) and end everything the
    old one opened: every API token is deleted, and every session signed in before is refused
    from its next request on (Django checks a session against the password hash). The caller
    keeps the session doing a change (``update_session_auth_hash``); after a reset none is kept.
    A reset also ends the slow-down of the account's sign-ins: its owner proved who they are.
    Returns the number of API tokens revoked.
    """
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        revoked, _kinds = ApiToken.objects.filter(user=user).delete()
        if how == PasswordChange.RESET:
            account_failures_forget(email=user.email)
        audit_record(
            actor=actor,
            action=AuditAction.ACCOUNT_PASSWORD_RESET
            if how == PasswordChange.RESET
            else AuditAction.ACCOUNT_PASSWORD_CHANGED,
            obj=user,
            subject_user=user,
            data={"api_tokens_revoked": revoked},
        )
    return revoked


def password_reset_request(*, email: str, address: str) -> None:
    """Queue the e-mail with a reset link for the account of ``email``, if there is one.

    The same work whatever the address: the throttles are counted by the e-mail address as
    typed and the task is queued without looking for an account; the worker looks, after
    the answer is sent, and sends nothing when no active account with a password uses it.
    Raises :class:`tenancy.throttles.Throttled` past the limits per e-mail and per client address.
    """
    email = normalised_email(email)
    password_reset_attempt(email=email, address=address)
    # The services↔tasks idiom: the task calls back into this module, so it is imported here.
    from tenancy.tasks import password_reset_email_task

    password_reset_email_task.enqueue(email=email)


def password_reset_email_send(*, email: str) -> int:
    """Send the reset link to each active account of ``email`` that has a password; return how many."""
    sent = 0
    for user in User.objects.filter(email__iexact=normalised_email(email), is_active=True):
        if not user.has_usable_password():
            continue
        link = settings.PUBLIC_URL + reverse(
            "portal:password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        with translation.override(user.language):
            subject = _("Reset your Wasl password")
            body = render_to_string("tenancy/email/password_reset.txt", {"user": user, "link": link})
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent


def administration_create(
    *, actor: User | None, code: str, kind: str, name_ar: str, name_fr: str, name_zgh: str = ""
) -> Administration:
    with transaction.atomic():
        administration = Administration(code=code, kind=kind, name_ar=name_ar, name_fr=name_fr, name_zgh=name_zgh)
        administration.full_clean()
        administration.save()
        audit_record(
            actor=actor, action=AuditAction.ADMINISTRATION_CREATED, obj=administration, administration=administration
        )
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
        audit_record(actor=actor, action=AuditAction.SERVICE_CREATED, obj=service, administration=administration)
    return service


def service_rename(
    *, actor: User | None, service: Service, name_ar: str, name_fr: str, name_zgh: str = "", location: str = ""
) -> Service:
    """Change a service's names (Arabic, French, Amazigh) and location; its code, place in the
    tree and everything routed to it stay as they are."""
    with transaction.atomic():
        before = {"name_ar": service.name_ar, "name_fr": service.name_fr, "name_zgh": service.name_zgh}
        service.name_ar, service.name_fr = name_ar.strip(), name_fr.strip()
        service.name_zgh, service.location = name_zgh.strip(), location.strip()
        service.full_clean()
        service.save(update_fields=["name_ar", "name_fr", "name_zgh", "location"])
        audit_record(
            actor=actor,
            action=AuditAction.SERVICE_RENAMED,
            obj=service,
            administration=service.administration,
            data={"code": service.code, "before": before},
        )
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
            action=AuditAction.MEMBERSHIP_GRANTED,
            obj=membership,
            administration=administration,
            subject_user=user,
            data={"role": role},
        )
    return membership


class StaffRefused(Refused):
    """A change to an administration's staff that cannot be made; nothing was changed."""


def staff_invite(
    *,
    actor: User,
    administration: Administration,
    email: str,
    full_name: str,
    role: str,
    service: Service | None = None,
) -> tuple[Membership, bool]:
    """Give the person of ``email`` ``role`` in ``administration``; return the membership, and
    whether they were invited (True: they had no account).

    A person without an account gets one, without a password (``account.registered`` in the
    audit trail, by ``actor``), and after commit an e-mail with a link to choose their password,
    in the language of the page ``actor`` is on. Raises :class:`StaffRefused` when such a
    person has no ``full_name``; nothing is changed then.
    """
    email = email.strip().lower()
    with transaction.atomic():
        member = User.objects.filter(email=email).first()
        invited = member is None
        if member is None:
            if not full_name.strip():
                raise StaffRefused("full_name_required", _("Give the full name of this new person."), field="full_name")
            member = User.objects.create_user(email, None, full_name=full_name.strip())
            audit_record(
                actor=actor,
                action=AuditAction.ACCOUNT_REGISTERED,
                obj=member,
                administration=administration,
                subject_user=member,
                data={"invited": True},
            )
        membership = membership_grant(
            actor=actor, user=member, administration=administration, role=role, service=service
        )
        if invited:
            invitee = member
            transaction.on_commit(lambda: staff_invitation_send(user=invitee, administration=administration))
    return membership, invited


def staff_invitation_send(*, user: User, administration: Administration) -> None:
    """E-mail ``user`` the link to choose their password, naming the administration they now work for."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    # Under the public URL, as every e-mailed link: not the host or scheme a request came with.
    link = settings.PUBLIC_URL + reverse("portal:password_reset_confirm", args=[uid, token])
    body = render_to_string(
        "tenancy/email/invitation.txt", {"user": user, "link": link, "administration": administration}
    )
    send_mail(_("You were given access to Wasl"), body, None, [user.email])


def staff_role_revoke(*, actor: User, membership: Membership) -> None:
    """Withdraw a role from a member of staff. An administrator cannot withdraw their own
    administrator role, so as not to lock themselves out: :class:`StaffRefused`."""
    if membership.user_id == actor.pk and membership.role in roles_who(Action.ADMINISTER_STAFF):
        raise StaffRefused("own_admin_role", _("You cannot remove your own administrator role."), status=409)
    membership_revoke(actor=actor, membership=membership)


def membership_revoke(*, actor: User | None, membership: Membership) -> None:
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(is_active=False)
        audit_record(
            actor=actor,
            action=AuditAction.MEMBERSHIP_REVOKED,
            obj=membership,
            administration=membership.administration,
            subject_user=membership.user,
            data={"role": membership.role},
        )
