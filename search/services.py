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
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, Max, OuterRef

from core.clock import now
from documents.models import TextLayer
from documents.text_layers import text_layer_reread, text_layers_request
from registry.models import Attachment, Correspondence
from search import text
from search.models import IndexProgress, SearchEntry, facets_of, scope_term
from search.selectors import attachment_texts
from workflow.calendar import local_date

logger = logging.getLogger(__name__)

# The watermark moves past an entry only once it was written this long ago: a registration's
# transaction takes milliseconds; the margin covers PostgreSQL committing concurrent
# registrations out of id order (an import's letters carry old dates: the entry's time counts).
SETTLED = timedelta(seconds=30)
ENTRY_SOURCE = (
    "id",
    "administration_id",
    "direction",
    "registered_at",
    "confidential",
    "subject",
    "body",
    "sender_name",
    "sender_identifier",
    "sender_email",
    "addressee_name",
    "addressee_identifier",
    "addressee_email",
)


def entry_terms(row: dict[str, Any], texts: Sequence[str] = ()) -> tuple[str, str]:
    """The (title, content) terms of a correspondence read as ``ENTRY_SOURCE`` and the text of its
    attachments."""
    title = " ".join(text.terms(row["subject"]))
    # The sender of an incoming letter, the addressee of an outgoing one (the other is empty).
    parties = [row[f"{role}_{field}"] for role in ("sender", "addressee") for field in ("name", "identifier", "email")]
    parts = [row["body"], *parties, *texts]
    content = " ".join(text.terms("\n".join(part for part in parts if part)))
    return title, content


def entry_of(row: dict[str, Any], texts: Sequence[str], pending: int, moment: datetime) -> SearchEntry:
    """The entry of a correspondence read as ``ENTRY_SOURCE``, with the text of its attachments made
    so far and how many still wait for theirs."""
    title, content = entry_terms(row, texts)
    return SearchEntry(
        correspondence_id=row["id"],
        administration_id=row["administration_id"],
        scope=scope_term(row["administration_id"]),
        registered_at=row["registered_at"],
        direction=row["direction"],
        confidential=row["confidential"],
        facets=facets_of(row["direction"], local_date(row["registered_at"])),
        title=title,
        content=content,
        texts_pending=pending,
        indexed_at=moment,
    )


def entries_write(ids: Iterable[int]) -> int:
    """Write (or write again) the entries of the correspondences ``ids``, with the text of
    their attachments made so far (and asking for the rest); return how many."""
    rows = list(Correspondence.objects.filter(pk__in=list(ids)).values(*ENTRY_SOURCE))
    if not rows:
        return 0
    texts, pending = _attachment_texts([row["id"] for row in rows])
    moment = now()
    entries = [entry_of(row, texts.get(row["id"], ()), pending.get(row["id"], 0), moment) for row in rows]
    with transaction.atomic():
        SearchEntry.objects.filter(pk__in=[entry.pk for entry in entries]).delete()
        SearchEntry.objects.bulk_create(entries, batch_size=500)
    return len(entries)


def _attachment_texts(ids: list[int]) -> tuple[dict[int, list[str]], dict[int, int]]:
    """:func:`search.selectors.attachment_texts`, after asking for the text of the files that
    have none yet (they then count as waiting)."""
    text_layers_request(list(Attachment.objects.filter(correspondence_id__in=ids).values_list("blob_id", flat=True)))
    return attachment_texts(ids)


def index_sync(*, limit: int = 1000) -> int:
    """Index the correspondences registered since the watermark (at most ``limit``), and write
    again those whose attachments' text has been made since; then move the watermark as far as
    every settled correspondence has its entry. Returns how many entries were written."""
    progress = IndexProgress.objects.first() or IndexProgress.objects.create(watermark=0)
    missing = list(
        Correspondence.objects.filter(pk__gt=progress.watermark)
        .exclude(Exists(SearchEntry.objects.filter(pk=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    written = entries_write(missing) if missing else 0
    written += _texts_arrived(limit=limit)
    _watermark_move(progress)
    if written:
        logger.info("search: %d entries written", written)
    return written


def _texts_arrived(*, limit: int) -> int:
    """Write again the entries that were waiting for an attachment's text now made."""
    # No ORDER BY: it would make SQLite walk the whole primary key instead of the small partial
    # index of waiting entries (240 ms a sweep at a million letters).
    waiting = list(
        SearchEntry.objects.filter(texts_pending__gt=0).order_by().values_list("pk", "texts_pending")[:limit]
    )
    if not waiting:
        return 0
    still = attachment_texts([pk for pk, _ in waiting])[1]
    changed = [pk for pk, before in waiting if still.get(pk, 0) != before]
    return entries_write(changed) if changed else 0


def _watermark_move(progress: IndexProgress) -> None:
    """Move the watermark up to the highest id below the first correspondence still without an
    entry, among entries written more than SETTLED ago: by then any registration that took a
    lower id (PostgreSQL hands ids out before commit) has committed, and shows as missing."""
    first_missing = (
        Correspondence.objects.filter(pk__gt=progress.watermark)
        .exclude(Exists(SearchEntry.objects.filter(pk=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    settled = SearchEntry.objects.filter(pk__gt=progress.watermark, indexed_at__lt=now() - SETTLED)
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


def index_reread(*, batch: int = 500) -> tuple[int, int]:
    """Read the own text of every PDF already read again (:func:`documents.text_layers.
    text_layer_reread`: after a change in how born-digital text is read, as when Arabic came
    out reversed), and write again the entries of the correspondences whose files' text
    changed. Returns how many files were read and how many entries written. Running it again
    reads everything again and writes nothing more."""
    read = written = 0
    last = ""
    while True:
        ids = list(
            TextLayer.objects.filter(
                pk__gt=last,
                status=TextLayer.Status.DONE,
                method__in=[TextLayer.Method.TEXT, TextLayer.Method.OCR],
                blob__content_type="application/pdf",
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return read, written
        changed = [pk for pk in ids if text_layer_reread(pk)]
        if changed:
            owners = Attachment.objects.filter(blob_id__in=changed).values_list("correspondence_id", flat=True)
            written += entries_write(set(owners))
        read += len(ids)
        last = ids[-1]
