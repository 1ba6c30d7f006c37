"""The text of a born-digital PDF page in reading order, Arabic and French alike.

Why not PDFium's own text (``FPDFText_GetText``): a PDF says which glyphs go where, not in what
order they are read, and producers store Arabic in either order. PDFium guesses the direction
of each run of text from its content order and reverses the runs it takes for right-to-left;
it guesses wrong often (``docs/search.md``, figures in ``docs/benchmarks.md``): a browser's
"Save as PDF" comes out with most Arabic words reversed (``الحسن`` as ``نسحلا``), and in Typst
or OCRmyPDF pages that mix Arabic with French or numbers, Latin words come out in reverse order
(``Mohammadi Hay``, ``-2026-000123A``).

What is reliable is where each glyph is drawn. So the page is read as a person reads it:

1. Glyphs. Each character PDFium found, with its glyph's origin and box (the characters of one
   glyph — a lam-alef ligature ``لا``, a letter and its marks — share one origin). Spaces, line
   breaks and bidi marks are not glyphs; where PDFium found or added a space is kept as a hint.
2. Lines. Glyphs whose baselines are within ``LINE_SHIFT`` of the font size make a row; a gap
   wider than ``BLOCK_GAP`` cuts a row into lines (table cells, columns side by side). Lines go
   from the top of the page down. Within a line the glyphs are put in drawing order, left to
   right: the *visual* order of the line.
3. Words. Two glyphs side by side belong to two words when a space comes between them in
   PDFium's order, or when the gap between their boxes is wider than ``WORD_GAP`` of the font
   size (``INK_WORD_GAP`` where a box is the glyph's ink rather than its advance).
4. Reading order. The line is turned from visual to logical order with the Unicode
   bidirectional algorithm (UAX #9, its weak, neutral and implicit rules: no explicit
   embeddings exist in a drawn line). Applied to a line in visual order, the algorithm gives
   back the logical order (the reordering of a line with levels 0 to 2 is its own inverse).
   The paragraph's direction is the side a short line is set against (a title, a paragraph's
   last line), else that of most of the line's letters. A number glued to Latin letters is read
   as Latin (``A-2026-000123``), one among Arabic words as Arabic (``2022-2027``, drawn
   ``2027-2022``). Brackets that right-to-left text turned the wrong way are paired again.
5. A word cut at the end of a line (PDFium marks its hyphen) is put together; Arabic
   presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFE), which some programs write instead of
   letters, become the letters (NFKC), a ligature of them in the order of its letters.

Pure arithmetic on what PDFium returns: it runs in the sandbox child like the rest of the
reading (:mod:`documents.decoding`), with no Django.
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import re
import statistics
import unicodedata
from dataclasses import dataclass
from typing import Any

import pypdfium2.raw as pdfium_c

WORD_GAP = 0.12  # of the font size: a wider gap between two glyphs separates two words
INK_WORD_GAP = 0.3  # the same, between glyph boxes that are their ink (letters of a word leave gaps)
LINE_SHIFT = 0.5  # of the font size: a glyph whose baseline moved further starts another line
BLOCK_GAP = 3.0  # of the font size: a glyph this far to the side of its line starts another one
SHORT_LINE = 0.2  # of the text's width: a line this much short of one side is set against the other
SAME_ORIGIN = 0.01  # points: characters drawn at one origin are pieces of one glyph
SOFT_HYPHEN = "\u00ad"

_SKIPPED = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u200b")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]+")
_STRONG = {"L": "L", "R": "R", "AL": "R"}
_MAYBE_HYPHEN = frozenset({0x02, 0x2D, 0xAD, 0x2010, 0xFFFE})  # what PDFium gives for a line's end hyphen
_ALEFS = frozenset("اأإآٱ")


@dataclass(slots=True)
class _Glyph:
    text: str
    index: int  # PDFium's order (the content order, or PDFium's guess at reading order)
    x: float  # origin
    y: float
    left: float  # PDFium's loose box: the glyph's advance, or its ink where the font says no more
    right: float
    size: float  # font size on the page (points)
    advance: bool  # the box is the advance (it spans the font's height: ink rarely does)
    hyphen: bool = False  # a hyphen PDFium takes for a word cut at the end of a line


def page_text(textpage: Any) -> str:
    """The text of one page (a pypdfium2 ``PdfTextPage``), a line of the page a line."""
    upright, rotated, spaces = _glyphs(textpage)
    found = _lines(upright)
    left = min((glyph.left for glyph in upright), default=0.0)
    right = max((glyph.right for glyph in upright), default=0.0)
    lines = [_line_text(line, spaces, _aligned(line, left, right)) for line in found]
    if rotated:  # text drawn turned (a stamp, a margin note): PDFium's order is all there is
        lines.append("".join(glyph.text for glyph in rotated))
    text = ""
    for line in lines:
        if not line:
            continue
        if text.endswith(SOFT_HYPHEN):  # a word cut at the end of the line goes on in the next
            text = text[:-1] + line
        else:
            text += ("\n" if text else "") + line
    return _PRESENTATION_FORMS.sub(_letters, text.replace(SOFT_HYPHEN, ""))


def _letters(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def _glyphs(textpage: Any) -> tuple[list[_Glyph], list[_Glyph], list[int]]:
    """The page's glyphs drawn upright, those drawn turned, and where (in PDFium's order) the
    spaces it found or added are. (Four calls into PDFium a character: the reading's cost.)"""
    upright: list[_Glyph] = []
    rotated: list[_Glyph] = []
    spaces: list[int] = []
    x, y = ctypes.c_double(), ctypes.c_double()
    box, matrix = pdfium_c.FS_RECTF(), pdfium_c.FS_MATRIX()
    x_at, y_at, box_at, matrix_at = ctypes.pointer(x), ctypes.pointer(y), ctypes.pointer(box), ctypes.pointer(matrix)
    unicode_of, origin_of, box_of = (
        pdfium_c.FPDFText_GetUnicode,
        pdfium_c.FPDFText_GetCharOrigin,
        pdfium_c.FPDFText_GetLooseCharBox,
    )
    size_of, matrix_of, is_hyphen = (
        pdfium_c.FPDFText_GetFontSize,
        pdfium_c.FPDFText_GetMatrix,
        pdfium_c.FPDFText_IsHyphen,
    )
    raw = textpage.raw
    seen = (0.0, 0.0)  # the baseline and font size whose matrix was read last
    scale, turned = 1.0, False
    for index in range(pdfium_c.FPDFText_CountChars(raw)):
        code = unicode_of(raw, index)
        hyphen = code in _MAYBE_HYPHEN and is_hyphen(raw, index) == 1  # (PDFium looked at the letters around)
        if hyphen:
            char = "-"
        elif code <= 0x20 or 0x7F <= code < 0xA0 or code >= 0x110000 or chr(code).isspace():
            spaces.append(index)  # a space, a line break, or PDFium's mark of a gap it saw
            continue
        else:
            char = chr(code)
            if char in _SKIPPED:
                continue
        origin_of(raw, index, x_at, y_at)
        box_of(raw, index, box_at)
        size = size_of(raw, index)
        if (y.value, size) != seen:  # the matrix only changes with the run of text
            matrix_of(raw, index, matrix_at)
            seen = (y.value, size)
            scale = (matrix.c**2 + matrix.d**2) ** 0.5 or 1.0
            turned = abs(matrix.b) > 0.1 * abs(matrix.a) or abs(matrix.c) > 0.1 * abs(matrix.d) or matrix.a <= 0
        size = max(size * scale, 1.0)
        glyph = _Glyph(
            text=char,
            index=index,
            x=x.value,
            y=y.value,
            left=box.left if box.left <= box.right else box.right,
            right=box.right if box.left <= box.right else box.left,
            size=size,
            advance=box.bottom <= y.value - 0.15 * size and box.top >= y.value + 0.6 * size,
            hyphen=hyphen,
        )
        (rotated if turned else upright).append(glyph)
    return upright, rotated, spaces


def _lines(glyphs: list[_Glyph]) -> list[list[_Glyph]]:
    """The glyphs grouped into lines: on one baseline, without a gap wider than BLOCK_GAP between
    them (table cells apart). Lines go from the top of the page down; those of one baseline (the
    cells of a table row) in content order."""
    rows: list[list[_Glyph]] = []
    for glyph in sorted(glyphs, key=lambda glyph: -glyph.y):
        if rows and rows[-1][0].y - glyph.y <= LINE_SHIFT * glyph.size:
            rows[-1].append(glyph)
        else:
            rows.append([glyph])
    lines: list[list[_Glyph]] = []
    for row in rows:
        row.sort(key=lambda glyph: glyph.left)
        cells = [[row[0]]]
        right = row[0].right
        for glyph in row[1:]:
            if glyph.left > right + BLOCK_GAP * glyph.size:
                cells.append([])
            cells[-1].append(glyph)
            if glyph.right > right:
                right = glyph.right
        lines.extend(sorted(cells, key=lambda cell: min(glyph.index for glyph in cell)))
    return lines


def _aligned(line: list[_Glyph], left: float, right: float) -> bool | None:
    """Whether ``line`` is set against the right side of the page's text (True), the left
    (False), or neither or both (None), ``left`` and ``right`` being the text's sides. A short
    line shows the direction of its paragraph: the title or the last line of an Arabic
    paragraph ends at the right, of a French one at the left (an indented first line does not
    count: it falls short of the left side by less than SHORT_LINE of the width)."""
    width = right - left
    if width <= 0:
        return None
    start = min(glyph.left for glyph in line) - left
    end = right - max(glyph.right for glyph in line)
    if end < 0.02 * width < SHORT_LINE * width < start:
        return True
    if start < 0.02 * width < SHORT_LINE * width < end:
        return False
    return None


def _line_text(line: list[_Glyph], spaces: list[int], rtl: bool | None = None) -> str:
    """One line's text in logical order (right to left when ``rtl``; when None, the direction
    of most of its letters). Two glyphs side by side belong to two words when a space comes
    between them in PDFium's order, or when the gap between them is wider than WORD_GAP of
    the font size (INK_WORD_GAP where a box is the glyph's ink, which leaves gaps inside
    words). A hyphen PDFium marks as a cut word's stays a hyphen unless it ends the line: it
    is then a soft hyphen, and the word goes on in the next line."""
    visual = _visual_order(line)
    em = statistics.median(glyph.size for glyph in visual)
    # Tokens for the bidi algorithm: each glyph's text, and a space between words.
    tokens: list[str] = []
    glyphs: list[_Glyph | None] = []
    previous: _Glyph | None = None
    right = 0.0
    for glyph in visual:
        if previous is not None:
            size = min(em, glyph.size, previous.size) if glyph.size < em or previous.size < em else em
            gap = WORD_GAP if glyph.advance and previous.advance else INK_WORD_GAP
            if glyph.left - right > gap * size or (
                abs(glyph.x - previous.x) >= SAME_ORIGIN and _space_between(spaces, previous.index, glyph.index)
            ):
                tokens.append(" ")
                glyphs.append(None)
                right = glyph.right
        else:
            right = glyph.right
        tokens.append(glyph.text)
        glyphs.append(glyph)
        if glyph.right > right:
            right = glyph.right
        previous = glyph
    order = logical_order(tokens, rtl=rtl)
    last = glyphs[order[-1]]
    if last is not None and last.hyphen:
        tokens[order[-1]] = SOFT_HYPHEN
    return _brackets_paired("".join(tokens[n] for n in order))


_OPENING = {"(": ")", "[": "]", "{": "}", "«": "»"}
_CLOSING = {closing: opening for opening, closing in _OPENING.items()}


def _brackets_paired(line: str) -> str:
    """``line`` with a bracket that right-to-left text made face the wrong way turned back.
    Producers disagree on the character of a mirrored glyph (``(حي المحمدي)`` comes out as
    ``)حي المحمدي)`` or ``(حي المحمدي(``): where a line holds two brackets of a kind facing the
    same way, none facing the other and Arabic between them, they are a pair: the first opens,
    the second closes."""
    for opening, closing in _OPENING.items():
        if line.count(opening) + line.count(closing) != 2:
            continue
        first = min(line.find(opening) % (len(line) + 1), line.find(closing) % (len(line) + 1))
        last = max(line.rfind(opening), line.rfind(closing))
        inside = line[first + 1 : last]
        if first < last and line[first] == line[last] and any(_kind(char) in ("R", "AL") for char in inside):
            line = line[:first] + opening + inside + closing + line[last + 1 :]
    return line


def _space_between(spaces: list[int], one: int, other: int) -> bool:
    low, high = min(one, other), max(one, other)
    n = bisect.bisect_right(spaces, low)
    return n < len(spaces) and spaces[n] < high


def _visual_order(line: list[_Glyph]) -> list[_Glyph]:
    """The glyphs of a line left to right; the characters of one glyph (sharing its origin) in
    the order :func:`_pieces_drawn` gives."""
    by_index = sorted(line, key=lambda glyph: glyph.index)
    rank: dict[int, int] = {}
    n = 0
    while n < len(by_index):
        end = n + 1
        while end < len(by_index) and abs(by_index[end].x - by_index[n].x) < SAME_ORIGIN:
            end += 1
        if end - n > 1:
            before = by_index[n - 1].x if n else None
            after = by_index[end].x if end < len(by_index) else None
            for position, glyph in enumerate(_pieces_drawn(by_index[n:end], before, after)):
                rank[glyph.index] = position
        n = end
    return sorted(line, key=lambda glyph: (round(glyph.x, 2), rank.get(glyph.index, 0)))


def _pieces_drawn(pieces: list[_Glyph], before: float | None, after: float | None) -> list[_Glyph]:
    """The characters of one glyph (in PDFium's order) as they must stand in the line's visual
    order, so that reading the line gives them in their own order. Latin ones (``fi``) stand
    as they are. Right-to-left ones are read from the right: lam-alef (``لا``) is drawn alef
    then lam, a letter's marks before it. Any other Arabic ligature follows PDFium's order
    around it: PDFium lists a glyph's characters in drawing order where it reversed the run
    (its order then goes left to right), in reading order where it did not."""
    if not any(_kind(piece.text) in ("R", "AL") for piece in pieces):
        return pieces
    letters = [piece for piece in pieces if _kind(piece.text) != "NSM"]
    marks = [piece for piece in pieces if _kind(piece.text) == "NSM"]
    texts = [piece.text for piece in letters]
    if len(letters) == 2 and "ل" in texts and any(text in _ALEFS for text in texts):
        lam = letters[texts.index("ل")]
        return [*marks, *(piece for piece in letters if piece is not lam), lam]
    if before is not None and after is not None and before > after:
        letters.reverse()  # PDFium's order runs right to left here: it is the reading order
    return [*marks, *letters]


# --- The bidirectional algorithm, for one line without explicit embeddings -----------------------


@functools.lru_cache(maxsize=4096)
def _kind(token: str) -> str:
    """The bidi class of a token (a glyph's characters: the first strong one decides)."""
    kinds = [unicodedata.bidirectional(char) for char in token]
    for kind in kinds:
        if kind in _STRONG:
            return kind
    return kinds[0] if kinds else "ON"


def logical_order(tokens: list[str], *, rtl: bool | None = None) -> list[int]:
    """The order in which to read ``tokens`` (a line in visual order, left to right): their
    indexes. The line reads right to left when ``rtl``; when None, in the direction of most
    of its strong letters."""
    kinds = [_kind(token) for token in tokens]
    if rtl is None:
        rtl = sum(kind in ("R", "AL") for kind in kinds) > sum(kind == "L" for kind in kinds)
    levels = _levels(kinds, rtl=rtl)
    order = list(range(len(tokens)))
    # L2: from the highest level down to the lowest odd one, reverse every run at or above it.
    for level in range(max(levels, default=0), 0, -1):
        n = 0
        while n < len(order):
            if levels[order[n]] >= level:
                end = n
                while end < len(order) and levels[order[end]] >= level:
                    end += 1
                order[n:end] = reversed(order[n:end])
                n = end
            else:
                n += 1
    return order


def _levels(kinds: list[str], *, rtl: bool) -> list[int]:
    """Resolved embedding levels (UAX #9 W1–W7, N1–N2, I1–I2) of one paragraph level."""
    embedding = "R" if rtl else "L"
    count = len(kinds)
    kinds = list(kinds)
    # W1: a combining mark takes the class of what it follows.
    for n, kind in enumerate(kinds):
        if kind == "NSM":
            kinds[n] = kinds[n - 1] if n else embedding
    # W2: a European number after Arabic letters is an Arabic number. In a drawn line the
    # letter read before it may be on either side: in a right-to-left line every number is
    # taken as Arabic, unless it is glued to Latin letters (A-2026-000123).
    last = embedding
    for n, kind in enumerate(kinds):
        if kind in ("L", "R", "AL"):
            last = kind
        elif kind == "EN" and (rtl or last == "AL") and not _glued_to_latin(kinds, n):
            kinds[n] = "AN"
    # W3
    kinds = ["R" if kind == "AL" else kind for kind in kinds]
    # W4: one separator between two numbers of a kind joins them.
    for n in range(1, count - 1):
        before, after = kinds[n - 1], kinds[n + 1]
        if kinds[n] == "ES" and before == after == "EN":
            kinds[n] = "EN"
        elif kinds[n] == "CS" and before == after and before in ("EN", "AN"):
            kinds[n] = before
    # W5: terminators next to a European number belong to it.
    for n, kind in enumerate(kinds):
        if kind == "ET":
            end = n
            while end < count and kinds[end] == "ET":
                end += 1
            if (n and kinds[n - 1] == "EN") or (end < count and kinds[end] == "EN"):
                for m in range(n, end):
                    kinds[m] = "EN"
    # W6
    kinds = ["ON" if kind in ("ES", "ET", "CS") else kind for kind in kinds]
    # W7: a European number after Latin letters is Latin (or glued to them, in a drawn line).
    last = embedding
    for n, kind in enumerate(kinds):
        if kind in ("L", "R"):
            last = kind
        elif kind == "EN" and (last == "L" or _glued_to_latin(kinds, n)):
            kinds[n] = "L"
    # N1, N2: neutrals between two letters of one direction take it; others the paragraph's.
    strong = ["R" if kind in ("EN", "AN") else kind if kind in ("L", "R") else "" for kind in kinds]
    n = 0
    while n < count:
        if strong[n]:
            n += 1
            continue
        end = n
        while end < count and not strong[end]:
            end += 1
        before = strong[n - 1] if n else embedding
        after = strong[end] if end < count else embedding
        for m in range(n, end):
            kinds[m] = before if before == after else embedding
        n = end
    # I1, I2
    base = 1 if rtl else 0
    levels = []
    for kind in kinds:
        if base == 0:
            levels.append(1 if kind == "R" else 2 if kind in ("AN", "EN") else 0)
        else:
            levels.append(2 if kind in ("L", "EN", "AN") else 1)
    return levels


def _glued_to_latin(kinds: list[str], n: int) -> bool:
    """Whether the number at ``n`` is written against Latin letters, through separators only
    (``A-2026``): not through a space."""
    for step in (-1, 1):
        m = n + step
        while 0 <= m < len(kinds) and kinds[m] in ("EN", "ES", "CS", "ET", "AN"):
            m += step
        if 0 <= m < len(kinds) and kinds[m] == "L":
            return True
    return False
