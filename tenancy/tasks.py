"""Thin tasks: take what the request gave, call a service."""

from __future__ import annotations

from django.tasks import task


@task()
def password_reset_email_task(*, email: str) -> None:
    from tenancy.services import password_reset_email_send  # services queue this task

    password_reset_email_send(email=email)
