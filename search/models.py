"""The search index: one entry of index terms per correspondence.

The terms come from :mod:`search.text`; each database indexes them its own way (see
migration 0001): SQLite an FTS5 table kept in step with the entries by triggers, PostgreSQL a
generated ``tsvector`` column with a GIN index. Both read the same terms, so both find the same
correspondences.
"""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.models import Correspondence
from tenancy.models import Administration


def scope_term(administration_id: int) -> str:
    """The term that names an administration's part of the index (the entry's ``scope``)."""
    return f"a{administration_id}"


def facets_of(direction: str, day: date) -> str:
    """The facets of a correspondence registered in ``direction`` on ``day`` (its local date):
    its register (``i`` or ``o``), year, month and day, as index terms. On PostgreSQL a search
    looks for them with the words (a register or a period is then part of the index's answer,
    not a filter on what it returns), and reads the latest letters a period at a time."""
    return f"{direction[:1]} y{day:%Y} m{day:%Y%m} d{day:%Y%m%d}"


class SearchEntry(models.Model):
    correspondence = models.OneToOneField(
        Correspondence, on_delete=models.CASCADE, primary_key=True, related_name="search_entry"
    )
    # No index of its own: PostgreSQL's planner would combine it with the terms' index and read
    # a big administration's every entry; the terms already name the administration.
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+", db_index=False)
    # "a<administration id>": FTS5 looks for it with the words, so that a search reads only
    # the administration's part of the index.
    scope = models.CharField(max_length=24)
    # What filters and orders a search, copied from the correspondence (none of it changes
    # after registration), so that a search reads the index's entries alone.
    registered_at = models.DateTimeField()
    direction = models.CharField(max_length=10)
    confidential = models.BooleanField(default=False)
    facets = models.CharField(max_length=40)  # facets_of()
    title = models.TextField()  # terms of the subject
    content = models.TextField()  # terms of the text, the sender and the attachments' text
    # Attachments whose text was not extracted yet when the entry was written: the entry is
    # written again when they are.
    texts_pending = models.PositiveSmallIntegerField(default=0)
    indexed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        indexes = [
            models.Index(
                fields=["texts_pending"], name="search_entry_texts_pending", condition=models.Q(texts_pending__gt=0)
            )
        ]

    def __str__(self) -> str:
        return f"search entry of {self.correspondence_id}"


class IndexProgress(models.Model):
    """How far the index has followed the registers: every correspondence up to ``watermark``
    (its id) has an entry. One row."""

    watermark = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("search index progress")
        verbose_name_plural = _("search index progress")

    def __str__(self) -> str:
        return f"indexed up to {self.watermark}"
