"""The business calendar of law 55-19 delays: one module computes every deadline.

Working days are Monday to Friday, except Moroccan public holidays (the `holidays`
package's calendar, Islamic holidays included, as estimated before the moon sighting) and
the days an administration adds; an administration may also cancel a holiday.

Counting: a delay of N working days ends on the Nth working day after the day of
registration; a delay of N calendar days ends N days after it, moved to the next working
day when that day is not one. A suspension (the file awaits completion) adds the suspended
days, counted in the delay's own unit. Deadlines are dates in Africa/Casablanca.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

CALENDAR = "calendar"
WORKING = "working"
LOCAL_ZONE = ZoneInfo("Africa/Casablanca")
# More consecutive days off than this means a calendar that can never reach a deadline.
_MAX_DAYS_OFF = 366 * 3
_ONE_DAY = timedelta(days=1)


def local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no date in Africa/Casablanca")
    return moment.astimezone(LOCAL_ZONE).date()


@lru_cache(maxsize=512)
def national_holidays(year: int, language: str = "ar") -> Mapping[date, str]:
    """Moroccan public holidays of ``year``, named in Arabic or French."""
    names = holidays.country_holidays("MA", years=year, language="ar" if language == "ar" else "fr")
    return dict(sorted(names.items()))


@lru_cache(maxsize=512)
def _holiday_dates(year: int) -> frozenset[date]:
    return frozenset(national_holidays(year))


def _check_kind(kind: str) -> None:
    if kind not in (CALENDAR, WORKING):
        raise ValueError(f"unknown delay kind {kind!r}")


@dataclass(frozen=True)
class BusinessCalendar:
    """The working days of one administration.

    ``extra_days_off`` are days it added (a holiday moved after the moon sighting);
    ``extra_working_days`` are days it works although the national calendar says otherwise
    (a cancelled holiday; a weekend day listed here is worked too).
    """

    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in _holiday_dates(day.year)

    def day_off_reason(self, day: date, language: str = "ar") -> str | None:
        """None for a working day; the holiday's name; "" for a weekend or an unnamed added day."""
        if self.is_working_day(day):
            return None
        return national_holidays(day.year, language).get(day, "")

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        for _ in range(_MAX_DAYS_OFF):
            if self.is_working_day(day):
                return day
            day += _ONE_DAY
        raise ValueError("no working day within three years")

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``th working day strictly after ``day`` (``day`` itself for 0)."""
        if n < 0:
            raise ValueError("n must not be negative")
        for _ in range(n):
            day = self.next_working_day(day + _ONE_DAY)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in (start, end]."""
        count, day = 0, start + _ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def due_date(self, registered_on: date, delay_days: int, kind: str, suspended_days: int = 0) -> date:
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
        """Days the clock stood still, in (suspended_on, resumed_on], in the delay's unit."""
        _check_kind(kind)
        if resumed_on <= suspended_on:
            return 0
        if kind == WORKING:
            return self.working_days_between(suspended_on, resumed_on)
        return (resumed_on - suspended_on).days

    def days_left(self, today: date, due_on: date, kind: str) -> int:
        """Days from ``today`` to ``due_on`` in the delay's unit; negative once overdue."""
        _check_kind(kind)
        if kind == CALENDAR:
            return (due_on - today).days
        if due_on >= today:
            return self.working_days_between(today, due_on)
        return -self.working_days_between(due_on, today)
