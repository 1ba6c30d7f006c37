"""Who is acting, for which administration, with which roles and reach: the ``Scope`` every
staff page, endpoint and access helper starts from.

What each role may do is in ``tenancy.permissions``; a scope answers ``may(Action.X)`` from it.
A member's reach follows the services tree: one who handles (or supervises) cases attached to a
service acts on that service and the services under it; one attached to no service, on the whole
administration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.errors import NotFound
from tenancy.models import Administration, Membership, Service, User
from tenancy.permissions import Action, allowed, permissions_of, roles_who
from tenancy.selectors import memberships_of, roles_in


def subtree(services: Iterable[Service], roots: Iterable[int]) -> set[int]:
    """The ids of ``roots`` and of every service under them."""
    children: dict[int | None, list[int]] = {}
    for service in services:
        children.setdefault(service.parent_id, []).append(service.pk)
    found: set[int] = set()
    pending = list(roots)
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        pending.extend(children.get(current, ()))
    return found


@dataclass
class Scope:
    """One user's rights in one administration."""

    user: User
    administration: Administration
    roles: set[str] = field(default_factory=set)
    # Services where the user handles and supervises mail; None means every service.
    handles: set[int] | None = field(default_factory=set)
    supervises: set[int] | None = field(default_factory=set)
    own_services: set[int] = field(default_factory=set)
    # Every service of the administration, in code order, loaded once per request: the pages'
    # choices and the checks that a service belongs here read this list instead of the database.
    services: list[Service] = field(default_factory=list)

    @property
    def service_ids(self) -> set[int]:
        return {service.pk for service in self.services}

    @property
    def active_services(self) -> list[Service]:
        return [service for service in self.services if service.is_active]

    def may(self, action: Action) -> bool:
        """Whether one of the user's roles here may do ``action`` (the permission table)."""
        return allowed(self.roles, action)

    @property
    def can(self) -> dict[str, bool]:
        """Every action by name and whether the user may do it, for templates:
        ``{% if scope.can.register %}``."""
        return permissions_of(self.roles)

    def handles_service(self, service_id: int | None) -> bool:
        if self.handles is None:
            return True
        return service_id is not None and service_id in self.handles

    def supervises_service(self, service_id: int | None) -> bool:
        if self.supervises is None:
            return True
        return service_id is not None and service_id in self.supervises

    def may_assign_to(self, service_id: int) -> bool:
        """Route to ``service_id``: anywhere for the mail office, within one's subtree for a head."""
        return self.may(Action.ROUTE) or self.supervises_service(service_id)


def scope_of(user: User, administration: Administration) -> Scope:
    if not user.is_authenticated:
        return Scope(user=user, administration=administration)
    memberships = list(
        Membership.objects.filter(user=user, administration=administration, is_active=True).values_list(
            "role", "service_id"
        )
    )
    return _scope(user, administration, memberships)


def scope_for_staff(user: User, code: str) -> Scope:
    """The scope of ``user`` in the administration ``code`` they are a member of, from one
    query; NotFound when they are not."""
    rows = list(memberships_of(user).filter(administration__code=code)) if user.is_authenticated else []
    if not rows:
        raise NotFound
    return _scope(user, rows[0].administration, [(row.role, row.service_id) for row in rows])


def readable_scope(user: User, code: str) -> Scope:
    """The scope of ``user`` in administration ``code``, which they must be able to read
    (NotFound otherwise): what every staff page and endpoint starts from."""
    scope = scope_for_staff(user, code)
    if not scope.may(Action.READ):
        raise NotFound
    return scope


def member_may(user: User, administration: Administration, action: Action) -> bool:
    """Whether ``user`` holds a role in ``administration`` that may do ``action``: the check of
    services that take an actor and an administration rather than a scope."""
    return allowed(roles_in(user, administration), action)


def _scope(user: User, administration: Administration, memberships: Sequence[tuple[str, int | None]]) -> Scope:
    scope = Scope(user=user, administration=administration)
    scope.roles = {role for role, _ in memberships}
    if not scope.may(Action.READ):
        return scope
    services = scope.services = list(Service.objects.filter(administration=administration).order_by("code"))
    for service in services:
        service.administration = administration  # the same object: no query to reach it back
    if scope.may(Action.EVERY_SERVICE):
        scope.handles = scope.supervises = None
        return scope
    handling = [(role, service_id) for role, service_id in memberships if role in roles_who(Action.HANDLE)]
    if not handling:
        return scope
    scope.own_services = {service_id for _, service_id in handling if service_id is not None}
    if any(service_id is None for _, service_id in handling):
        scope.handles = None
    else:
        scope.handles = subtree(services, scope.own_services)
    heads = [service_id for role, service_id in handling if role in roles_who(Action.SUPERVISE)]
    if any(service_id is None for service_id in heads):
        scope.supervises = None
    else:
        scope.supervises = subtree(services, [s for s in heads if s is not None])
    return scope
