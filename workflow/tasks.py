"""Thin tasks: load by id, call a service."""

from __future__ import annotations

from django.tasks import task


@task()
def case_event_email_task(*, event_id: int) -> None:
    from workflow.notify import case_event_email

    case_event_email(event_id=event_id)


@task()
def reminders_email_task() -> None:
    from workflow.reminders import reminders_email

    reminders_email()
