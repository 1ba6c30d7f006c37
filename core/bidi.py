"""Bidirectional controls in what people type: kept as typed, isolated wherever it is shown.

Unicode's explicit directional controls (UAX #9) change how the text after them is ordered on
screen until they are closed: U+202E RIGHT-TO-LEFT OVERRIDE typed in a subject shows
"gnp.exe" as "exe.png", and, left open, reverses whatever the page, the e-mail or the PDF puts
after the subject too. Wasl stores text as it was typed (the register keeps what was deposited),
and every place that shows it keeps its controls from reaching past it:

- :func:`closed` closes, at the end of each paragraph of a value, the embeddings, overrides and
  isolates the value opened there, and drops the closing controls that match nothing the value
  opened (a stray U+2069 would close an isolate of the page around it);
- :func:`isolated` also wraps each paragraph of a value that has directional controls in
  U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE, for plain text: e-mails, PDFs
  (documents.rendering applies it to every string a template receives), page titles and
  attributes, messages that quote a value;
- in HTML, the ``bdi`` template filter (core.templatetags.usertext) puts the closed value in a
  ``<bdi>`` element, which isolates it whatever its direction.

File names lose their controls altogether (documents.intake), since a name is chosen to be
read, not typed as prose.

Only values that contain a directional control (or a directional mark, whose effect also
reaches the neutral characters around it) get the isolating characters: text without them
cannot reorder its surroundings beyond the usual ordering of mixed scripts, and stays exactly
as it was, byte for byte in a PDF or an e-mail. This module uses no Django.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

LRE: Final = "\u202a"  # LEFT-TO-RIGHT EMBEDDING
RLE: Final = "\u202b"  # RIGHT-TO-LEFT EMBEDDING
PDF: Final = "\u202c"  # POP DIRECTIONAL FORMATTING
LRO: Final = "\u202d"  # LEFT-TO-RIGHT OVERRIDE
RLO: Final = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
LRI: Final = "\u2066"  # LEFT-TO-RIGHT ISOLATE
RLI: Final = "\u2067"  # RIGHT-TO-LEFT ISOLATE
FSI: Final = "\u2068"  # FIRST STRONG ISOLATE
PDI: Final = "\u2069"  # POP DIRECTIONAL ISOLATE

_OPENERS: Final = {LRE: PDF, RLE: PDF, LRO: PDF, RLO: PDF, LRI: PDI, RLI: PDI, FSI: PDI}
_EXPLICIT: Final = LRE + RLE + PDF + LRO + RLO + LRI + RLI + FSI + PDI
# Explicit controls, and the marks ALM, LRM and RLM.
_DIRECTIONAL: Final = _EXPLICIT + "\u061c\u200e\u200f"
# Paragraph separators (bidi class B): a paragraph's controls end with it (rule X8).
_PARAGRAPHS: Final = re.compile("(\r\n|[\n\r\x1c\x1d\x1e\x85\u2029])")


def _has_any(text: str, chars: str) -> bool:
    # ASCII text has none; otherwise a substring search per character, several times faster
    # than a regular expression's character class on long non-ASCII text (a receipt's data is
    # checked whole).
    return not text.isascii() and any(char in text for char in chars)


def has_directional_controls(text: str) -> bool:
    """Whether ``text`` has an explicit directional control or a directional mark."""
    return _has_any(text, _DIRECTIONAL)


def _closed_paragraph(paragraph: str) -> str:
    if not _has_any(paragraph, _EXPLICIT):
        return paragraph
    out: list[str] = []
    # The closers the paragraph owes, innermost last: PDF for an embedding or override, PDI
    # for an isolate (rules X1-X7: a PDI closes its isolate and whatever was opened in it; a PDF
    # closes only an embedding or override opened since the last isolate).
    pending: list[str] = []
    for char in paragraph:
        if char in _OPENERS:
            pending.append(_OPENERS[char])
        elif char == PDI:
            if PDI not in pending:
                continue  # Matches nothing of this value's: it would close the page's isolate.
            while pending.pop() != PDI:
                pass
        elif char == PDF:
            if not pending or pending[-1] != PDF:
                continue  # Matches nothing opened since the last isolate: it would reach outside.
            pending.pop()
        out.append(char)
    out.extend(reversed(pending))
    return "".join(out)


def closed(text: str) -> str:
    """``text`` with, in each paragraph, the embeddings, overrides and isolates it opens closed
    at the paragraph's end, and the closing controls that match nothing it opened removed.
    Text without explicit directional controls is returned unchanged."""
    if not _has_any(text, _EXPLICIT):
        return text
    return "".join(part if i % 2 else _closed_paragraph(part) for i, part in enumerate(_PARAGRAPHS.split(text)))


def isolated(text: str) -> str:
    """``text`` for a plain-text context: if it has directional controls or marks, each
    non-empty paragraph is closed (see :func:`closed`) and set between FSI and PDI, so that
    nothing in it reorders the text around it; otherwise ``text`` itself."""
    if not _has_any(text, _DIRECTIONAL):
        return text
    parts = _PARAGRAPHS.split(text)
    return "".join(part if i % 2 or not part else FSI + _closed_paragraph(part) + PDI for i, part in enumerate(parts))


def direction_of(text: str) -> str:
    """``"rtl"`` when most of the letters of ``text`` are written right to left (Arabic,
    Hebrew…), else ``"ltr"``. For a passage cut from a longer text, where the first letter (what ``dir="auto"``
    looks at) may be the end of a French line before an Arabic paragraph."""
    if text.isascii():
        return "ltr"
    right = left = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            right += 1
        elif kind == "L":
            left += 1
    return "rtl" if right > left else "ltr"
