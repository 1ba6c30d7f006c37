"""The case summary the desk, the depositor's pages, tracking and the API share."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.models import Status
from workflow.selectors import NextStep, Stage, case_summary

TODAY = date(2026, 3, 16)


@pytest.mark.parametrize(
    ("due_on", "days_left", "days_late"),
    [(date(2026, 3, 20), 4, 0), (TODAY, 0, 0), (date(2026, 3, 13), -3, 3), (None, None, 0)],
)
def test_days_left_are_calendar_days_to_the_due_date(
    due_on: date | None, days_left: int | None, days_late: int
) -> None:
    summary = case_summary(status=Status.IN_PROGRESS, due_on=due_on, today=TODAY)
    assert (summary.days_left, summary.days_late) == (days_left, days_late)


@pytest.mark.parametrize(
    ("status", "stage", "next_step"),
    [
        (Status.REGISTERED, Stage.RUNNING, NextStep.ADMINISTRATION),
        (Status.ASSIGNED, Stage.RUNNING, NextStep.ADMINISTRATION),
        (Status.IN_PROGRESS, Stage.RUNNING, NextStep.ADMINISTRATION),
        (Status.AWAITING_COMPLETION, Stage.SUSPENDED, NextStep.DEPOSITOR),
        (Status.ANSWERED, Stage.OVER, NextStep.NONE),
        (Status.CLOSED, Stage.OVER, NextStep.NONE),
        (Status.REJECTED, Stage.OVER, NextStep.NONE),
    ],
)
def test_the_stage_and_who_acts_next_follow_the_status(status: Status, stage: Stage, next_step: NextStep) -> None:
    summary = case_summary(status=status, due_on=TODAY, today=TODAY)
    assert (summary.stage, summary.next_step) == (stage, next_step)


def test_only_a_running_case_past_its_due_date_is_overdue() -> None:
    past = date(2026, 3, 1)
    assert case_summary(status=Status.ASSIGNED, due_on=past, today=TODAY).overdue
    assert not case_summary(status=Status.AWAITING_COMPLETION, due_on=past, today=TODAY).overdue
    assert not case_summary(status=Status.ANSWERED, due_on=past, today=TODAY).overdue
    assert not case_summary(status=Status.ASSIGNED, due_on=TODAY, today=TODAY).overdue
