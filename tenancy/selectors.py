"""Reads about administrations, services and staff."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from core.errors import NotFound
from tenancy.models import Administration, Membership, Service, User
from tenancy.permissions import Action, roles_who


def mask_identifier(value: str) -> str:
    """``AB123456`` → ``AB****56``: enough to recognise, not enough to reuse."""
    value = value.strip()
    if not value:
        return ""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def administration_by_code(code: str) -> Administration | None:
    return Administration.objects.filter(code=code.strip().upper(), is_active=True).first()


def administration_with_code(code: str) -> Administration | None:
    """The administration of ``code`` (any case), whether it accepts correspondence or not."""
    return Administration.objects.filter(code=code.strip().upper()).first()


def active_administrations() -> QuerySet[Administration]:
    return Administration.objects.filter(is_active=True).order_by("code")


def memberships_of(user: User) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, is_active=True, administration__is_active=True).select_related(
        "administration", "service"
    )


def roles_in(user: User, administration: Administration) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, administration=administration, is_active=True).values_list(
            "role", flat=True
        )
    )


def administration_for_staff(user: User, code: str, action: Action | None = None) -> Administration:
    """An administration where ``user`` holds a role that may do ``action`` (any role when
    None), in one query; NotFound otherwise."""
    memberships = memberships_of(user).filter(administration__code=code)
    if action is not None:
        memberships = memberships.filter(role__in=roles_who(action))
    membership = memberships.first()
    if membership is None:
        raise NotFound
    return membership.administration


def services_with_parents(administration: Administration) -> QuerySet[Service]:
    """Every service of ``administration`` with the service it is part of, by code."""
    return Service.objects.filter(administration=administration).select_related("parent").order_by("code")


def service_for(administration: Administration, service_id: int) -> Service:
    """A service of ``administration``; NotFound otherwise."""
    service = Service.objects.filter(pk=service_id, administration=administration).first()
    if service is None:
        raise NotFound
    return service


def service_by_code(administration_id: int, code: str) -> Service | None:
    return Service.objects.filter(administration_id=administration_id, code=code.strip().upper()).first()


def staff_of(administration: Administration) -> QuerySet[Membership]:
    """The active memberships of ``administration``, by person then role."""
    return (
        Membership.objects.filter(administration=administration, is_active=True)
        .select_related("user", "service")
        .order_by("user__full_name", "role")
    )


def membership_for(administration: Administration, membership_id: int) -> Membership:
    """An active membership of ``administration``; NotFound otherwise."""
    membership = Membership.objects.filter(pk=membership_id, administration=administration, is_active=True).first()
    if membership is None:
        raise NotFound
    return membership


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower()).first()


def user_ids_by_email(emails: Iterable[str]) -> dict[str, int]:
    """The ids of the accounts of ``emails``, by e-mail in lower case (absent when there is none)."""
    return {user.email.lower(): user.pk for user in User.objects.filter(email__in=list(emails))}
