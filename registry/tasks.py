"""Thin tasks: load by id, call a service.

Each task imports its service inside the function: the service enqueues the task, so one of the
two must import the other late (the services↔tasks idiom, the one deferred import allowed between
the modules of an app; ``scripts/circles.py`` checks it).
"""

from __future__ import annotations

from django.tasks import task


@task()
def receipt_email_task(*, receipt_id: int) -> None:
    from registry.receipts import receipt_email  # services↔tasks idiom

    receipt_email(receipt_id=receipt_id)


@task()
def register_import_task(*, import_id: int) -> None:
    from registry.imports import register_import_run  # services↔tasks idiom

    register_import_run(import_id)
