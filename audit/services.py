from __future__ import annotations

from typing import Any

from django.db import models

from audit.models import AuditAction, AuditEvent
from core.clock import now


def audit_record(
    *,
    actor: Any,
    action: AuditAction,
    obj: models.Model | None = None,
    administration: Any = None,
    subject_user: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records."""
    event = audit_event(
        actor=actor, action=action, obj=obj, administration=administration, subject_user=subject_user, data=data
    )
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    actor: Any,
    action: AuditAction,
    obj: models.Model | None = None,
    administration: Any = None,
    subject_user: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """The event :func:`audit_record` appends, not yet written: for a caller that writes it with
    other rows of the same transaction (:mod:`core.rows`). ``obj`` must have its primary key."""
    return AuditEvent(
        occurred_at=now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        administration=administration,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        subject_user=subject_user,
        data=data or {},
    )
