"""The business calendar of legal delays: hand-checked cases on the 2026–2027 calendar, and
properties that must hold for any date and delay. Pure: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.calendar import CALENDAR, WORKING, BusinessCalendar, local_date, national_holidays

NATIONAL = BusinessCalendar()

# Each case: registration day, delay, kind, expected due date — checked against a printed
# calendar and the `holidays` 0.109 list (Eid al-Fitr 2026-03-20/21, Eid al-Adha 2026-05-27/28,
# Mawlid 2026-08-25/26, estimated).
CASES = [
    # Mon 16 March + 5 working days: 17, 18, 19, (20 Eid, 21–22 weekend and Eid) 23, 24.
    (date(2026, 3, 16), 5, WORKING, date(2026, 3, 24)),
    # Tue 10 March + 10 calendar days = Fri 20, Eid; Sat 21 Eid, Sun 22 → Mon 23.
    (date(2026, 3, 10), 10, CALENDAR, date(2026, 3, 23)),
    # 2 March + 60 calendar days = Fri 1 May, Labour Day; then the weekend → Mon 4 May.
    (date(2026, 3, 2), 60, CALENDAR, date(2026, 5, 4)),
    # 2 March + 30 calendar days (investment file) = Wed 1 April, a working day.
    (date(2026, 3, 2), 30, CALENDAR, date(2026, 4, 1)),
    # Across the year: Mon 28 Dec + 10 working days: 29, 30, 31, (1 Jan) 4, 5, 6, 7, 8, (11 Jan) 12, 13.
    (date(2026, 12, 28), 10, WORKING, date(2027, 1, 13)),
    # 15 Dec + 30 calendar days = Thu 14 Jan 2027, Amazigh New Year → Fri 15 Jan.
    (date(2026, 12, 15), 30, CALENDAR, date(2027, 1, 15)),
    # Mon 25 May + 3 working days: 26, (27–28 Eid al-Adha) 29, (weekend) Mon 1 June.
    (date(2026, 5, 25), 3, WORKING, date(2026, 6, 1)),
    # Wed 19 Aug + 2 working days: (20 Revolution, 21 Youth, weekend) 24, (25–26 Mawlid) 27.
    (date(2026, 8, 19), 2, WORKING, date(2026, 8, 27)),
    # Registered on a Saturday: Sat 7 Nov + 1 working day = Mon 9 Nov (6 Nov was Green March).
    (date(2026, 11, 7), 1, WORKING, date(2026, 11, 9)),
    # Sat 7 Nov + 11 calendar days = Wed 18 Nov, Independence Day → Thu 19 Nov.
    (date(2026, 11, 7), 11, CALENDAR, date(2026, 11, 19)),
    # 60 working days from 2 March 2026 (holidays 20 Mar, 1 May, 27–28 May on the way).
    (date(2026, 3, 2), 60, WORKING, date(2026, 5, 29)),
]


@pytest.mark.parametrize(("registered_on", "days", "kind", "expected"), CASES)
def test_hand_checked_due_dates(registered_on, days, kind, expected):
    assert NATIONAL.due_date(registered_on, days, kind) == expected


def test_sixty_working_days_by_counting():
    # The last case above, counted another way: every weekday that is not a holiday.
    day, left = date(2026, 3, 2), 60
    holidays = set(national_holidays(2026))
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    assert day == date(2026, 5, 29)


def test_a_suspension_adds_the_suspended_days_in_the_delays_unit():
    # Calendar: 30 days from 2 March, suspended 3 → 13 March (10 days) = 40 days → Sat 11 April → Mon 13.
    assert NATIONAL.suspended_days(CALENDAR, date(2026, 3, 3), date(2026, 3, 13)) == 10
    assert NATIONAL.due_date(date(2026, 3, 2), 30, CALENDAR, suspended_days=10) == date(2026, 4, 13)
    # Working: suspended Fri 13 → Mon 23 March: 16, 17, 18, 19, (20 Eid) 23 → 5 working days.
    assert NATIONAL.suspended_days(WORKING, date(2026, 3, 13), date(2026, 3, 23)) == 5
    # Completed the same day: nothing suspended.
    assert NATIONAL.suspended_days(WORKING, date(2026, 3, 13), date(2026, 3, 13)) == 0


def test_an_administration_moves_eid_after_the_moon_sighting():
    # Eid al-Fitr falls on 21–22 March instead of 20–21: 20 March is worked, 23 March is off.
    moved = BusinessCalendar(
        extra_days_off=frozenset({date(2026, 3, 23)}), extra_working_days=frozenset({date(2026, 3, 20)})
    )
    assert NATIONAL.due_date(date(2026, 3, 16), 4, WORKING) == date(2026, 3, 23)
    assert moved.due_date(date(2026, 3, 16), 4, WORKING) == date(2026, 3, 20)
    assert moved.due_date(date(2026, 3, 16), 5, WORKING) == date(2026, 3, 24)
    assert moved.day_off_reason(date(2026, 3, 23)) == ""
    assert NATIONAL.day_off_reason(date(2026, 3, 20), "fr") == "Fête de la rupture du jeûne (estimé)"
    assert NATIONAL.day_off_reason(date(2026, 3, 19)) is None


def test_days_left_counts_in_the_delays_unit():
    due = date(2026, 3, 24)
    assert NATIONAL.days_left(date(2026, 3, 16), due, WORKING) == 5
    assert NATIONAL.days_left(date(2026, 3, 16), due, CALENDAR) == 8
    assert NATIONAL.days_left(date(2026, 3, 26), due, WORKING) == -2
    assert NATIONAL.days_left(due, due, WORKING) == 0


def test_local_dates_are_in_casablanca():
    # 23:30 UTC on 31 December is already 1 January in Morocco (UTC+1).
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 12, 31, 23, 30))


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((date(2026, 1, 1), 10, "lunar"), {}),
        ((date(2026, 1, 1), 0, CALENDAR), {}),
        ((date(2026, 1, 1), 10, CALENDAR), {"suspended_days": -1}),
    ],
)
def test_bad_arguments_are_refused(args, kwargs):
    with pytest.raises(ValueError):
        NATIONAL.due_date(*args, **kwargs)


def test_a_calendar_without_working_days_fails_instead_of_looping():
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(366 * 4))
    with pytest.raises(ValueError):
        BusinessCalendar(extra_days_off=every_day).due_date(date(2026, 1, 1), 1, WORKING)


days_ = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
delays = st.integers(min_value=1, max_value=120)
kinds = st.sampled_from([CALENDAR, WORKING])


@settings(max_examples=200, deadline=None)
@given(registered_on=days_, n=delays, kind=kinds)
def test_due_dates_are_working_days_after_registration_and_grow_with_the_delay(registered_on, n, kind):
    due = NATIONAL.due_date(registered_on, n, kind)
    assert NATIONAL.is_working_day(due) and due > registered_on
    assert NATIONAL.due_date(registered_on, n + 1, kind) >= due
    if kind == WORKING:
        assert NATIONAL.working_days_between(registered_on, due) == n
    else:
        end = registered_on + timedelta(days=n)
        assert due >= end
        assert all(not NATIONAL.is_working_day(end + timedelta(days=i)) for i in range((due - end).days))


@settings(max_examples=200, deadline=None)
@given(registered_on=days_, n=delays, s=st.integers(min_value=0, max_value=60), kind=kinds)
def test_a_suspension_is_the_same_as_a_longer_delay(registered_on, n, s, kind):
    assert NATIONAL.due_date(registered_on, n, kind, suspended_days=s) == NATIONAL.due_date(registered_on, n + s, kind)


@settings(max_examples=200, deadline=None)
@given(day=days_, a=st.integers(min_value=0, max_value=40), b=st.integers(min_value=0, max_value=40))
def test_adding_working_days_composes(day, a, b):
    assert NATIONAL.add_working_days(NATIONAL.add_working_days(day, a), b) == NATIONAL.add_working_days(day, a + b)


@settings(max_examples=100, deadline=None)
@given(registered_on=days_, n=delays, kind=kinds)
def test_days_left_reach_zero_on_the_due_date_and_go_down_day_by_day(registered_on, n, kind):
    due = NATIONAL.due_date(registered_on, n, kind)
    assert NATIONAL.days_left(due, due, kind) == 0
    previous = NATIONAL.days_left(registered_on, due, kind)
    for i in range(1, 10):
        current = NATIONAL.days_left(registered_on + timedelta(days=i), due, kind)
        assert current <= previous
        previous = current
