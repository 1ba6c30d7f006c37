"""Run in processes of their own by test_outbox: write messages into an outbox directory."""

from __future__ import annotations

from pathlib import Path


def write_many(directory: str, worker: int, count: int, size: int) -> None:
    import django
    from django.conf import settings

    if not settings.configured or not django.apps.apps.ready:
        django.setup()
    from django.core.mail import EmailMessage

    from core.outbox import outbox_write

    settings.EMAIL_OUTBOX_DIR = Path(directory)
    for n in range(count):
        message = EmailMessage(subject=f"w{worker} n{n}", body="x", to=[f"w{worker}n{n}@example.ma"])
        message.attach("blob.bin", bytes([worker]) * size, "application/octet-stream")
        outbox_write(message.message().as_bytes())
