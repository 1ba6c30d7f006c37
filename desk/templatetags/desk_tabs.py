"""The desk's tabs: only those the signed-in person's roles open."""

from __future__ import annotations

from typing import Any

from django import template

from desk.tabs import roles_for_tabs
from tenancy.models import Administration

register = template.Library()


@register.simple_tag(takes_context=True)
def desk_roles(context: dict[str, Any], administration: Administration) -> set[str]:
    """The roles the request's user holds in ``administration`` (none when signed out)."""
    return roles_for_tabs(context.get("request"), administration)
