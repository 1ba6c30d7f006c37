"""Thin tasks: load by id, call a service.

Each task imports its service inside the function: the service enqueues the task, so one of the
two must import the other late (the services↔tasks idiom, the one deferred import allowed between
the modules of an app; ``scripts/circles.py`` checks it).
"""

from __future__ import annotations

from django.tasks import task


@task()
def case_event_email_task(*, event_id: int) -> None:
    from workflow.notify import case_event_email  # services↔tasks idiom

    case_event_email(event_id=event_id)


@task()
def reminders_email_task() -> None:
    from workflow.reminders import reminders_email  # services↔tasks idiom

    reminders_email()
