"""Reading a drawn line back into the order it is written (documents.pdftext)."""

from __future__ import annotations

import pytest

from documents.pdftext import _brackets_paired, logical_order


def read(visual: str, rtl: bool | None = None) -> str:
    """A line given as drawn, left to right, read as written (a token per character)."""
    tokens = list(visual)
    return "".join(tokens[n] for n in logical_order(tokens, rtl=rtl))


@pytest.mark.parametrize(
    ("drawn", "written"),
    [
        # Arabic alone: read from the right.
        ("ينسحلا ىفشتسم", "مستشفى الحسني"),
        # A Latin reference and a date inside an Arabic line keep their own order.
        ("12/03/2026 خيراتب A-2026-000123 مقر", "رقم A-2026-000123 بتاريخ 12/03/2026"),
        ("يحب Hay Mohammadi", "بحي Hay Mohammadi"),
        # Two numbers joined by a hyphen among Arabic words are drawn the other way round.
        (".2027-2022 ةعامجلا", "الجماعة 2022-2027."),
        # French alone, and an Arabic name inside a French line.
        ("Le Conseil approuve", "Le Conseil approuve"),
        ("quartier يدمحملا يح Hay", "quartier حي المحمدي Hay"),
    ],
)
def test_a_drawn_line_is_read_as_written(drawn: str, written: str) -> None:
    assert read(drawn) == written


def test_a_short_line_is_read_in_the_direction_of_the_side_it_is_set_against() -> None:
    # An Arabic title ending in French, set against the right: it starts with its Arabic.
    drawn = "Demande — بلط"
    assert read(drawn) == "Demande — طلب"
    assert read(drawn, rtl=True) == "طلب — Demande"


def test_brackets_turned_by_right_to_left_text_are_paired_again() -> None:
    assert _brackets_paired("Hay Mohammadi )حي المحمدي). Le") == "Hay Mohammadi (حي المحمدي). Le"
    assert _brackets_paired("(حي المحمدي(") == "(حي المحمدي)"
    # Not between Latin words, and not a bracket whose pair is on another line.
    assert _brackets_paired("(voir l'article 3 (alinéa") == "(voir l'article 3 (alinéa"
    assert _brackets_paired("الإنارة (حي") == "الإنارة (حي"


def test_a_passage_reads_in_the_direction_of_most_of_its_letters() -> None:
    from core.bidi import direction_of

    assert direction_of("… public\nتوصلت المصلحة بطلبكم المسجل تحت رقم A-2026-000123") == "rtl"
    assert direction_of("… du quartier Hay Mohammadi (حي المحمدي). Le Conseil approuve") == "ltr"
    assert direction_of("2026-000123") == "ltr"
