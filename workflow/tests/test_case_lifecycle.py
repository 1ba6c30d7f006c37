"""A case's status changes in one place, :func:`case_move`, and only along the lifecycle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sources import project_files, relative_parts, source_of
from workflow.models import Case, Status
from workflow.services import TRANSITIONS, ActionRefused
from workflow.services.base import ALLOWED_MOVES, case_first_status, case_move

EVERY_MOVE = [(action, before, after) for action, moves in TRANSITIONS.items() for before, after in moves.items()]


@pytest.mark.parametrize(("action", "before", "after"), EVERY_MOVE)
def test_each_allowed_move_sets_the_next_status(action: str, before: str, after: str) -> None:
    case = Case(status=before)
    assert case_move(case, action) == after
    assert case.status == after
    assert (before, after) in ALLOWED_MOVES


def test_a_move_the_lifecycle_does_not_allow_is_refused_and_changes_nothing() -> None:
    case = Case(status=Status.CLOSED)
    with pytest.raises(ActionRefused) as refused:
        case_move(case, "answer")
    assert (refused.value.code, refused.value.status) == ("forbidden_transition", 409)
    assert case.status == Status.CLOSED
    assert (Status.CLOSED, Status.ANSWERED) not in ALLOWED_MOVES


def test_every_status_is_a_first_one_or_reached_by_a_move_and_a_closed_case_never_moves() -> None:
    reached = {after for _before, after in ALLOWED_MOVES}
    first = {case_first_status(None), Status.ASSIGNED}
    assert reached | first == set(Status)
    assert not any(before == Status.CLOSED for before, _after in ALLOWED_MOVES)


def test_no_code_but_the_transition_function_writes_a_case_status() -> None:
    root = Path(__file__).resolve().parents[2]
    writes = re.compile(r"\bcase\.status\s*=[^=]|Case\.objects\b.*\.update\([^)]*\bstatus\s*=")
    found = []
    for path in project_files(".py"):
        parts = relative_parts(path)
        if len(parts) < 2 or parts[0] == "bench" or "tests" in parts or "migrations" in parts:
            continue
        for number, line in enumerate(source_of(path).splitlines(), start=1):
            if writes.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == [
        "workflow/services/base.py:{}: case.status = after = next_status(case.status, action)".format(
            _line_of("workflow/services/base.py", "case.status = after")
        )
    ]


def _line_of(relative: str, text: str) -> int:
    root = Path(__file__).resolve().parents[2]
    lines = (root / relative).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)
