"""Reads of the exchange: the directory, an administration's envelopes."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from exchange.models import Envelope
from tenancy.models import Administration


def directory(*, exclude: Administration | None = None, q: str = "", kind: str = "") -> QuerySet[Administration]:
    """The administrations reachable from this installation, by name or code and kind."""
    entries = Administration.objects.filter(is_active=True).order_by("code")
    if exclude is not None:
        entries = entries.exclude(pk=exclude.pk)
    if q.strip():
        term = q.strip()
        entries = entries.filter(
            Q(code__icontains=term)
            | Q(name_ar__icontains=term)
            | Q(name_fr__icontains=term)
            | Q(name_zgh__icontains=term)
        )
    if kind:
        entries = entries.filter(kind=kind)
    return entries


def envelopes_of(administration: Administration, *, limit: int = 200) -> list[Envelope]:
    """Letters ``administration`` sent to or received from other administrations, newest first."""
    return list(
        Envelope.objects.filter(Q(sender=administration) | Q(recipient=administration))
        .select_related("sender", "recipient", "peer", "outgoing", "incoming")
        .order_by("-created_at")[:limit]
    )
