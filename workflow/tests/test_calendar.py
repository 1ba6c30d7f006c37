"""The business calendar of legal delays: hand-checked cases on the 2026–2027 calendar, and
properties that must hold for any date and delay. Pure: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.calendar import CALENDAR, WORKING, BusinessCalendar, local_date, national_holidays

NATIONAL = BusinessCalendar()

# The holidays every hand-checked case below relies on, as `holidays` 0.109 gives them
# (the Islamic ones are estimates). If the package changes them, this test says so first.
HOLIDAYS_2026 = [
    date(2026, 1, 1),  # Thu, New Year
    date(2026, 1, 11),  # Sun, Independence Manifesto
    date(2026, 1, 14),  # Wed, Amazigh New Year
    date(2026, 3, 20),  # Fri, Eid al-Fitr (estimated)
    date(2026, 3, 21),  # Sat, Eid al-Fitr (estimated)
    date(2026, 5, 1),  # Fri, Labour Day
    date(2026, 5, 27),  # Wed, Eid al-Adha (estimated)
    date(2026, 5, 28),  # Thu, Eid al-Adha (estimated)
    date(2026, 6, 16),  # Tue, 1 Muharram (estimated)
    date(2026, 7, 30),  # Thu, Throne Day
    date(2026, 8, 14),  # Fri, Oued Eddahab
    date(2026, 8, 20),  # Thu, Revolution of the King and the People
    date(2026, 8, 21),  # Fri, Youth Day
    date(2026, 8, 25),  # Tue, Mawlid (estimated)
    date(2026, 8, 26),  # Wed, Mawlid (estimated)
    date(2026, 10, 31),  # Sat, Unity Day
    date(2026, 11, 6),  # Fri, Green March
    date(2026, 11, 18),  # Wed, Independence Day
]


def test_the_holidays_the_cases_rely_on() -> None:
    assert list(national_holidays(2026)) == HOLIDAYS_2026
    assert [day for day in national_holidays(2027) if day.month == 1] == [
        date(2027, 1, 1),  # Fri
        date(2027, 1, 11),  # Mon
        date(2027, 1, 14),  # Thu
    ]
    assert date(2025, 12, 31) not in national_holidays(2025)


# Each case: registration day, delay, kind, expected due date, checked on a printed calendar.
CASES = [
    # --- weekends
    # Thu 5 Feb + 3 working days: Fri 6, (Sat 7, Sun 8) Mon 9, Tue 10.
    (date(2026, 2, 5), 3, WORKING, date(2026, 2, 10)),
    # Mon 2 Feb + 5 calendar days = Sat 7 → Mon 9.
    (date(2026, 2, 2), 5, CALENDAR, date(2026, 2, 9)),
    # Registered on a Saturday: Sat 7 Feb + 1 working day = Mon 9.
    (date(2026, 2, 7), 1, WORKING, date(2026, 2, 9)),
    # --- fixed holidays
    # Wed 31 Dec 2025 + 3 working days: (Thu 1 Jan) Fri 2, (weekend) Mon 5, Tue 6.
    (date(2025, 12, 31), 3, WORKING, date(2026, 1, 6)),
    # Fri 9 Jan + 4 working days: (weekend, 11 Jan is a Sunday) Mon 12, Tue 13, (Wed 14 Amazigh) Thu 15, Fri 16.
    (date(2026, 1, 9), 4, WORKING, date(2026, 1, 16)),
    # Sat 3 Jan + 11 calendar days = Wed 14 Jan, Amazigh New Year → Thu 15.
    (date(2026, 1, 3), 11, CALENDAR, date(2026, 1, 15)),
    # Mon 2 March + 60 calendar days = Fri 1 May, Labour Day; then the weekend → Mon 4 May.
    (date(2026, 3, 2), 60, CALENDAR, date(2026, 5, 4)),
    # Wed 29 July + 1 working day: (Thu 30 Throne Day) Fri 31.
    (date(2026, 7, 29), 1, WORKING, date(2026, 7, 31)),
    # Tue 30 June + 30 calendar days = Thu 30 July, Throne Day → Fri 31.
    (date(2026, 6, 30), 30, CALENDAR, date(2026, 7, 31)),
    # Wed 7 Oct + 30 calendar days = Fri 6 Nov, Green March; then the weekend → Mon 9 Nov.
    (date(2026, 10, 7), 30, CALENDAR, date(2026, 11, 9)),
    # Thu 5 Nov + 1 working day: (Fri 6 Green March, weekend) Mon 9.
    (date(2026, 11, 5), 1, WORKING, date(2026, 11, 9)),
    # Sat 7 Nov + 11 calendar days = Wed 18 Nov, Independence Day → Thu 19.
    (date(2026, 11, 7), 11, CALENDAR, date(2026, 11, 19)),
    # Mon 16 Nov + 3 working days: Tue 17, (Wed 18) Thu 19, Fri 20.
    (date(2026, 11, 16), 3, WORKING, date(2026, 11, 20)),
    # --- Islamic holidays (estimated)
    # Mon 16 March + 5 working days: 17, 18, 19, (Fri 20 Eid, Sat 21 Eid, Sun 22) Mon 23, Tue 24.
    (date(2026, 3, 16), 5, WORKING, date(2026, 3, 24)),
    # Tue 10 March + 10 calendar days = Fri 20, Eid; Sat 21 Eid, Sun 22 → Mon 23.
    (date(2026, 3, 10), 10, CALENDAR, date(2026, 3, 23)),
    # Mon 25 May + 3 working days: Tue 26, (27–28 Eid al-Adha) Fri 29, (weekend) Mon 1 June.
    (date(2026, 5, 25), 3, WORKING, date(2026, 6, 1)),
    # Sat 28 March + 60 calendar days = Wed 27 May, Eid al-Adha; Thu 28 too → Fri 29.
    (date(2026, 3, 28), 60, CALENDAR, date(2026, 5, 29)),
    # Mon 15 June + 1 working day: (Tue 16 1 Muharram) Wed 17.
    (date(2026, 6, 15), 1, WORKING, date(2026, 6, 17)),
    # Sat 6 June + 10 calendar days = Tue 16 June, 1 Muharram → Wed 17.
    (date(2026, 6, 6), 10, CALENDAR, date(2026, 6, 17)),
    # Wed 19 Aug + 2 working days: (20 Revolution, 21 Youth, weekend) Mon 24, (25–26 Mawlid) Thu 27.
    (date(2026, 8, 19), 2, WORKING, date(2026, 8, 27)),
    # Mon 10 Aug + 10 calendar days = Thu 20 Aug, Revolution; Fri 21 Youth Day; weekend → Mon 24.
    (date(2026, 8, 10), 10, CALENDAR, date(2026, 8, 24)),
    # Sat 15 Aug + 10 calendar days = Tue 25 Aug, Mawlid; Wed 26 too → Thu 27.
    (date(2026, 8, 15), 10, CALENDAR, date(2026, 8, 27)),
    # --- across the new year (2027 holidays: Fri 1 Jan, Mon 11 Jan, Thu 14 Jan)
    # Mon 28 Dec + 10 working days: 29, 30, 31, (1 Jan, weekend) 4, 5, 6, 7, 8, (weekend, 11 Jan) 12, 13.
    (date(2026, 12, 28), 10, WORKING, date(2027, 1, 13)),
    # The same + 11 working days: (Thu 14 Jan Amazigh) Fri 15.
    (date(2026, 12, 28), 11, WORKING, date(2027, 1, 15)),
    # Wed 2 Dec + 30 calendar days = Fri 1 Jan 2027, New Year; then the weekend → Mon 4 Jan.
    (date(2026, 12, 2), 30, CALENDAR, date(2027, 1, 4)),
    # Fri 11 Dec + 30 calendar days = Sun 10 Jan 2027 → (Mon 11 Manifesto) Tue 12.
    (date(2026, 12, 11), 30, CALENDAR, date(2027, 1, 12)),
    # Tue 15 Dec + 30 calendar days = Thu 14 Jan 2027, Amazigh New Year → Fri 15.
    (date(2026, 12, 15), 30, CALENDAR, date(2027, 1, 15)),
    # --- the usual legal delays
    # Investment file, 30 calendar days: Mon 2 March + 30 = Wed 1 April, a working day.
    (date(2026, 3, 2), 30, CALENDAR, date(2026, 4, 1)),
    # Investment file, 30 calendar days: Fri 10 April + 30 = Sun 10 May → Mon 11.
    (date(2026, 4, 10), 30, CALENDAR, date(2026, 5, 11)),
    # 60 working days from Mon 2 March: March 20 (Eid off), April 22, May 18 (1 May and 27–28 off) → Fri 29 May.
    (date(2026, 3, 2), 60, WORKING, date(2026, 5, 29)),
    # 60 working days from Mon 1 June: June 20 (16 off), July 22 (30 off), August 16 (14, 20, 21, 25, 26 off)
    # makes 58 by Mon 31 Aug; Tue 1, Wed 2 Sept.
    (date(2026, 6, 1), 60, WORKING, date(2026, 9, 2)),
]


@pytest.mark.parametrize(("registered_on", "days", "kind", "expected"), CASES)
def test_hand_checked_due_dates(registered_on: date, days: int, kind: str, expected: date) -> None:
    assert NATIONAL.due_date(registered_on, days, kind) == expected


@pytest.mark.parametrize(
    ("registered_on", "expected"), [(date(2026, 3, 2), date(2026, 5, 29)), (date(2026, 6, 1), date(2026, 9, 2))]
)
def test_sixty_working_days_by_counting(registered_on: date, expected: date) -> None:
    # The 60-working-day cases above, counted another way: every weekday that is not a holiday.
    day, left = registered_on, 60
    holidays = set(national_holidays(2026))
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    assert day == expected


def test_a_suspended_calendar_delay() -> None:
    # Registered Mon 2 March, 30 calendar days; completion requested Tue 3, done Fri 13: (3, 13] = 10 days.
    assert NATIONAL.suspended_days(CALENDAR, date(2026, 3, 3), date(2026, 3, 13)) == 10
    # 40 days from 2 March = Sat 11 April → Mon 13 (30 days alone gave Wed 1 April).
    assert NATIONAL.due_date(date(2026, 3, 2), 30, CALENDAR, suspended_days=10) == date(2026, 4, 13)
    # Requested Fri, completed the next Mon: Sat, Sun, Mon = 3 calendar days.
    assert NATIONAL.suspended_days(CALENDAR, date(2026, 3, 6), date(2026, 3, 9)) == 3


def test_a_suspended_working_delay() -> None:
    # Requested Fri 13 March, completed Mon 23: 16, 17, 18, 19, (20 Eid, weekend) 23 = 5 working days.
    assert NATIONAL.suspended_days(WORKING, date(2026, 3, 13), date(2026, 3, 23)) == 5
    # Registered Mon 9 March, 10 working days → Tue 24 March; with 5 suspended, 15 working days:
    # 10–13 (4), 16–19 (8), 23–27 (13), 30 (14), 31 (15) → Tue 31 March.
    assert NATIONAL.due_date(date(2026, 3, 9), 10, WORKING) == date(2026, 3, 24)
    assert NATIONAL.due_date(date(2026, 3, 9), 10, WORKING, suspended_days=5) == date(2026, 3, 31)
    # Requested Fri, completed Sat: no working day went by.
    assert NATIONAL.suspended_days(WORKING, date(2026, 3, 6), date(2026, 3, 7)) == 0


@pytest.mark.parametrize("kind", [CALENDAR, WORKING])
def test_completion_the_same_day_suspends_nothing(kind: str) -> None:
    assert NATIONAL.suspended_days(kind, date(2026, 3, 13), date(2026, 3, 13)) == 0
    assert NATIONAL.suspended_days(kind, date(2026, 3, 13), date(2026, 3, 12)) == 0


def test_an_administration_moves_eid_al_fitr_after_the_moon_sighting() -> None:
    # The sighting puts Eid al-Fitr on Sat 21–Sun 22 March instead of Fri 20–Sat 21: cancel 20, add 22.
    moved = BusinessCalendar(
        extra_days_off=frozenset({date(2026, 3, 22)}), extra_working_days=frozenset({date(2026, 3, 20)})
    )
    # Mon 16 + 4 working days: nationally 17, 18, 19, (20–22) Mon 23; with the move Fri 20 is worked.
    assert NATIONAL.due_date(date(2026, 3, 16), 4, WORKING) == date(2026, 3, 23)
    assert moved.due_date(date(2026, 3, 16), 4, WORKING) == date(2026, 3, 20)
    assert moved.due_date(date(2026, 3, 16), 5, WORKING) == date(2026, 3, 23)
    # Tue 10 + 10 calendar days = Fri 20: nationally Eid → Mon 23; with the move it is the due date.
    assert moved.due_date(date(2026, 3, 10), 10, CALENDAR) == date(2026, 3, 20)
    assert moved.day_off_reason(date(2026, 3, 20)) is None
    assert moved.day_off_reason(date(2026, 3, 22)) == ""


def test_an_administration_moves_eid_al_adha_after_the_moon_sighting() -> None:
    # Eid al-Adha on Thu 28–Fri 29 May instead of Wed 27–Thu 28: cancel 27, add 29.
    moved = BusinessCalendar(
        extra_days_off=frozenset({date(2026, 5, 29)}), extra_working_days=frozenset({date(2026, 5, 27)})
    )
    # Mon 25 + 2 working days: nationally 26, (27–28) Fri 29; with the move 26, Wed 27.
    assert NATIONAL.due_date(date(2026, 5, 25), 2, WORKING) == date(2026, 5, 29)
    assert moved.due_date(date(2026, 5, 25), 2, WORKING) == date(2026, 5, 27)
    # Mon 25 + 3 working days: nationally 26, 29, Mon 1 June; with the move 26, 27, (28–29, weekend) Mon 1 June.
    assert moved.due_date(date(2026, 5, 25), 3, WORKING) == date(2026, 6, 1)
    # Mon 27 April + 30 calendar days = Wed 27 May: nationally Eid → Fri 29; with the move 27 is worked.
    assert NATIONAL.due_date(date(2026, 4, 27), 30, CALENDAR) == date(2026, 5, 29)
    assert moved.due_date(date(2026, 4, 27), 30, CALENDAR) == date(2026, 5, 27)
    # Tue 19 May + 10 calendar days = Fri 29: nationally a working day; with the move → Mon 1 June.
    assert NATIONAL.due_date(date(2026, 5, 19), 10, CALENDAR) == date(2026, 5, 29)
    assert moved.due_date(date(2026, 5, 19), 10, CALENDAR) == date(2026, 6, 1)


def test_a_weekend_day_can_be_made_a_working_day() -> None:
    saturday = date(2026, 2, 7)
    open_saturday = BusinessCalendar(extra_working_days=frozenset({saturday}))
    assert open_saturday.is_working_day(saturday)
    # Thu 5 Feb + 2 working days: Fri 6, Sat 7 (worked).
    assert open_saturday.due_date(date(2026, 2, 5), 2, WORKING) == saturday
    assert NATIONAL.due_date(date(2026, 2, 5), 2, WORKING) == date(2026, 2, 9)


def test_a_day_both_added_and_cancelled_is_worked() -> None:
    day = date(2026, 3, 20)
    both = BusinessCalendar(extra_days_off=frozenset({day}), extra_working_days=frozenset({day}))
    assert both.is_working_day(day)


def test_day_off_reasons() -> None:
    assert NATIONAL.day_off_reason(date(2026, 3, 19)) is None
    assert NATIONAL.day_off_reason(date(2026, 3, 20)) == "عيد الفطر (تقديري)"
    assert NATIONAL.day_off_reason(date(2026, 3, 20), "fr") == "Fête de la rupture du jeûne (estimé)"
    assert NATIONAL.day_off_reason(date(2026, 5, 1), "fr") == "Fête du Travail"
    assert NATIONAL.day_off_reason(date(2026, 3, 22)) == ""  # a Sunday
    # A holiday on a Saturday is still named.
    assert NATIONAL.day_off_reason(date(2026, 10, 31), "fr") == "Fête de l'Unité"
    closed = BusinessCalendar(extra_days_off=frozenset({date(2026, 3, 19)}))
    assert closed.day_off_reason(date(2026, 3, 19)) == ""


def test_national_holidays_are_cached_read_only_and_named() -> None:
    assert national_holidays(2026) is national_holidays(2026)
    assert national_holidays(2026, "en") is national_holidays(2026, "fr")  # anything but "ar" is French
    with pytest.raises(TypeError):  # what the type (a Mapping) forbids, refused when it runs too
        national_holidays(2026)[date(2026, 3, 19)] = "a new holiday"  # type: ignore[index]
    # In 2027 Mawlid (estimated) falls on Oued Eddahab Day: both names are kept.
    assert (
        national_holidays(2027, "fr")[date(2027, 8, 14)] == "Allégeance Oued Eddahab; Anniversaire du prophète (estimé)"
    )


def test_due_dates_do_not_rebuild_the_holiday_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    national_holidays(2026)
    national_holidays(2027)
    NATIONAL.is_working_day(date(2026, 1, 1))
    NATIONAL.is_working_day(date(2027, 1, 1))

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the holiday table was rebuilt")

    monkeypatch.setattr(holidays, "country_holidays", refuse)
    for offset in range(300):
        NATIONAL.due_date(date(2026, 1, 1) + timedelta(days=offset), 60, WORKING)


def test_next_and_added_working_days() -> None:
    assert NATIONAL.next_working_day(date(2026, 3, 19)) == date(2026, 3, 19)  # a working Thursday
    assert NATIONAL.next_working_day(date(2026, 3, 20)) == date(2026, 3, 23)  # Eid, Eid, Sunday
    assert NATIONAL.add_working_days(date(2026, 3, 20), 0) == date(2026, 3, 20)
    assert NATIONAL.add_working_days(date(2026, 3, 19), 1) == date(2026, 3, 23)
    # (Fri 13, Mon 23]: 16, 17, 18, 19, 23.
    assert NATIONAL.working_days_between(date(2026, 3, 13), date(2026, 3, 23)) == 5
    assert NATIONAL.working_days_between(date(2026, 3, 23), date(2026, 3, 13)) == 0


def test_days_left_counts_in_the_delays_unit() -> None:
    due = date(2026, 3, 24)  # Tue
    assert NATIONAL.days_left(date(2026, 3, 16), due, WORKING) == 5  # 17, 18, 19, 23, 24
    assert NATIONAL.days_left(date(2026, 3, 16), due, CALENDAR) == 8
    assert NATIONAL.days_left(due, due, WORKING) == 0
    assert NATIONAL.days_left(due, due, CALENDAR) == 0
    assert NATIONAL.days_left(date(2026, 3, 26), due, WORKING) == -2  # 25, 26 gone by
    assert NATIONAL.days_left(date(2026, 3, 26), due, CALENDAR) == -2


def test_a_weekend_after_the_deadline_is_already_late() -> None:
    due = date(2026, 3, 27)  # Fri
    # Sat 28 and Sun 29: late by one working day (Mon 30), not 0 as on the due date.
    assert NATIONAL.days_left(date(2026, 3, 28), due, WORKING) == -1
    assert NATIONAL.days_left(date(2026, 3, 29), due, WORKING) == -1
    assert NATIONAL.days_left(date(2026, 3, 30), due, WORKING) == -1
    assert NATIONAL.days_left(date(2026, 3, 31), due, WORKING) == -2


def test_local_dates_are_in_casablanca() -> None:
    # 23:30 UTC on 31 December is already 1 January in Morocco (UTC+1).
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)
    # During Ramadan Morocco is on UTC+0: 23:30 UTC on 1 March 2026 is still 1 March.
    assert local_date(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == date(2026, 3, 1)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2026, 12, 31, 23, 30))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((date(2026, 1, 1), 10, "lunar"), {}),
        ((date(2026, 1, 1), 0, CALENDAR), {}),
        ((date(2026, 1, 1), -3, WORKING), {}),
        ((date(2026, 1, 1), 10, CALENDAR), {"suspended_days": -1}),
        ((date(2026, 1, 1), 10, WORKING), {"suspended_days": -1}),
    ],
)
def test_bad_due_date_arguments_are_refused(args: tuple[date, int, str], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        NATIONAL.due_date(*args, **kwargs)


def test_bad_kinds_and_counts_are_refused_everywhere() -> None:
    with pytest.raises(ValueError):
        NATIONAL.suspended_days("hours", date(2026, 1, 1), date(2026, 1, 5))
    with pytest.raises(ValueError):
        NATIONAL.days_left(date(2026, 1, 1), date(2026, 1, 5), "")
    with pytest.raises(ValueError):
        NATIONAL.add_working_days(date(2026, 1, 1), -1)


def test_a_calendar_without_working_days_fails_instead_of_looping() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(366 * 4))
    closed = BusinessCalendar(extra_days_off=every_day)
    with pytest.raises(ValueError):
        closed.due_date(date(2026, 1, 1), 1, WORKING)
    with pytest.raises(ValueError):
        closed.due_date(date(2026, 1, 1), 1, CALENDAR)


def test_years_beyond_the_holiday_tables_still_count() -> None:
    # `holidays` stops at 2100: later years have only weekends off, and nothing loops.
    # Mon 30 Dec 2199 + 5 working days: Tue 31, Wed 1 Jan (no holiday known), Thu 2, Fri 3, Mon 6.
    assert NATIONAL.due_date(date(2199, 12, 30), 5, WORKING) == date(2200, 1, 6)
    assert NATIONAL.is_working_day(NATIONAL.due_date(date(1990, 1, 1), 60, CALENDAR))


days_ = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
delays = st.integers(min_value=1, max_value=120)
kinds = st.sampled_from([CALENDAR, WORKING])


@settings(max_examples=200, deadline=None)
@given(registered_on=days_, n=delays, kind=kinds)
def test_due_dates_are_working_days_after_registration_and_grow_with_the_delay(
    registered_on: date, n: int, kind: str
) -> None:
    due = NATIONAL.due_date(registered_on, n, kind)
    assert NATIONAL.is_working_day(due)
    assert due > registered_on
    assert NATIONAL.due_date(registered_on, n + 1, kind) >= due
    if kind == WORKING:
        assert NATIONAL.working_days_between(registered_on, due) == n
    else:
        end = registered_on + timedelta(days=n)
        assert due >= end
        assert all(not NATIONAL.is_working_day(end + timedelta(days=i)) for i in range((due - end).days))


@settings(max_examples=200, deadline=None)
@given(registered_on=days_, n=delays, s=st.integers(min_value=0, max_value=60), kind=kinds)
def test_a_suspension_is_the_same_as_a_longer_delay(registered_on: date, n: int, s: int, kind: str) -> None:
    assert NATIONAL.due_date(registered_on, n, kind, suspended_days=s) == NATIONAL.due_date(registered_on, n + s, kind)


@settings(max_examples=200, deadline=None)
@given(suspended_on=days_, length=st.integers(min_value=0, max_value=90), kind=kinds)
def test_suspended_days_count_the_delays_unit(suspended_on: date, length: int, kind: str) -> None:
    resumed_on = suspended_on + timedelta(days=length)
    suspended = NATIONAL.suspended_days(kind, suspended_on, resumed_on)
    if kind == CALENDAR:
        assert suspended == length
    else:
        assert suspended == sum(NATIONAL.is_working_day(suspended_on + timedelta(days=i)) for i in range(1, length + 1))


@settings(max_examples=200, deadline=None)
@given(day=days_, a=st.integers(min_value=0, max_value=40), b=st.integers(min_value=0, max_value=40))
def test_adding_working_days_composes(day: date, a: int, b: int) -> None:
    assert NATIONAL.add_working_days(NATIONAL.add_working_days(day, a), b) == NATIONAL.add_working_days(day, a + b)


@settings(max_examples=200, deadline=None)
@given(day=days_)
def test_the_next_working_day_skips_only_days_off(day: date) -> None:
    following = NATIONAL.next_working_day(day)
    assert following >= day
    assert NATIONAL.is_working_day(following)
    assert all(not NATIONAL.is_working_day(day + timedelta(days=i)) for i in range((following - day).days))


@settings(max_examples=100, deadline=None)
@given(registered_on=days_, n=delays, kind=kinds)
def test_days_left_reach_zero_on_the_due_date_and_go_down_day_by_day(registered_on: date, n: int, kind: str) -> None:
    due = NATIONAL.due_date(registered_on, n, kind)
    assert NATIONAL.days_left(due, due, kind) == 0
    previous = NATIONAL.days_left(registered_on, due, kind)
    assert previous > 0
    for i in range(1, 15):
        today = registered_on + timedelta(days=i)
        current = NATIONAL.days_left(today, due, kind)
        assert current <= previous
        # Positive before the due date, negative after it.
        assert (current > 0) == (today < due) and (current < 0) == (today > due)
        previous = current
    previous = 0
    for i in range(1, 15):
        today = due + timedelta(days=i)
        current = NATIONAL.days_left(today, due, kind)
        assert current < 0 and current <= previous
        previous = current
