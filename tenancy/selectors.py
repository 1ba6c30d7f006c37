"""Reads about administrations, services and staff."""

from __future__ import annotations

from django.db.models import QuerySet

from core.errors import NotFound
from tenancy.models import Administration, Membership, User
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
