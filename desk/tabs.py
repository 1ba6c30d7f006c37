"""Which of the desk's tabs a person sees: what their roles in the page's administration allow.

A page that has already read them (the processing desk's scope) leaves them on the request, so
that drawing the tabs costs no query more.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from tenancy.access import Scope, readable_scope
from tenancy.http import SignedInRequest
from tenancy.models import Administration
from tenancy.permissions import permissions_of
from tenancy.selectors import roles_in

_ATTRIBUTE = "_wasl_desk_roles"


def remember_roles(request: HttpRequest, administration: Administration, roles: Iterable[str]) -> None:
    setattr(request, _ATTRIBUTE, (administration.pk, frozenset(roles)))


def desk_scope(request: SignedInRequest, code: str) -> Scope:
    """The signed-in person's scope in administration ``code`` (NotFound when they cannot read
    it), its roles kept for the tabs."""
    user = request.user
    scope = readable_scope(user, code)
    remember_roles(request, scope.administration, scope.roles)
    return scope


def permissions_for_tabs(request: HttpRequest | None, administration: Administration) -> dict[str, bool]:
    """What the request's user may do in ``administration``, by action (nothing when signed
    out), from the permission table."""
    if request is None:
        return permissions_of(())
    known = getattr(request, _ATTRIBUTE, None)
    if known is not None and known[0] == administration.pk:
        return permissions_of(known[1])
    user = getattr(request, "user", None)
    return permissions_of(roles_in(user, administration) if user is not None else ())
