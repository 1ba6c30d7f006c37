"""Who may do what on the processing desk: the one place that decides, for pages and the API.

A member's reach follows the services tree: a head or an agent attached to a service acts on
that service and the services under it; one attached to no service acts on the whole
administration. Clerks and administrators route everything. Auditors only read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tenancy.models import Administration, Membership, Service, User

Role = Membership.Role
ROUTE_ROLES = frozenset({Role.CLERK, Role.ADMIN})
HANDLE_ROLES = frozenset({Role.HEAD, Role.AGENT})
SUPERVISE_ROLES = frozenset({Role.HEAD, Role.ADMIN})
READ_ROLES = frozenset({Role.CLERK, Role.AGENT, Role.HEAD, Role.SIGNATORY, Role.ADMIN, Role.AUDITOR})
CATALOGUE_ROLES = frozenset({Role.ADMIN})


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

    @property
    def can_read(self) -> bool:
        return bool(self.roles & READ_ROLES)

    @property
    def can_route(self) -> bool:
        """Assign any request to any service (the mail office)."""
        return bool(self.roles & ROUTE_ROLES)

    @property
    def can_manage_catalogue(self) -> bool:
        return bool(self.roles & CATALOGUE_ROLES)

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
        return self.can_route or self.supervises_service(service_id)


def scope_of(user: User, administration: Administration) -> Scope:
    scope = Scope(user=user, administration=administration)
    if not user.is_authenticated:
        return scope
    memberships = list(
        Membership.objects.filter(user=user, administration=administration, is_active=True).values_list(
            "role", "service_id"
        )
    )
    scope.roles = {role for role, _ in memberships}
    if Role.ADMIN in scope.roles:
        scope.handles = scope.supervises = None
        return scope
    handling = [(role, service_id) for role, service_id in memberships if role in HANDLE_ROLES]
    if not handling:
        return scope
    scope.own_services = {service_id for _, service_id in handling if service_id is not None}
    services = list(Service.objects.filter(administration=administration).only("id", "parent_id"))
    if any(service_id is None for _, service_id in handling):
        scope.handles = None
    else:
        scope.handles = subtree(services, scope.own_services)
    heads = [service_id for role, service_id in handling if role == Role.HEAD]
    if any(service_id is None for service_id in heads):
        scope.supervises = None
    else:
        scope.supervises = subtree(services, [s for s in heads if s is not None])
    return scope
