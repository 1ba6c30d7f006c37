from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A task worker's latest sign of life, one row per machine (``operations.heartbeat``).

    Kept in the database so that every web server, on whatever machine, sees it (``/healthz``).
    Times are the database's clock, so the machines' clocks need not agree. The worker also
    notes here whether it could reach the SMTP server when it last tried.
    """

    host = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    # Whether the SMTP server answered the worker's last probe; null without SMTP or before one.
    smtp_reachable = models.BooleanField(null=True)
    smtp_checked_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.host} (pid {self.pid})"
