"""Born-digital PDFs in Arabic, French and both, from the programs letters come from (Typst,
LibreOffice, a browser's "Save as PDF", fpdf2 with and without shaping, a scan OCR'd by
OCRmyPDF: ``pdfs/README.md``), registered at the counter, read by the worker and searched as a
clerk searches: every word of each file is found, in every spelling the normaliser folds, and
the passage shown reads in the order the text is written.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from documents.intake import bytes_upload, check_files
from documents.models import TextLayer
from documents.text_layers import text_layers_make
from registry.models import Correspondence
from registry.testing import counter_mail
from search import text
from search.selectors import search
from search.services import index_sync
from tenancy.access import scope_of
from tenancy.models import Administration, User

pytestmark = pytest.mark.django_db

PDFS = Path(__file__).resolve().parent / "pdfs"
CORPUS: dict[str, dict[str, list[str]]] = json.loads((PDFS / "corpus.json").read_text(encoding="utf-8"))
SUBJECT = "بريد وارد"  # no word of it is in any file
CHUNK = 12  # words asked for together (a letter matches when it has them all)
# Passages where Latin letters and numbers stand inside an Arabic line (and PDFium's own order
# turned them around: "-2026-000123A", "Mohammadi Hay").
MIXED = ("المسجل تحت رقم A-2026-000123 بتاريخ 12/03/2026", "بحي Hay Mohammadi، بمبلغ 250000 درهم")

_HAMZA_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})
_ARABIC = re.compile("[\u0600-\u06ff]")
_ACCENTS = str.maketrans("éèêëàâîïôûùç", "eeeeaaiiouuc")
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _final_ya(word: str) -> str:
    return word[:-1] + "ى" if word.endswith("ي") else word.replace("ى", "ي")


def _tatweel(word: str) -> str:
    # Between the first two letters when the first joins the next (not after ا د ذ ر ز و ء and their kin).
    return word[0] + "ـ" + word[1:] if len(word) > 2 and word[0] not in "اأإآدذرزوؤءة" else word


def _harakat(word: str) -> str:
    return word[0] + "\u064e" + word[1:-1] + "\u0652" + word[-1] if len(word) > 2 else word


# Each spelling a clerk may type instead of what the letter says (the written word itself first).
SPELLINGS: dict[str, Callable[[str], str]] = {
    "as written": lambda word: word,
    "alef without hamza (أ إ آ → ا)": lambda word: word.translate(_HAMZA_ALEF),
    "taa marbuta as haa (ة → ه)": lambda word: word.replace("ة", "ه"),
    "alef maqsura and yaa (ى ↔ ي)": _final_ya,
    "hamza on yaa for waw (ؤ → ئ)": lambda word: word.replace("ؤ", "ئ"),
    "tatweel": _tatweel,
    "diacritics": _harakat,
    "with the conjunction و": lambda word: (
        "و" + word if _ARABIC.match(word) and len(word) > 2 and word[0] != "و" else word
    ),
    "Arabic-Indic digits": lambda word: word.translate(_INDIC),
    "French without accents, in capitals": lambda word: word.translate(_ACCENTS).upper(),
}


def body_words(name: str) -> list[str]:
    """The words of a corpus file that have index terms (not stop words), each once; without
    those its OCR misread."""
    entry = CORPUS[name]
    misread = {text.word_terms(word) for word in entry.get("misread", [])}
    words: list[str] = []
    for word in text._WORD.findall(text.clean(" ".join(entry["text"]))):
        if text.word_terms(word) and text.word_terms(word) not in misread and word not in words:
            words.append(word)
    return words


def registered(name: str, commune: Administration, clerk: User) -> Correspondence:
    """The file registered at the counter, its text read by the worker and indexed."""
    files = check_files([bytes_upload((PDFS / name).read_bytes(), name)])
    letter = counter_mail(commune, clerk, SUBJECT, files=files)
    index_sync()
    assert text_layers_make() == 1
    layer = TextLayer.objects.get()
    assert layer.status == TextLayer.Status.DONE and layer.method == TextLayer.Method.TEXT, layer.last_error
    assert layer.pages_recognised == 0  # its own text, read without OCR
    assert index_sync() == 1  # the entry written again with the file's text
    return letter


def finds(clerk: User, commune: Administration, query: str, letter: Correspondence) -> bool:
    return [hit.correspondence.pk for hit in search(scope_of(clerk, commune), query).hits] == [letter.pk]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_word_of_a_pdf_is_found_in_every_spelling(name: str, commune: Administration, clerk: User) -> None:
    letter = registered(name, commune, clerk)
    words = body_words(name)
    assert len(words) >= 8
    missing: dict[str, list[str]] = {}
    for spelling, spell in SPELLINGS.items():
        variants = [spell(word) for word in words]
        if spelling != "as written":
            variants = [variant for variant, word in zip(variants, words, strict=True) if variant != word]
        for start in range(0, len(variants), CHUNK):
            chunk = variants[start : start + CHUNK]
            if not finds(clerk, commune, " ".join(chunk), letter):
                missing.setdefault(spelling, []).extend(w for w in chunk if not finds(clerk, commune, w, letter))
    assert missing == {}
    # Reversed, a word is not found: the index holds the words as they are read.
    reversed_word = next(word[::-1] for word in words if _ARABIC.search(word) and len(word) > 4)
    assert not finds(clerk, commune, reversed_word, letter)


def _phrases(name: str) -> list[str]:
    """From each paragraph, four words that follow each other as written, the first and the
    last found nowhere else in the file (so that the passage shown is the one holding them),
    taken as near its middle as can be (none the OCR misread); and the mixed passages."""
    entry = CORPUS[name]
    every = [text.word_terms(word) for word in text._WORD.findall(text.clean(" ".join(entry["text"])))]
    misread = {text.word_terms(word) for word in entry.get("misread", [])}

    def unique(word: str) -> bool:
        found = text._WORD.findall(text.clean(word))
        terms = text.word_terms(found[0]) if len(found) == 1 else frozenset()
        return bool(terms) and every.count(terms) == 1 and terms not in misread

    def plain(word: str) -> bool:  # a word alone, or a stop word (no terms of its own)
        return word.replace("'", "").isalnum() and (unique(word) or not text.word_terms(word.split("'")[-1]))

    phrases = []
    for paragraph in entry["text"]:
        words = paragraph.split()
        starts = sorted(range(len(words) - 3), key=lambda start: abs(start + 2 - len(words) // 2))
        for start in starts:
            phrase = words[start : start + 4]
            if all(map(plain, phrase)) and unique(phrase[0]) and unique(phrase[-1]):
                phrases.append(" ".join(phrase))
                break
    # (Tesseract's punctuation is its own: an OCR'd file's passages are its words.)
    mixed = [phrase for phrase in MIXED if phrase in " ".join(entry["text"]) and "misread" not in entry]
    return phrases + mixed


def _shown(snippet: str) -> str:
    return " ".join(html.unescape(re.sub("</?mark>", "", snippet)).split())


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_passage_shown_reads_in_the_order_the_text_is_written(
    name: str, commune: Administration, clerk: User
) -> None:
    letter = registered(name, commune, clerk)
    phrases = _phrases(name)
    assert phrases
    for phrase in phrases:
        (hit,) = search(scope_of(clerk, commune), phrase).hits
        assert hit.correspondence.pk == letter.pk
        assert "<mark>" in hit.snippet
        assert phrase in _shown(hit.snippet), (phrase, _shown(hit.snippet))


def _pdfium_text(pdf: bytes) -> str:
    """The text as Wasl read it before documents.pdftext: PDFium's own order."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n\f".join(document[n].get_textpage().get_text_range().strip() for n in range(len(document)))
    finally:
        document.close()


