"""The one clock helper of the tests: stop the application clock at a moment, then move it by hand.

Everything that asks the time goes through :func:`django.utils.timezone.now` (``core.clock.now``
calls it, so do the ORM's ``auto_now`` fields and Django's sessions), so stopping that one
function stops the clock of the whole application for the duration of the ``with`` block::

    with clock_at("2026-03-02 10:00") as clock:   # local time in Africa/Casablanca
        ...
        clock.advance(seconds=30)

The ``clock`` fixture of the root ``conftest.py`` is the same clock, stopped at the current time
(to the whole second) for the whole test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from django.utils import timezone


class Clock:
    """A stopped clock: ``clock()`` is the time it shows; :meth:`advance` and :meth:`set` move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move the clock forward by ``seconds`` (and any ``timedelta`` keyword: ``hours=2``)."""
        self.at += timedelta(seconds=seconds, **delta)
        return self.at

    def set(self, moment: str | datetime) -> datetime:
        self.at = moment_of(moment)
        return self.at


def moment_of(moment: str | datetime) -> datetime:
    """An aware datetime: a string, or a naive datetime, is local time (``TIME_ZONE``, Africa/Casablanca)."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.get_default_timezone())


@contextmanager
def clock_at(moment: str | datetime | None = None) -> Iterator[Clock]:
    """The application clock stopped at ``moment`` (the current time, to the second, when None)."""
    clock = Clock(timezone.now().replace(microsecond=0) if moment is None else moment_of(moment))
    with mock.patch("django.utils.timezone.now", side_effect=clock):
        yield clock
