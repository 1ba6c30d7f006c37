"""What ``/healthz`` reports: the state of each part Wasl depends on, cheaply.

Load balancers ask every few seconds, so a healthy answer costs one small database query (the
workers' heartbeats, which also proves the database answers), a few ``stat``/``access`` calls,
and nothing else: the PKI is the process's own, loaded once; the SMTP server is probed by the
worker (``operations.heartbeat``), never from here.

Parts and their states (``"ok"`` or a short word saying what is wrong):

- ``database`` (required): ``ok`` | ``unavailable``
- ``files`` (required): ``ok`` | ``not writable`` — the file store (``WASL_FILES_DIR``)
- ``pki`` (required): ``ok`` | ``missing`` | ``unreadable`` | ``incomplete`` (no timestamping unit)
- ``worker``: ``ok`` | ``late`` | ``not seen`` | ``unknown`` (the database did not answer)
- ``email``: ``ok`` | ``unreachable`` (the SMTP server did not answer the worker) |
  ``not writable`` (the outbox) | ``unknown`` (no worker has probed the SMTP server lately)

A required part that is not ``ok`` makes Wasl ``unavailable`` (HTTP 503): this web server
cannot take deposits. The others make it ``degraded`` (HTTP 200): deposits are taken and
what the worker does (receipts, e-mail, deliveries) waits in the database until it is back, so a
load balancer must keep sending requests; monitoring should alert on ``degraded``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now

from operations.heartbeat import LATE_AFTER, smtp_options
from operations.models import WorkerHeartbeat
from trust.pki import Pki
from trust.services import installation_pki

OK = "ok"
REQUIRED = ("database", "files", "pki")


@dataclass
class Health:
    parts: dict[str, str]
    # For platform administrators only: times, hosts, error names; never a secret.
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if any(self.parts[name] != OK for name in REQUIRED):
            return "unavailable"
        if any(state not in (OK, "unknown") for state in self.parts.values()):
            return "degraded"
        return OK


def health() -> Health:
    parts: dict[str, str] = {}
    details: dict[str, Any] = {}
    try:
        heartbeats = list(
            WorkerHeartbeat.objects.annotate(
                fresh=ExpressionWrapper(Q(seen_at__gte=Now() - LATE_AFTER), output_field=BooleanField())
            ).values("host", "seen_at", "fresh", "smtp_reachable", "smtp_checked_at")
        )
    except DatabaseError as exc:
        parts["database"] = "unavailable"
        details["database"] = exc.__class__.__name__
        heartbeats = None
    else:
        parts["database"] = OK
    parts["files"] = OK if _writable(Path(settings.FILES_DIR)) else "not writable"
    parts["pki"], pki_detail = _pki()
    if pki_detail:
        details["pki"] = pki_detail
    fresh = [beat for beat in heartbeats or () if beat["fresh"]]
    if heartbeats is None:
        parts["worker"] = "unknown"
    else:
        parts["worker"] = OK if fresh else ("late" if heartbeats else "not seen")
        details["workers"] = [
            {"host": beat["host"], "seen_at": beat["seen_at"].isoformat(), "late": not beat["fresh"]}
            for beat in heartbeats
        ]
    parts["email"], details["email"] = _email(fresh)
    return Health(parts, details)


def _writable(directory: Path) -> bool:
    """Whether files can be written under ``directory`` (or it can be created, when it is not yet)."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)


def _pki() -> tuple[str, str]:
    directory = Path(settings.PKI_DIR)
    try:
        exists = Pki.exists(directory)
    except OSError as exc:
        return "unreadable", exc.__class__.__name__
    if not exists:
        # In the demo the PKI is created on first use; elsewhere `manage.py pki_init` makes it.
        return (OK, "created on first use") if settings.PKI_AUTOCREATE else ("missing", "")
    try:
        pki = installation_pki()  # loaded once per process, then free
    except Exception as exc:  # any reason it cannot be loaded is this part's state
        return "unreadable", f"{exc.__class__.__name__}: {exc}"[:300]
    if pki.tsa is None and not pki.tsa_url:
        return "incomplete", "no timestamping unit"
    return OK, ""


def _email(fresh: Sequence[Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    options = smtp_options()
    if options is not None:
        probed = [beat for beat in fresh if beat["smtp_reachable"] is not None]
        detail: dict[str, Any] = {"transport": "smtp", "server": f"{options['host']}:{options.get('port')}"}
        if not probed:
            return "unknown", detail
        latest = max(probed, key=lambda beat: beat["smtp_checked_at"])
        detail["checked_at"] = latest["smtp_checked_at"].isoformat()
        return (OK if latest["smtp_reachable"] else "unreachable"), detail
    outbox = getattr(settings, "EMAIL_OUTBOX_DIR", None)
    if outbox:
        return (OK if _writable(Path(outbox)) else "not writable"), {"transport": "outbox"}
    return OK, {"transport": "console"}
