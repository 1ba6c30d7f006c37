"""Searching an administration's registers: one service, two databases, the same results.

Who sees what is the register's rule (:mod:`registry.selectors`): every member who may read
the register finds its correspondence, confidential correspondence only those who may read it
(and the agent it is given to). Hidden records are left out before counting, so a count never
tells that something hidden matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from audit.services import audit_record
from documents.models import TextLayer
from registry.models import Attachment, Correspondence
from registry.selectors import CONFIDENTIAL_ROLES
from search import text
from search.models import scope_term
from workflow.access import Scope

PER_PAGE = 20
COUNT_CAP = 1000  # "more than 1,000": counting further costs time and tells nothing
SNIPPET_WORDS = 24
_NUMBER = re.compile(r"^([AD])-(\d{4})-(\d{1,6})$", re.IGNORECASE)


@dataclass(frozen=True)
class Filters:
    direction: str = ""
    date_from: date | None = None
    date_to: date | None = None
    service_id: int | None = None
    status: str = ""
    procedure_id: int | None = None
    sender: str = ""

    def described(self) -> dict[str, str]:
        """The filters set, as text (for the audit trail)."""
        return {name: str(value) for name, value in vars(self).items() if value not in ("", None)}


@dataclass
class Hit:
    correspondence: Correspondence
    score: float
    subject: SafeString  # the subject, matched words marked
    snippet: SafeString  # the best passage of the text, matched words marked ("" when none)


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0  # at most COUNT_CAP + 1
    page: int = 1
    by_number: bool = False
    no_terms: bool = False  # the query had only stop words or punctuation
    cap: int = COUNT_CAP
    ranked: bool = True  # best first; False: more than `cap` matched, the latest registered first

    @property
    def capped(self) -> bool:
        return self.total > self.cap

    @property
    def has_next(self) -> bool:
        return self.page * PER_PAGE < min(self.total, self.cap)


def number_asked(query: str) -> str:
    """The registration number ``query`` is, normalised (``a-2026-123`` → ``A-2026-000123``), or
    ""."""
    match = _NUMBER.match(text.clean(query).strip())
    if match is None:
        return ""
    prefix, year, sequence = match.groups()
    return f"{prefix.upper()}-{year}-{int(sequence):06d}"


def visible(scope: Scope) -> QuerySet[Correspondence]:
    if not scope.can_read:
        return Correspondence.objects.none()
    correspondence = Correspondence.objects.filter(administration=scope.administration)
    if not scope.roles & CONFIDENTIAL_ROLES:
        correspondence = correspondence.filter(Q(confidential=False) | Q(case__agent=scope.user))
    return correspondence


def _filtered(correspondence: QuerySet[Correspondence], filters: Filters) -> QuerySet[Correspondence]:
    zone = ZoneInfo(settings.TIME_ZONE)
    if filters.direction:
        correspondence = correspondence.filter(direction=filters.direction)
    if filters.date_from:
        correspondence = correspondence.filter(registered_at__gte=datetime.combine(filters.date_from, time(), zone))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(), zone)
        correspondence = correspondence.filter(registered_at__lt=end)
    if filters.service_id is not None:
        correspondence = correspondence.filter(case__service_id=filters.service_id)
    if filters.status:
        correspondence = correspondence.filter(case__status=filters.status)
    if filters.procedure_id is not None:
        correspondence = correspondence.filter(case__procedure_id=filters.procedure_id)
    if filters.sender.strip():
        correspondence = correspondence.filter(sender_name__icontains=filters.sender.strip())
    return correspondence


def _matching(
    correspondence: QuerySet[Correspondence], groups: list[frozenset[str]], administration_id: int
) -> QuerySet[Correspondence]:
    """``correspondence`` that has every group (any of its terms), with a ``score`` (higher is
    better)."""
    scope = scope_term(administration_id)
    if connection.vendor == "postgresql":
        query = " & ".join([scope, *("(" + " | ".join(sorted(group)) + ")" for group in groups)])
        return correspondence.extra(
            select={"score": "ts_rank(search_searchentry.document, to_tsquery('simple', %s))"},
            select_params=[query],
            tables=["search_searchentry"],
            where=[
                "search_searchentry.correspondence_id = registry_correspondence.id",
                "search_searchentry.document @@ to_tsquery('simple', %s)",
            ],
            params=[query],
        )
    # FTS5: bm25 is lower for better matches; the subject weighs four times the rest.
    match = " AND ".join(
        [f"scope : {scope}", *("(" + " OR ".join(f'"{term}"' for term in sorted(group)) + ")" for group in groups)]
    )
    return correspondence.extra(
        select={"score": "-bm25(search_fts, 0.0, 4.0, 1.0)", "entry_order": "search_fts.rowid"},
        tables=["search_fts"],
        where=["search_fts.rowid = registry_correspondence.id", "search_fts MATCH %s"],
        params=[match],
    )


def _latest_first() -> tuple[str, ...]:
    """The ordering that reads matches latest first and stops at a page: PostgreSQL walks the
    administration's registration-time index backwards (a date filter is a range of it),
    testing each letter's entry; FTS5 reads its own index backwards (in order of entry, the
    same as registration except for letters imported from a former register)."""
    if connection.vendor == "postgresql":
        return ("-registered_at", "-id")
    return ("-entry_order",)


def search(scope: Scope, query: str, filters: Filters = Filters(), *, page: int = 1, cap: int = COUNT_CAP) -> Results:
    """What ``scope`` may see of its administration's registers that matches ``query``: the
    registration number itself, or every word of it (in any spelling, see
    :mod:`search.text`), best first. An empty query with filters lists what they select,
    newest first."""
    results = Results(query=query, page=max(page, 1), cap=cap)
    correspondence = _filtered(visible(scope), filters)
    groups: list[frozenset[str]] = []
    number = number_asked(query)
    if number:
        results.by_number = True
        correspondence = correspondence.filter(number=number).extra(select={"score": "1.0"})
        ordering: tuple[str, ...] = ("-registered_at",)
    elif query.strip():
        groups = text.query_groups(query)
        if not groups:
            results.no_terms = True
            return results
        correspondence = _matching(correspondence, groups, scope.administration.pk)
        ordering = ("-score", "-registered_at", "-id")
    else:
        correspondence = correspondence.extra(select={"score": "0.0"})
        ordering = ("-registered_at", "-id")
    results.total = correspondence.order_by()[: cap + 1].count()
    if groups and results.capped:
        # More than `cap` letters have these words: ranking them all would read every one of
        # them (hundreds of thousands for a word like طلب); the latest registered come first,
        # read backwards until a page is full. Add words to get a ranking.
        ordering = _latest_first()
        results.ranked = False
    # A search reads the names and texts of many letters at once: who searched for what is kept.
    audit_record(
        actor=scope.user,
        action="register.searched",
        administration=scope.administration,
        data={"query": query[:200], "filters": filters.described(), "total": results.total},
    )
    if not results.total:
        return results
    start = (results.page - 1) * PER_PAGE
    found = list(
        correspondence.select_related("case__service", "recipient_service").order_by(*ordering)[
            start : start + PER_PAGE
        ]
    )
    wanted = set().union(*groups) if groups else set()
    texts = attachment_texts([item.pk for item in found])[0] if wanted else {}
    for item in found:
        score: Any = getattr(item, "score", 0.0)
        results.hits.append(
            Hit(
                correspondence=item,
                score=round(float(score or 0.0), 4),
                subject=highlighted(item.subject, wanted),
                snippet=_best_snippet([item.body, *texts.get(item.pk, [])], wanted),
            )
        )
    return results


def attachment_texts(ids: list[int]) -> tuple[dict[int, list[str]], dict[int, int]]:
    """For each correspondence of ``ids``: the text made so far of its attachments (read or
    recognised, in order), and how many of them still wait for theirs. One statement; what the
    index writes and what a page of results shows read the same."""
    layer = TextLayer.objects.filter(pk=OuterRef("blob_id"))
    rows = (
        Attachment.objects.filter(correspondence_id__in=ids)
        .annotate(status=Subquery(layer.values("status")[:1]), text=Subquery(layer.values("text")[:1]))
        .order_by("position")
        .values_list("correspondence_id", "status", "text")
    )
    texts: dict[int, list[str]] = {}
    pending: dict[int, int] = {}
    for correspondence_id, status, text_of_file in rows:
        if status == TextLayer.Status.PENDING:
            pending[correspondence_id] = pending.get(correspondence_id, 0) + 1
        elif text_of_file:
            texts.setdefault(correspondence_id, []).append(text_of_file)
    return texts, pending


def _best_snippet(candidates: list[str], wanted: set[str]) -> SafeString:
    """The passage of the letter's text with a matched word, else of its attachments' text
    (a scan's recognised words), else the beginning of its text."""
    for written in candidates:
        passage = snippet(written, wanted)
        if "<mark>" in passage:
            return passage
    return snippet(candidates[0], wanted)


def highlighted(written: str, wanted: set[str]) -> SafeString:
    """``written``, escaped, its words whose terms are ``wanted`` in ``<mark>``."""
    if not wanted:
        return escape(written)
    out, position = [], 0
    for start, end, terms in text.written_words(written):
        if terms & wanted:
            out += [escape(written[position:start]), "<mark>", escape(written[start:end]), "</mark>"]
            position = end
    out.append(escape(written[position:]))
    return mark_safe("".join(out))  # noqa: S308  (every piece escaped above)


def snippet(written: str, wanted: set[str], *, words: int = SNIPPET_WORDS) -> SafeString:
    """The passage of ``words`` words of ``written`` with the most matched words, escaped and
    marked; the beginning when nothing matches; "" for no text."""
    found = list(text.written_words(written))
    if not found:
        return mark_safe("")
    hits = [bool(terms & wanted) for _, _, terms in found]
    # Where the next matched word is from each word on: to put the first match of a passage
    # a third of the way in, with some context before it.
    next_hit = [len(found)] * (len(found) + 1)
    for position in range(len(found) - 1, -1, -1):
        next_hit[position] = position if hits[position] else next_hit[position + 1]
    lead = words // 3
    best, best_key = 0, (-1, 0)
    count = sum(hits[:words])
    for first in range(0, max(len(found) - words, 0) + 1):
        if first:
            count += hits[first + words - 1] - hits[first - 1]
        key = (count, -abs(next_hit[first] - first - lead) if count else 0)
        if key > best_key:
            best, best_key = first, key
    last = min(best + words, len(found)) - 1
    start, end = found[best][0], found[last][1]
    passage = highlighted(written[start:end], wanted)
    before = "… " if best > 0 else ""
    after = " …" if last < len(found) - 1 else ""
    return mark_safe(f"{before}{passage}{after}")  # noqa: S308  (passage is escaped)
