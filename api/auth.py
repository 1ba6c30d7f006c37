"""Bearer-token authentication of the API, and the access check of the acts whose body is a form."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from ninja.security import HttpBearer

from core.errors import NotFound
from tenancy.access import Scope, scope_for_staff
from tenancy.http import ApiRequest
from tenancy.models import User
from tenancy.permissions import Action
from tenancy.services import api_token_user


class ActingRequest(ApiRequest):
    """A request let through by ``BearerToken(acting=...)``: ``scope`` is the caller's in the
    administration of the path, where they may do that action."""

    scope: Scope


class BearerToken(HttpBearer):
    """The account of the bearer token. With ``acting``, it must also be able to do that action
    in the administration the path's ``code`` names (a 404 otherwise).

    That check is here rather than in the handler for the acts whose body is a form
    (multipart, with files): django-ninja reads and validates a form before the handler runs,
    after the authentication, and an outsider must get the 404, never what the form lacks (a 422
    tells them the administration is there). The form stays declared on the handler, so the
    schema documents it with its bounds.
    """

    def __init__(self, *, acting: Action | None = None) -> None:
        self.acting = acting
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_user(token)
        if user is None:
            return None
        request.user = user
        if self.acting is not None:
            match = request.resolver_match
            scope = scope_for_staff(user, str(match.kwargs.get("code", "")) if match else "")
            if not scope.may(self.acting):
                raise NotFound
            # What the handler's ``ActingRequest`` annotation promises it (as django-ninja sets ``auth``).
            cast(ActingRequest, request).scope = scope
        return user


bearer = BearerToken()
