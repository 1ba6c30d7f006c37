"""Dates in the reader's language with the day first (wasl/formats): Django's Arabic leaves the date
with time to its American default, and Django has no Amazigh formats at all, so /admin/ showed
"12/07/2026" and "ديسمبر 7, 2026" for 7 December."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django import forms
from django.utils import translation
from django.utils.formats import date_format

MOMENT = datetime(2026, 12, 7, 13, 5)
RLM = "\u200f"


@pytest.mark.parametrize("language", ["ar", "fr", "zgh"])
def test_a_short_date_and_time_reads_day_month_year_in_24_hours(language: str) -> None:
    with translation.override(language):
        shown = date_format(MOMENT, "SHORT_DATETIME_FORMAT")
    assert shown.replace(RLM, "") == "07/12/2026 13:05"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ar", "7 ديسمبر 2026، 13:05"), ("fr", "7 décembre 2026 13:05"), ("zgh", "7 ⴷⵓⵊⴰⵏⴱⵉⵔ 2026 13:05")],
)
def test_a_date_and_time_names_the_month_after_the_day(language: str, expected: str) -> None:
    with translation.override(language):
        assert date_format(MOMENT, "DATETIME_FORMAT") == expected


@pytest.mark.parametrize("language", ["ar", "fr", "zgh"])
def test_a_typed_date_is_read_day_first(language: str) -> None:
    with translation.override(language):
        assert forms.DateField().clean("07/12/2026") == date(2026, 12, 7)
        assert forms.DateField().clean("2026-12-07") == date(2026, 12, 7)
