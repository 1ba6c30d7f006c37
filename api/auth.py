"""Bearer-token authentication of the API."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from tenancy.models import User
from tenancy.services import api_token_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


bearer = BearerToken()