def test_text_read_reversed_before_is_read_again_by_search_reindex_reread(commune: Administration, clerk: User) -> None:
    from io import StringIO

    from django.core.management import call_command

    letter = registered("chromium-hospital.pdf", commune, clerk)
    # Given an index written with the text as PDFium ordered it (the Arabic words reversed) ...
    layer = TextLayer.objects.get()
    TextLayer.objects.filter(pk=layer.pk).update(text=_pdfium_text((PDFS / "chromium-hospital.pdf").read_bytes()))
    call_command("search_reindex", "--all", stdout=StringIO())
    assert finds(clerk, commune, "نسحلا", letter) and not finds(clerk, commune, "الحسن", letter)
    # ... when the operator reads the PDFs again ...
    out = StringIO()
    call_command("search_reindex", "--reread", stdout=out)
    # ... the words are found as written, and no longer reversed.
    assert "1 files read again, 1 correspondences indexed with their new text" in out.getvalue()
    assert finds(clerk, commune, "الحسن الثاني", letter) and not finds(clerk, commune, "نسحلا", letter)
    (hit,) = search(scope_of(clerk, commune), "التكوين").hits
    assert "في شأن <mark>التكوين</mark> الإداري للموظفين" in hit.snippet
    # Read again with nothing changed, nothing is written.
    out = StringIO()
    call_command("search_reindex", "--reread", stdout=out)
    assert "1 files read again, 0 correspondences indexed" in out.getvalue()


def test_reading_again_keeps_the_recognised_text_of_scanned_pages(commune: Administration, clerk: User) -> None:
    """A file with a scanned page (recognised by OCR) and a born-digital page: only the latter
    is read again; nothing is recognised again."""
    import io

    from pypdf import PdfReader, PdfWriter

    from documents.samples import scanned_letter
    from search.services import index_reread

    writer = PdfWriter()
    for pdf in (scanned_letter(dpi=60), (PDFS / "chromium-request.pdf").read_bytes()):
        for page in PdfReader(io.BytesIO(pdf)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    files = check_files([bytes_upload(out.getvalue(), "two-pages.pdf")])
    letter = counter_mail(commune, clerk, SUBJECT, files=files)
    index_sync()
    # As the worker left it before: page 1 recognised, page 2 in PDFium's order.
    own = _pdfium_text((PDFS / "chromium-request.pdf").read_bytes())
    TextLayer.objects.update(
        status=TextLayer.Status.DONE,
        method=TextLayer.Method.OCR,
        pages=2,
        pages_recognised=1,
        text=f"نص معروف\n\f{own}",
    )
    index_sync()
    assert not finds(clerk, commune, "الفروسية", letter)
    assert index_reread() == (1, 1)
    assert TextLayer.objects.get().text.startswith("نص معروف\n\fطلب موافقة\n")
    assert finds(clerk, commune, "الفروسية التقليدية معروف", letter)
