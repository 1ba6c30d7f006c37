"""Plain text as people type it, made fit for registers and documents.

Browsers send every line break of a text area as CR LF (HTML's form submission rules), word
processors paste U+2028 LINE SEPARATOR or form feeds, and an API client may send a lone CR. A
sealed letter must show each of them as the one line break the writer meant, never as a stray
"?" or an invisible control. ``plain_text`` keeps the line breaks (as LF) and tabulations,
and drops the other C0/C1 controls, which no font draws; ``one_line`` is for fields shown on
a single line (a subject, a name), where any line break becomes a space.

Directional controls (U+200E…U+202E, U+2066…U+2069) are not touched: what a person typed keeps
its direction, and core.bidi isolates it wherever it is shown.
"""

from __future__ import annotations

import re
from typing import Final

# CR LF first, so that it becomes one line break and not two.
_LINE_BREAK: Final = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# C0 and C1 controls other than TAB and LF, and DEL.
_CONTROL: Final = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_SPACES: Final = re.compile(r"[ \t]*\n[ \t\n]*|\t+")


def normalize_newlines(text: str) -> str:
    """``text`` with every kind of line break (CR LF, CR, VT, FF, NEL, U+2028, U+2029, the
    information separators) written as one LF."""
    return _LINE_BREAK.sub("\n", text)


def plain_text(text: str) -> str:
    """``text`` with its line breaks as LF and no control character but TAB and LF."""
    return _CONTROL.sub("", normalize_newlines(text))


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and tabulations (with the spaces around them) become
    one space; other controls are dropped; leading and trailing spaces are removed."""
    return _SPACES.sub(" ", plain_text(text)).strip()
