"""Showing the register verification's findings in a right-to-left page."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Numbers, dates, times, registration numbers, codes and hashes: runs that must read left to
# right inside an Arabic sentence (a bare "2026-12-06 23:13:26" would be reordered).
_LTR_RUN = re.compile(r"[#A-Za-z0-9][A-Za-z0-9:.#/_+-]*(?: [0-9][0-9:.]*)?")


@register.filter
def ltr_runs(text: object) -> SafeString:
    """``text`` escaped, each run containing a digit isolated left to right (``<bdi dir="ltr">``)."""
    value, pieces, at = str(text), [], 0
    for match in _LTR_RUN.finditer(value):
        run = match.group(0)
        if any(ch.isdigit() for ch in run):
            pieces += [escape(value[at : match.start()]), f'<bdi dir="ltr">{escape(run)}</bdi>']
            at = match.end()
    pieces.append(escape(value[at:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece of the text is escaped
