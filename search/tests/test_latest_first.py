"""Latest first, and periods: when more letters match than are ranked, pages come in order of
registration however far back the matches are (PostgreSQL reads the index a period at a time,
SQLite reads its index backwards: both give the same pages); dates filter by the local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.clock import now
from registry.models import Correspondence
from registry.testing import counter_mail
from search import selectors
from search.models import SearchEntry
from search.selectors import Filters, period_facets, search
from search.services import index_sync
from tenancy.access import scope_of
from tenancy.models import Administration, User
from workflow.calendar import local_date

pytestmark = pytest.mark.django_db

# Days before now of the matching letters: today, the last days, weeks, months and years (every
# period PostgreSQL tries, and beyond its last one).
AGES = [0, 0, 1, 2, 5, 12, 30, 70, 200, 500, 1500, 3000]


def registered(letter: Correspondence, moment: datetime) -> None:
    Correspondence.objects.filter(pk=letter.pk).update(registered_at=moment)


@pytest.fixture
def spread(commune: Administration, elsewhere: Administration, clerk: User, outsider: User) -> list[int]:
    """Letters with the word إشعار spread over eight years (ids, latest first), between others;
    registered in order, as a register is (SQLite reads in order of entry)."""
    moment = now()
    made = []
    for n, age in reversed(list(enumerate(AGES))):
        letter = counter_mail(commune, clerk, f"إشعار رقم {n}")
        registered(counter_mail(commune, clerk, f"رسالة أخرى {n}"), moment - timedelta(days=age, minutes=n + 1))
        registered(letter, moment - timedelta(days=age, minutes=n))
        made.append(letter)
    registered(counter_mail(elsewhere, outsider, "إشعار من جماعة أخرى"), moment)
    index_sync()
    made.sort(key=lambda letter: Correspondence.objects.get(pk=letter.pk).registered_at, reverse=True)
    return [letter.pk for letter in made]


def pages(clerk: User, commune: Administration, filters: Filters = Filters()) -> list[int]:
    out: list[int] = []
    for page in range(1, 10):
        results = search(scope_of(clerk, commune), "الإشعار", filters, page=page, cap=2)
        assert results.capped and not results.ranked
        out += [hit.correspondence.pk for hit in results.hits]
    return out


def test_pages_come_latest_first_however_far_back_the_matches_are(
    spread: list[int], clerk: User, commune: Administration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "PER_PAGE", 3)
    assert pages(clerk, commune) == spread


def test_a_period_and_a_register_narrow_the_latest_first_pages(
    spread: list[int], clerk: User, commune: Administration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "PER_PAGE", 2)
    today = local_date(now())
    entries = {entry.pk: local_date(entry.registered_at) for entry in SearchEntry.objects.filter(pk__in=spread)}
    first, last = today - timedelta(days=600), today - timedelta(days=3)
    inside = [pk for pk in spread if first <= entries[pk] <= last]
    assert len(inside) >= 5  # more than the cap, over several periods
    assert pages(clerk, commune, Filters(date_from=first, date_to=last, direction="incoming")) == inside
    since = [pk for pk in spread if entries[pk] >= first]
    assert pages(clerk, commune, Filters(date_from=first)) == since
    assert search(scope_of(clerk, commune), "الإشعار", Filters(direction="outgoing")).total == 0


def test_a_date_is_the_local_day_of_registration(commune: Administration, clerk: User) -> None:
    # 23:30 UTC on 10 June is 00:30 on 11 June in Morocco (UTC+1).
    letter = counter_mail(commune, clerk, "إشعار ليلي")
    registered(letter, datetime(2026, 6, 10, 23, 30, tzinfo=UTC))
    index_sync()
    assert SearchEntry.objects.get(pk=letter.pk).facets == "i y2026 m202606 d20260611"

    def total(date_from: date | None = None, date_to: date | None = None) -> int:
        return search(scope_of(clerk, commune), "إشعار", Filters(date_from=date_from, date_to=date_to)).total

    assert total(date_from=date(2026, 6, 11), date_to=date(2026, 6, 11)) == 1
    assert total(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)) == 1
    assert total(date_from=date(2026, 1, 1)) == 1
    assert total(date_to=date(2026, 6, 11)) == 1
    assert total(date_from=date(2026, 6, 9), date_to=date(2026, 6, 10)) == 0
    assert total(date_from=date(2026, 6, 12)) == 0


def test_a_period_is_covered_by_the_fewest_years_months_and_days() -> None:
    assert period_facets(date(2025, 12, 30), date(2027, 2, 2)) == [
        "d20251230",
        "d20251231",
        "y2026",
        "m202701",
        "d20270201",
        "d20270202",
    ]
    assert period_facets(date(2024, 2, 1), date(2024, 2, 29)) == ["m202402"]
    assert period_facets(date(2024, 3, 1), date(2024, 2, 29)) == []
