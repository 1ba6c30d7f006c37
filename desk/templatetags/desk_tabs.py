"""The desk's tabs: only those the signed-in person's roles open (the permission table)."""

from __future__ import annotations

from typing import Any

from django import template

from desk.tabs import permissions_for_tabs
from tenancy.models import Administration

register = template.Library()


@register.simple_tag(takes_context=True)
def desk_permissions(context: dict[str, Any], administration: Administration) -> dict[str, bool]:
    """What the request's user may do in ``administration``, by action: ``can.register``."""
    return permissions_for_tabs(context.get("request"), administration)
