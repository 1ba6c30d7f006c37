"""The language of letter templates: text with named placeholders, and nothing else.

A template is plain text in which ``{name}`` stands for a value of the request (``{number}``,
``{sender_name}``…, the names :func:`workflow.letters.template_variables` lists); ``{{`` and
``}}`` write a brace itself. There is no other construct: no format specification
(``{number:>60000000}``), no conversion (``{number!r}``), no attribute or index
(``{number.real}``, ``{number[0]}``). Templates are written by administration admins and filled
in the web workers that every tenant shares, so filling one is a plain substitution of our own,
never ``str.format``: what it produces is the template's text with each placeholder replaced by
its value, and cannot be longer than that.

:func:`template_problems` is what saving a template checks; :func:`fill` never fails: anything
that is not a known placeholder is kept as typed (a template stored before this check, or
written into the database by hand, still fills, and shows its mistake instead of running it).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

# A token is a doubled brace, a braced run without braces inside, or a brace alone.
_TOKEN: Final = re.compile(r"\{\{|\}\}|\{[^{}]*\}|[{}]")

# A template's text is at most as long as a letter's text (workflow.services.base.BODY_MAX), and
# names at most MAX_PLACEHOLDERS values: a filled template stays of a letter's size whatever the
# values (the longest, the subject, has 300 characters).
TEXT_MAX: Final = 20_000
MAX_PLACEHOLDERS: Final = 60
# The mistakes named at once: the first few are enough to correct, and the message stays short.
MAX_PROBLEMS: Final = 5


@dataclass(frozen=True)
class Problem:
    """Something a template may not contain: ``kind`` is "brace" (a brace without its pair),
    "unknown" (a braced run that is not a known placeholder), "too_long" or "too_many"; ``found``
    is the text found, when there is one."""

    kind: str
    found: str = ""


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """``text`` as (kind, text) pairs: "text", "brace" (a doubled brace, already undoubled),
    "placeholder" (the name inside the braces, not checked), "stray" (a brace alone)."""
    at = 0
    for match in _TOKEN.finditer(text):
        if match.start() > at:
            yield "text", text[at : match.start()]
        token = match.group()
        if token in ("{{", "}}"):
            yield "brace", token[0]
        elif len(token) == 1:
            yield "stray", token
        else:
            yield "placeholder", token[1:-1]
        at = match.end()
    if at < len(text):
        yield "text", text[at:]


def template_problems(text: str, allowed: Collection[str]) -> list[Problem]:
    """What keeps ``text`` from being a template whose placeholders are ``allowed``; empty if
    nothing does. Each distinct problem is named once, in the order found, the first
    MAX_PROBLEMS mistakes of the text at most."""
    problems: list[Problem] = []
    if len(text) > TEXT_MAX:
        problems.append(Problem("too_long"))
    placeholders = 0
    for kind, value in _tokens(text):
        problem = None
        if kind == "stray":
            problem = Problem("brace", value)
        elif kind == "placeholder":
            if value in allowed:
                placeholders += 1
            else:
                problem = Problem("unknown", "{" + value[:40] + ("…" if len(value) > 40 else "") + "}")
        if problem is not None and problem not in problems and len(problems) < MAX_PROBLEMS:
            problems.append(problem)
    if placeholders > MAX_PLACEHOLDERS:
        problems.append(Problem("too_many"))
    return problems


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its known placeholders replaced by their values in ``values`` (the first
    MAX_PLACEHOLDERS of them, as many as a saved template may have) and every doubled brace
    undoubled; anything else, an unknown placeholder included, stays as it is."""
    out: list[str] = []
    filled = 0
    for kind, value in _tokens(text):
        if kind == "placeholder":
            if value in values and filled < MAX_PLACEHOLDERS:
                out.append(values[value])
                filled += 1
            else:
                out.append("{" + value + "}")
        else:
            out.append(value)
    return "".join(out)
