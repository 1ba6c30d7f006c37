"""Find a text tag (``[[sig1]]``) in a PDF: where a signature block goes when the document says so.

poppler's ``pdftotext -bbox`` lists every word with its box; the first word equal to the tag
gives the page and the position (in millimetres from the page's bottom-left corner, the block's
top-left at the tag's top-left). Without poppler, or without the tag, nothing is found and the
step's own position is used.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile

from trust.pdf_update import POINTS_PER_MM

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
BLOCK_HEIGHT_MM = 24  # about the drawn block's height, to put its top where the tag is

_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">(.*?)</word>')


def find_tag(pdf: bytes, tag: str) -> tuple[int, int, int] | None:
    """(page index, x mm, y mm) of the first occurrence of ``tag``, or None."""
    if not tag:
        return None
    try:
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(pdf)
            handle.flush()
            result = subprocess.run(
                [PDFTOTEXT, "-bbox", "-q", handle.name, "-"], capture_output=True, text=True, timeout=30, check=False
            )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for index, (_width, height, words) in enumerate(_PAGE.findall(result.stdout)):
        for x_min, y_min, word in _WORD.findall(words):
            if html.unescape(word).strip() == tag:
                x_mm = round(float(x_min) / POINTS_PER_MM)
                top_mm = (float(height) - float(y_min)) / POINTS_PER_MM
                return index, max(0, x_mm), max(0, round(top_mm - BLOCK_HEIGHT_MM))
    return None
