"""Thin tasks: load by id, call a service."""

from __future__ import annotations

from django.tasks import task


@task()
def receipt_email_task(*, receipt_id: int) -> None:
    from registry.receipts import receipt_email

    receipt_email(receipt_id=receipt_id)


@task()
def register_import_task(*, import_id: int) -> None:
    from registry.imports import register_import_run

    register_import_run(import_id)
