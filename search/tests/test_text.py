"""The normaliser: a word found however it is spelled, in documents and queries alike."""

from __future__ import annotations

import pytest

from search import text


def finds(document: str, query: str) -> bool:
    """Whether ``query`` finds ``document`` the way the index does: every query group has a
    term among the document's."""
    indexed = set(text.terms(document))
    groups = text.query_groups(query)
    return bool(groups) and all(group & indexed for group in groups)


@pytest.mark.parametrize(
    ("document", "query"),
    [
        # Hamza and madda on the alef, either way round.
        ("إدارة الجماعة", "ادارة"),
        ("ادارة الجماعة", "إدارة"),
        ("أحمد بنعلي", "احمد"),
        ("آثار البناء", "اثار"),
        # A hamza on its seat (ؤ, ئ), or none.
        ("المسؤول عن الملف", "مسئول"),
        ("المسؤول عن الملف", "مسوول"),
        ("جواب عن السؤال", "سوال"),
        # Taa marbuta written as haa; alef maqsura as yaa.
        ("شهادة السكنى", "شهاده"),
        ("مستشفى الحسن الثاني", "مستشفي"),
        # Tashkeel and tatweel.
        ("مُسْتَشْفَى", "مستشفى"),
        ("الجماعــــة الترابيـــة", "الجماعة الترابية"),
        ("الجماعة الترابية", "الجَمَاعَة"),
        # Arabic-Indic digits.
        ("رسالة عدد ١٢٣", "123"),
        ("رسالة عدد 123", "١٢٣"),
        # The article and prefixes, in the document or in the query.
        ("رخصة البناء", "بناء"),
        ("طلب رخصة", "الرخصة"),
        ("إلى الوزارة المعنية", "وزارة"),
        ("مراسلة وزارة الداخلية", "الوزارة"),
        ("والوزارة", "وزارة"),
        ("فالمدرسة", "مدرسة"),
        ("بالإدارة", "الإدارة"),
        ("كالمعتاد", "المعتاد"),
        ("للمدرسة", "المدرسة"),
        ("وللمدرسة", "مدرسه"),
        ("وبالمدرسة", "مدرسة"),
        ("بولاية جهة الشمال", "الولاية"),
        ("وطلب", "طلب"),
        ("بطلب من المعني", "طلب"),
        # The sound feminine plural.
        ("الشهادات الإدارية", "شهادة"),
        ("طلبات الرخص", "طلب"),
        # French: accents, case, plurals, elision.
        ("Délibération du Conseil communal", "deliberation"),
        ("délibérations", "DELIBERATION"),
        ("l'École primaire", "ecole"),
        ("Demande d'autorisation", "autorisations"),
        ("Œuvres sociales", "oeuvre"),
        ("rapport n° 000123", "123"),
    ],
)
def test_a_word_is_found_in_every_usual_spelling(document: str, query: str) -> None:
    assert finds(document, query)


@pytest.mark.parametrize(
    ("document", "query"),
    [
        ("رخصة البناء", "مدرسة"),
        ("شهادة السكنى", "شهادة الوفاة"),  # every word must be there
        ("Demande de permis", "autorisation"),
        ("بنك", "نك"),  # a two-letter rest is not a word: no prefix is taken off
    ],
)
def test_other_words_are_not_found(document: str, query: str) -> None:
    assert not finds(document, query)


def test_stop_words_and_punctuation_give_no_terms() -> None:
    assert text.query_groups("في من على ... ، ؟") == []
    assert text.query_groups("de la et les") == []
    assert text.terms("") == []


def test_invisible_characters_are_cleaned_from_ocr_text() -> None:
    # What a PDF text layer adds around Arabic runs: marks of direction, isolates, a BOM.
    assert text.terms("\u202bوزارة\u202c \u2067الداخلية\u2069\ufeff") == text.terms("وزارة الداخلية")
    assert text.clean("a\u200fb\u200e") == "ab"


def test_a_query_group_is_asked_once_and_keeps_every_form() -> None:
    groups = text.query_groups("وزارة الوزارة والوزارة")
    assert len(groups) == 1
    (mosque,) = text.query_groups("مسجد")
    (with_prefix,) = text.query_groups("وبالمسجد")
    assert mosque & with_prefix


def test_written_words_keep_their_marks_and_spans() -> None:
    written = "الجَمَاعَة، Délibération"
    words = list(text.written_words(written))
    assert [written[start:end] for start, end, _ in words] == ["الجَمَاعَة", "Délibération"]
    assert words[0][2] == set(text.terms("الجماعة"))
