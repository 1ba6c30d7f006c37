"""Lifecycles: the allowed moves between the statuses of an object, and the one function that
writes a status.

Each kind of object with a status (an envelope, a once-only request, a parapheur folder…)
declares a :class:`Lifecycle`, a table of the moves it allows, and changes its status only
through :func:`status_move`. The move is a compare-and-set: the row changes only if it still
has the status the caller read, so it is safe with a row lock (it then always applies) and
without one (a concurrent move makes it return False and change nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import models


class TransitionRefused(ValueError):
    """A move the lifecycle does not allow: a defect in the caller, never a user's mistake."""


@dataclass(frozen=True)
class Lifecycle:
    """``moves`` maps each status to the statuses it may move to (none: final)."""

    name: str
    moves: Mapping[str, frozenset[str]]

    def allows(self, current: str, to: str) -> bool:
        return to in self.moves.get(current, frozenset())

    def check(self, current: str, to: str) -> None:
        if current not in self.moves:
            raise TransitionRefused(f"{self.name}: unknown status {current!r}")
        if not self.allows(current, to):
            allowed = ", ".join(sorted(self.moves[current])) or "nothing (final)"
            raise TransitionRefused(f"{self.name}: {current} → {to} is not allowed (from {current}: {allowed})")


def status_move(lifecycle: Lifecycle, obj: models.Model, current: str, to: str, /, **fields: object) -> bool:
    """Move ``obj`` from ``current`` (the status the caller read on it) to ``to``, setting
    ``fields`` with it, in one UPDATE that applies only if the row still has ``current``. Return
    whether it applied (then ``obj`` holds the new values). :class:`TransitionRefused` if the
    lifecycle does not allow the move. Each lifecycle's typed function passes ``obj.status``
    (the arguments are positional: a model may have a field named ``current`` or ``to``)."""
    lifecycle.check(current, to)
    changes = {"status": to, **fields}
    if not type(obj)._default_manager.filter(pk=obj.pk, status=current).update(**changes):
        return False
    for name, value in changes.items():
        setattr(obj, name, value)
    return True
