"""Requests as the views that receive them know them: a signed-in person's, an API caller's.

``@login_required`` (pages) and the bearer authentication (``api.auth.bearer``) let through only
those; annotating the view's ``request`` with these classes says so to the type checker, instead
of a cast at each use of ``request.user`` or ``request.auth``.
"""

from __future__ import annotations

from django.http import HttpRequest

from tenancy.models import User


class SignedInRequest(HttpRequest):
    """A request behind ``@login_required``: ``user`` is a signed-in account."""

    user: User


class ApiRequest(HttpRequest):
    """A request django-ninja authenticated with a bearer token: ``auth`` is its account."""

    auth: User
