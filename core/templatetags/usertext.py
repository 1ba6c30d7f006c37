"""Template filters that show what people typed without letting it reorder the page around it.

Loaded in every template (``builtins`` in settings.TEMPLATES). See core.bidi for why.

- ``{{ c.subject|bdi }}`` in HTML text: the value, escaped, its directional controls closed, in
  a ``<bdi>`` element (an isolate of its own, whose direction follows its first letter). It
  takes what other filters made, ``{{ c.body|linebreaksbr|bdi }}``, ``{{ s|truncatechars:80|bdi }}``;
  ``{{ c.sender_email|bdi:"ltr" }}`` sets the run left to right.
- ``{{ folder.title|isolate }}`` where no element may go (a page title, an attribute, plain-text
  e-mail): the value between isolating characters when it has directional controls.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe

from core.bidi import closed, isolated

register = template.Library()


@register.filter(needs_autoescape=True)
def bdi(value: Any, direction: str = "", autoescape: bool = True) -> SafeString | str:
    if value is None or value == "":
        return ""
    # A direction forces the run's, for values that read left to right whatever the page's
    # (an e-mail address, an identifier, a number from another installation).
    opening = "<bdi>" if direction not in ("ltr", "rtl") else f'<bdi dir="{direction}">'
    if isinstance(value, SafeData) or not autoescape:
        # A line break that linebreaksbr made ends a paragraph, as the newline it replaced did.
        text = "<br>".join(closed(line) for line in str(value).split("<br>"))
    else:
        text = str(conditional_escape(closed(str(value))))
    return mark_safe(f"{opening}{text}</bdi>")  # noqa: S308 (escaped above, or already safe)


@register.filter(is_safe=True)  # Adds no markup: a safe value stays safe.
def isolate(value: Any) -> str:
    return "" if value is None else isolated(str(value))
