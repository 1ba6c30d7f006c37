"""The business calendar of law 55-19 delays: one module computes every deadline.

Working days are Monday to Friday, except Moroccan public holidays (the `holidays`
package's calendar, Islamic holidays included, as estimated before the moon sighting) and
the days an administration adds; an administration may also cancel a holiday. Moving a
holiday is both: cancel the estimated day, add the observed one.

Counting: a delay of N working days ends on the Nth working day after the day of
registration; a delay of N calendar days ends N days after it, moved to the next working
day when that day is not one. A suspension (the file awaits completion) adds the suspended
days, counted in the delay's own unit. Deadlines are dates in Africa/Casablanca.

The `holidays` package knows Moroccan holidays from 1901 to 2100; after 2100 only
weekends and the administration's own days are off. Pure Python: no Django here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

CALENDAR = "calendar"
WORKING = "working"
LOCAL_ZONE = ZoneInfo("Africa/Casablanca")
# More consecutive days off than this means a calendar that can never reach a deadline.
_MAX_DAYS_OFF = 366 * 3
_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


def local_date(moment: datetime) -> date:
    """The date of an aware ``moment`` in Morocco; a naive datetime is refused (ValueError)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no date in Africa/Casablanca")
    return moment.astimezone(LOCAL_ZONE).date()


def national_holidays(year: int, language: str = "ar") -> Mapping[date, str]:
    """Moroccan public holidays of ``year`` by date, named in Arabic ("ar") or French (anything else).

    Two holidays on one day keep both names, joined with "; ". The mapping is cached and read-only.
    """
    return _national_holidays(year, "ar" if language == "ar" else "fr")


@lru_cache(maxsize=512)
def _national_holidays(year: int, language: str) -> Mapping[date, str]:
    names = holidays.country_holidays("MA", years=year, language=language)
    return MappingProxyType(dict(sorted(names.items())))


@lru_cache(maxsize=512)
def _holiday_dates(year: int) -> frozenset[date]:
    return frozenset(_national_holidays(year, "ar"))


def _check_kind(kind: str) -> None:
    if kind not in (CALENDAR, WORKING):
        raise ValueError(f"unknown delay kind {kind!r}")


@dataclass(frozen=True)
class BusinessCalendar:
    """The working days of one administration.

    ``extra_days_off`` are days it added (a holiday moved after the moon sighting, a local
    closure). ``extra_working_days`` are days it works although the national calendar says
    otherwise: a cancelled holiday, or a weekend day, which is then worked too. A day listed
    in both is a working day.
    """

    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= _SATURDAY:
            return False
        return day not in _holiday_dates(day.year)

    def day_off_reason(self, day: date, language: str = "ar") -> str | None:
        """Why ``day`` is off: None for a working day, the national holiday's name, else ""
        (a weekend, or a day the administration added that is not a national holiday)."""
        if self.is_working_day(day):
            return None
        return national_holidays(day.year, language).get(day, "")

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        for _ in range(_MAX_DAYS_OFF):
            if self.is_working_day(day):
                return day
            day += _ONE_DAY
        raise ValueError(f"no working day in the {_MAX_DAYS_OFF} days from {day - _MAX_DAYS_OFF * _ONE_DAY}")

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``th working day strictly after ``day``; ``day`` itself for 0; ValueError below 0."""
        if n < 0:
            raise ValueError("the number of working days must not be negative")
        for _ in range(n):
            day = self.next_working_day(day + _ONE_DAY)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in (start, end]; 0 when ``end`` is not after ``start``."""
        count, day = 0, start + _ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def due_date(self, registered_on: date, delay_days: int, kind: str, suspended_days: int = 0) -> date:
        """The last day of a delay of ``delay_days`` (plus ``suspended_days``) counted from ``registered_on``."""
        _check_kind(kind)
        if delay_days < 1:
            raise ValueError("a delay is at least one day")
        if suspended_days < 0:
            raise ValueError("suspended days must not be negative")
        total = delay_days + suspended_days
        if kind == WORKING:
            return self.add_working_days(registered_on, total)
        return self.next_working_day(registered_on + timedelta(days=total))

    def suspended_days(self, kind: str, suspended_on: date, resumed_on: date) -> int:
        """Days the clock stood still, those in (suspended_on, resumed_on], in the delay's unit."""
        _check_kind(kind)
        if resumed_on <= suspended_on:
            return 0
        if kind == WORKING:
            return self.working_days_between(suspended_on, resumed_on)
        return (resumed_on - suspended_on).days

    def days_left(self, today: date, due_on: date, kind: str) -> int:
        """Days from ``today`` to ``due_on`` in the delay's unit: 0 on the due date, negative once past it.

        Working kind: the working days in (today, due_on] ahead of the deadline; once past it,
        minus the working days in (due_on, next working day from today], so that a weekend
        just after the deadline already counts as one day late rather than 0.
        """
        _check_kind(kind)
        if kind == CALENDAR:
            return (due_on - today).days
        if today <= due_on:
            return self.working_days_between(today, due_on)
        return -self.working_days_between(due_on, self.next_working_day(today))
