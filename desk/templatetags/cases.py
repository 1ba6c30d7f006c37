"""What the desk's pages say about a letter's handling."""

from __future__ import annotations

from typing import Any

from django import template

from workflow.selectors import service_in_charge as _service_in_charge

register = template.Library()


@register.filter
def service_in_charge(correspondence: Any) -> Any:
    """The service the letter is with (see workflow.selectors.service_in_charge)."""
    return _service_in_charge(correspondence)
