"""Thin tasks: load by id, call a service.

A service queues a task that calls back into the exchange: the task imports its service inside
the function (the services↔tasks idiom), so that the service can import this module at the top.
"""

from __future__ import annotations

from django.tasks import task


@task()
def document_request_post_task(*, request_id: str) -> None:
    from exchange.once_only_remote import request_post

    request_post(request_id)
