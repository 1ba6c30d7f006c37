"""Searching an administration's registers: one service, two databases, the same results.

Who sees what is the register's rule (:mod:`registry.selectors`): every member who may read
the register finds its correspondence, confidential correspondence only those who may read it
(and the agent it is given to). Hidden records are left out before counting, so a count never
tells that something hidden matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from audit.models import AuditAction
from audit.services import audit_record
from core.bidi import direction_of
from core.clock import now
from documents.models import TextLayer
from registry.models import Attachment, Correspondence
from search import text
from search.models import SearchEntry, scope_term
from tenancy.access import Scope
from tenancy.permissions import Action
from workflow.calendar import local_date
from workflow.models import Case

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

    @property
    def snippet_dir(self) -> str:
        """The direction the passage reads in: that of most of its letters (a passage of an
        Arabic letter may start on the last French word of the line before)."""
        return direction_of(self.snippet)


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


def _selected[Row: (Correspondence, SearchEntry)](
    rows: QuerySet[Row], scope: Scope, filters: Filters, key: str
) -> QuerySet[Row]:
    """``rows`` (correspondence, or the index's entries: both have the administration, the
    register, the time of registration and whether confidential; ``key`` names the
    correspondence's id) that ``scope`` may see and ``filters`` select."""
    if not scope.may(Action.READ):
        return rows.none()
    rows = rows.filter(administration=scope.administration)
    if not scope.may(Action.READ_CONFIDENTIAL):
        given = Case.objects.filter(pk=OuterRef(key), agent=scope.user)
        rows = rows.filter(Q(confidential=False) | Exists(given))
    zone = ZoneInfo(settings.TIME_ZONE)
    if filters.direction:
        rows = rows.filter(direction=filters.direction)
    if filters.date_from:
        rows = rows.filter(registered_at__gte=datetime.combine(filters.date_from, time(), zone))
    if filters.date_to:
        rows = rows.filter(registered_at__lt=datetime.combine(filters.date_to + timedelta(days=1), time(), zone))
    case_filters = {
        name: value
        for name, value in (
            ("service_id", filters.service_id),
            ("status", filters.status),
            ("procedure_id", filters.procedure_id),
        )
        if value not in (None, "")
    }
    if case_filters:
        rows = rows.filter(Exists(Case.objects.filter(pk=OuterRef(key), **case_filters)))
    if filters.sender.strip():
        word = filters.sender.strip()  # the sender of an incoming letter or the addressee of an outgoing one
        senders = Correspondence.objects.filter(
            Q(sender_name__icontains=word) | Q(addressee_name__icontains=word), pk=OuterRef(key)
        )
        rows = rows.filter(Exists(senders))
    return rows


def period_facets(first: date, last: date) -> list[str]:
    """The fewest facets (whole years, whole months, days; see
    :func:`search.models.facets_of`) whose days are exactly ``first`` to ``last``."""
    out = []
    day = first
    while day <= last:
        year_end = date(day.year, 12, 31)
        month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if (day.month, day.day) == (1, 1) and year_end <= last:
            out.append(f"y{day:%Y}")
            day = year_end + timedelta(days=1)
        elif day.day == 1 and month_end <= last:
            out.append(f"m{day:%Y%m}")
            day = month_end + timedelta(days=1)
        else:
            out.append(f"d{day:%Y%m%d}")
            day += timedelta(days=1)
    return out


def _facet_groups(filters: Filters, first: date | None, last: date) -> list[list[str]]:
    """The facets a match must have (each group: any of): ``filters``' register, and the days
    ``first`` to ``last`` (none without ``first``)."""
    groups = [[filters.direction[:1]]] if filters.direction else []
    if first is not None and first <= last:
        groups.append(period_facets(first, last))
    return groups


def _matching(
    entries: QuerySet[SearchEntry], groups: list[frozenset[str]], administration_id: int, facets: list[list[str]]
) -> QuerySet[SearchEntry]:
    """``entries`` that have every group of terms (any of each) and, on PostgreSQL, every group
    of ``facets``; with a ``score`` (higher is better)."""
    scope = scope_term(administration_id)
    if connection.vendor == "postgresql":
        # The index's terms are prefixed with the scope (migration 0002): "z" words, "f" facets.
        parts = [" | ".join(f"{scope}z{term}" for term in sorted(group)) for group in groups]
        parts += [" | ".join(f"{scope}f{facet}" for facet in group) for group in facets]
        query = " & ".join(f"({part})" for part in parts)
        return entries.extra(
            select={"score": "ts_rank(search_searchentry.document, to_tsquery('simple', %s))"},
            select_params=[query],
            where=["search_searchentry.document @@ to_tsquery('simple', %s)"],
            params=[query],
        )
    # FTS5: bm25 is lower for better matches; the subject weighs four times the rest.
    match = " AND ".join(
        [f"scope : {scope}", *("(" + " OR ".join(f'"{term}"' for term in sorted(group)) + ")" for group in groups)]
    )
    return entries.extra(
        select={"score": "-bm25(search_fts, 0.0, 4.0, 1.0)", "entry_order": "search_fts.rowid"},
        tables=["search_fts"],
        where=["search_fts.rowid = search_searchentry.correspondence_id", "search_fts MATCH %s"],
        params=[match],
    )


# Orderings and columns of the matches' `extra` selection (that typing cannot see).
_FTS_LATEST: tuple[str, ...] = ("-entry_order",)
_BEST: tuple[str, ...] = ("-score", "-registered_at", "-pk")
_SCORED: tuple[str, ...] = ("pk", "score")

# Latest first on PostgreSQL: the days before the end of the period read at each try, until
# one holds the page; then the whole period.
_WINDOWS_DAYS = (1, 3, 9, 27, 81, 243, 729, 2187)


def _latest(
    entries: QuerySet[SearchEntry],
    groups: list[frozenset[str]],
    scope: Scope,
    filters: Filters,
    last: date,
    start: int,
) -> list[int]:
    """The ids of a page of matches registered by the day ``last``, the latest first (more than
    ``cap`` match).

    FTS5 reads its index backwards (in order of entry: of registration, except for letters
    imported from a former register) and stops at the page. PostgreSQL's GIN index has no
    order: the matches of the last day are read, then of the last 3, 9, 27… days (a period's
    facets are terms of the query, so the index answers only for it) until a period holds the
    page: everything before the period is older than all in it. A common word fills the page
    from a day or two, a rarer conjunction from some weeks."""
    administration_id = scope.administration.pk
    if connection.vendor != "postgresql":
        matching = _matching(entries, groups, administration_id, [])
        return list(matching.order_by(*_FTS_LATEST).values_list("pk", flat=True)[start : start + PER_PAGE])
    zone = ZoneInfo(settings.TIME_ZONE)
    for days in _WINDOWS_DAYS:
        first = last - timedelta(days=days - 1)
        if filters.date_from is not None and first <= filters.date_from:
            break
        window = _matching(entries, groups, administration_id, _facet_groups(filters, first, last))
        window = window.filter(registered_at__gte=datetime.combine(first, time(), zone))
        ids = list(window.order_by("-registered_at", "-pk").values_list("pk", flat=True)[start : start + PER_PAGE])
        if len(ids) == PER_PAGE:
            return ids
    matching = _matching(entries, groups, administration_id, _facet_groups(filters, filters.date_from, last))
    return list(matching.order_by("-registered_at", "-pk").values_list("pk", flat=True)[start : start + PER_PAGE])


def search(scope: Scope, query: str, filters: Filters = Filters(), *, page: int = 1, cap: int = COUNT_CAP) -> Results:
    """What ``scope`` may see of its administration's registers that matches ``query``: the
    registration number itself, or every word of it (in any spelling, see
    :mod:`search.text`), best first. An empty query with filters lists what they select,
    newest first."""
    results = Results(query=query, page=max(page, 1), cap=cap)
    start = (results.page - 1) * PER_PAGE
    number = number_asked(query)
    groups: list[frozenset[str]] = []
    scores: dict[int, float] = {}
    if number or not query.strip():
        # Read from the registers themselves: a letter registered a second ago is listed.
        correspondence = _selected(Correspondence.objects.all(), scope, filters, "pk")
        if number:
            results.by_number = True
            correspondence = correspondence.filter(number=number)
        results.total = correspondence.order_by()[: cap + 1].count()
        ids = list(
            correspondence.order_by("-registered_at", "-id").values_list("pk", flat=True)[start : start + PER_PAGE]
        )
        scores = dict.fromkeys(ids, 1.0 if number else 0.0)
    else:
        groups = text.query_groups(query)
        if not groups:
            results.no_terms = True
            return results
        entries = _selected(SearchEntry.objects.all(), scope, filters, "correspondence_id")
        today = local_date(now())
        last = min(filters.date_to or today, today)  # the last day a match can have
        matching = _matching(entries, groups, scope.administration.pk, _facet_groups(filters, filters.date_from, last))
        results.total = matching.order_by().values("pk")[: cap + 1].count()  # (without the score)
        if results.capped:
            # More than `cap` letters have these words: ranking them all would read every one of
            # them (hundreds of thousands for a word like طلب); the latest registered come first.
            # Add words to get a ranking.
            results.ranked = False
            scores = dict.fromkeys(_latest(entries, groups, scope, filters, last, start), 0.0)
        elif results.total:
            best = matching.order_by(*_BEST).values_list(*_SCORED)
            scores = {pk: float(score or 0.0) for pk, score in best[start : start + PER_PAGE]}
    # A search reads the names and texts of many letters at once: who searched for what is kept.
    audit_record(
        actor=scope.user,
        action=AuditAction.REGISTER_SEARCHED,
        administration=scope.administration,
        data={"query": query[:200], "filters": filters.described(), "total": results.total},
    )
    if not scores:
        return results
    found = Correspondence.objects.select_related("case__service", "recipient_service").in_bulk(list(scores))
    wanted = set().union(*groups) if groups else set()
    texts = attachment_texts(list(scores))[0] if wanted else {}
    for pk, score in scores.items():
        item = found[pk]
        results.hits.append(
            Hit(
                correspondence=item,
                score=round(score, 4),
                subject=highlighted(item.subject, wanted),
                snippet=_best_snippet([item.body, *texts.get(pk, [])], wanted),
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
    return _marked(written, text.written_words(written), wanted, 0, len(written))


def _marked(
    written: str, words: Iterable[tuple[int, int, frozenset[str]]], wanted: set[str], start: int, end: int
) -> SafeString:
    """``written[start:end]`` escaped, those of its ``words`` (spans and terms) that have a
    ``wanted`` term in ``<mark>``."""
    out, position = [], start
    for word_start, word_end, terms in words:
        if terms & wanted:
            out += [escape(written[position:word_start]), "<mark>", escape(written[word_start:word_end]), "</mark>"]
            position = word_end
    out.append(escape(written[position:end]))
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
    passage = _marked(written, found[best : last + 1], wanted, found[best][0], found[last][1])
    before = "… " if best > 0 else ""
    after = " …" if last < len(found) - 1 else ""
    return mark_safe(f"{before}{passage}{after}")  # noqa: S308  (passage is escaped)
