"""Keeping the search index in step with the registers.

The index follows the registers instead of being written by them (``search`` comes after the
apps that register): :func:`index_sync`, run by the worker every few seconds, writes the entry
of every correspondence registered since the last run, from a watermark. A registration is
never slowed or blocked by indexing, and a crash of the worker loses nothing: the next run
starts from the watermark, which only moves past correspondences that have their entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, Max, OuterRef

from core.clock import now
from registry.models import Correspondence
from search import text
from search.models import IndexProgress, SearchEntry

logger = logging.getLogger(__name__)

# A correspondence registered longer ago than this is committed (or was never): the
# watermark may move past it. A registration's transaction takes milliseconds; this margin
# covers PostgreSQL committing concurrent registrations out of id order.
SETTLED = timedelta(seconds=30)
_FIELDS = ("id", "administration_id", "subject", "body", "sender_name", "sender_identifier", "sender_email")


def entry_terms(row: dict[str, Any], texts: Sequence[str] = ()) -> tuple[str, str]:
    """The (title, content) terms of a correspondence read as ``_FIELDS`` and the text of its
    attachments."""
    title = " ".join(text.terms(row["subject"]))
    parts = [row["body"], row["sender_name"], row["sender_identifier"], row["sender_email"], *texts]
    content = " ".join(text.terms("\n".join(part for part in parts if part)))
    return title, content


def entries_write(ids: Iterable[int]) -> int:
    """Write (or write again) the entries of the correspondences ``ids``; return how many."""
    rows = list(Correspondence.objects.filter(pk__in=list(ids)).values(*_FIELDS))
    if not rows:
        return 0
    moment = now()
    entries = []
    for row in rows:
        title, content = entry_terms(row)
        entries.append(
            SearchEntry(
                correspondence_id=row["id"],
                administration_id=row["administration_id"],
                scope=scope_term(row["administration_id"]),
                title=title,
                content=content,
                texts_pending=0,
                indexed_at=moment,
            )
        )
    with transaction.atomic():
        SearchEntry.objects.filter(pk__in=[entry.pk for entry in entries]).delete()
        SearchEntry.objects.bulk_create(entries, batch_size=500)
    return len(entries)


def scope_term(administration_id: int) -> str:
    return f"a{administration_id}"


def index_sync(*, limit: int = 1000) -> int:
    """Index the correspondences registered since the watermark (at most ``limit``), then move
    the watermark as far as every settled correspondence has its entry. Returns how many were
    indexed."""
    progress = IndexProgress.objects.first() or IndexProgress.objects.create(watermark=0)
    missing = list(
        Correspondence.objects.filter(pk__gt=progress.watermark)
        .exclude(Exists(SearchEntry.objects.filter(pk=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    indexed = entries_write(missing) if missing else 0
    _watermark_move(progress)
    if indexed:
        logger.info("search: %d correspondences indexed", indexed)
    return indexed


def _watermark_move(progress: IndexProgress) -> None:
    above = Correspondence.objects.filter(pk__gt=progress.watermark)
    first_missing = (
        above.exclude(Exists(SearchEntry.objects.filter(pk=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    settled = above.filter(registered_at__lt=now() - SETTLED)
    if first_missing is not None:
        settled = settled.filter(pk__lt=first_missing)
    highest = settled.aggregate(highest=Max("pk"))["highest"]
    if highest is not None and highest > progress.watermark:
        IndexProgress.objects.filter(pk=progress.pk).update(watermark=highest)


def index_rebuild(*, batch: int = 2000) -> int:
    """Write every entry again (after a change of :mod:`search.text`); return how many."""
    done = 0
    last = 0
    while True:
        ids = list(Correspondence.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        done += entries_write(ids)
        last = ids[-1]
