"""Test helper for the API: a client signed in with a bearer token, as an API user would be."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tenancy.testing import PASSWORD


def bearer(user: Any) -> Client:
    """A test client sending ``user``'s token (obtained with their password) on every request."""
    client = Client()
    token = client.post(
        "/api/v1/auth/token", {"username": user.email, "password": PASSWORD}, content_type="application/json"
    ).json()["token"]
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client
