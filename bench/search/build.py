"""The search benchmark's dataset and index: generating, building, rebuilding, following."""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from bench.desk.measure import CpuWindow, StatementMeter, _db_pid, _explain, _quiet

ENTRY_COLUMNS = [
    "correspondence_id",
    "administration_id",
    "scope",
    "registered_at",
    "direction",
    "confidential",
    "facets",
    "title",
    "content",
    "texts_pending",
    "indexed_at",
]
CHUNK = 1000  # correspondences per task of the term workers


def _migration() -> Any:
    """The search app's migration that makes the index on a new database."""
    return importlib.import_module("search.migrations.0001_squashed_0003_verbose_names")


def _phase() -> CpuWindow:
    """Wall time and CPU of one phase: this process and its children (the term workers), the
    database server, the whole machine (what it spent beyond the two is someone else's)."""
    return CpuWindow(_db_pid(), children=True)


def dataset(total: int, administrations: int, seed: int, today: date, now_utc: datetime) -> dict[str, Any]:
    """The desk benchmark's dataset of ``total`` correspondences, each with a text of its own
    (:mod:`bench.search.corpus`)."""
    from bench.desk import dataset as desk
    from bench.desk.rows import CORRESPONDENCE_COLUMNS
    from bench.search.corpus import letters_with_text

    # generate() writes the correspondence with the rows of bench.desk.rows.correspondence_rows,
    # as imported into bench.desk.dataset: wrapped there for the run, and put back.
    original = getattr(desk, "correspondence_rows")  # noqa: B009
    setattr(desk, "correspondence_rows", letters_with_text(original, CORRESPONDENCE_COLUMNS, seed))  # noqa: B010
    try:
        result = desk.generate(total, administrations, seed, today, now_utc)
    finally:
        setattr(desk, "correspondence_rows", original)  # noqa: B010
    result["text"] = _text_sizes()
    return result


def _text_sizes() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT AVG(LENGTH(subject)), AVG(LENGTH(body)), "
            "SUM(CASE WHEN body = '' THEN 1 ELSE 0 END) * 100.0 / COUNT(*) FROM registry_correspondence"
        )
        subject, body, empty = cursor.fetchone()
    return {
        "subject_avg_chars": round(float(subject or 0), 1),
        "body_avg_chars": round(float(body or 0), 1),
        "body_empty_pct": round(float(empty or 0), 1),
    }


# ---------------------------------------------------------------- index build


def _chunk_terms(rows: list[tuple[Any, ...]]) -> str:
    """The entries of ``rows`` (``search.services.ENTRY_SOURCE``), made by ``search.services.entry_of``,
    as tab-separated lines of ``ENTRY_COLUMNS`` but the last two. Terms are letters and digits:
    no tab nor newline."""
    from search.services import ENTRY_SOURCE, entry_of

    lines = []
    moment = datetime.now(UTC)  # not written: the load stamps its own
    for row in rows:
        e = entry_of(dict(zip(ENTRY_SOURCE, row, strict=True)), (), 0, moment)
        fields = (e.correspondence_id, e.administration_id, e.scope, e.registered_at.isoformat(), e.direction)
        lines.append("\t".join(map(str, fields)) + f"\t{int(e.confidential)}\t{e.facets}\t{e.title}\t{e.content}\n")
    return "".join(lines)


def _read_chunks(upto: int) -> Iterator[list[tuple[Any, ...]]]:
    from registry.models import Correspondence
    from search.services import ENTRY_SOURCE

    rows = (
        Correspondence.objects.filter(pk__lte=upto)
        .order_by("pk")
        .values_list(*ENTRY_SOURCE)
        .iterator(chunk_size=10 * CHUNK)
    )
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def terms_write(path: Path, upto: int, workers: int) -> dict[str, Any]:
    """Compute the entry of every correspondence up to id ``upto`` with ``search.services.entry_of``
    (``workers`` processes; 0: in this one) into the file ``path``."""
    from django.db import connection

    count = 0
    connection.close()  # the workers are forked: they must not share the connection
    phase = _phase()
    t0 = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        if workers <= 0:
            for chunk in _read_chunks(upto):
                out.write(_chunk_terms(chunk))
                count += len(chunk)
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                pending: deque[tuple[int, AsyncResult[str]]] = deque()
                for chunk in _read_chunks(upto):
                    pending.append((len(chunk), pool.apply_async(_chunk_terms, (chunk,))))
                    if len(pending) >= 4 * workers:
                        size, result = pending.popleft()
                        out.write(result.get())
                        count += size
                while pending:
                    size, result = pending.popleft()
                    out.write(result.get())
                    count += size
    wall = time.perf_counter() - t0
    cpu = phase.stop()
    return {
        "rows": count,
        "workers": workers,
        "wall_s": round(wall, 1),
        "per_s": round(count / wall) if wall else 0,
        "ms_per_1000": round(1000 * wall / max(count, 1) * 1000, 1),
        "file_mb": round(path.stat().st_size / 1e6),
        "cpu": cpu,
    }


def _entries(path: Path, moment: datetime) -> Iterator[tuple[Any, ...]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            pk, administration, scope, registered_at, direction, confidential, facets, title, content = line.rstrip(
                "\n"
            ).split("\t")
            yield (
                int(pk),
                int(administration),
                scope,
                datetime.fromisoformat(registered_at),
                direction,
                confidential == "1",
                facets,
                title,
                content,
                0,
                moment,
            )


def _triggers(action: str) -> None:
    from django.db import connection

    statements = _migration().SQLITE[1:4]  # the three triggers, as the migration creates them
    with connection.cursor() as cursor:
        for sql in statements:
            if action == "create":
                cursor.execute(sql)
            else:
                name = sql.split()[2]  # CREATE TRIGGER <name> ...
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def entries_clear() -> None:
    """An empty index (not timed)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE search_searchentry")
        else:
            _triggers("drop")
            cursor.execute("DELETE FROM search_searchentry")
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES('delete-all')")
            _triggers("create")


def entries_load(path: Path, rows: int) -> dict[str, Any]:
    """Write the entries of ``path`` into the index as it stands (the migration's state): on
    SQLite, executemany in one transaction, the FTS5 triggers firing per row; on PostgreSQL,
    COPY, the generated ``tsvector`` computed and the GIN index updated per row."""
    from django.db import transaction

    from bench.desk.database import Writer
    from core.clock import now
    from search.models import SearchEntry

    phase = _phase()
    t0 = time.perf_counter()
    with transaction.atomic():
        written = Writer().write(SearchEntry, ENTRY_COLUMNS, _entries(path, now()))
    wall = time.perf_counter() - t0
    assert written == rows, (written, rows)
    return {"rows": written, "wall_s": round(wall, 1), "per_s": round(written / wall), "cpu": phase.stop()}


def entries_load_bulk(path: Path, rows: int) -> dict[str, Any]:
    """The bulk alternative: SQLite, without the triggers, then FTS5's ``rebuild``; PostgreSQL,
    without the GIN index, then ``CREATE INDEX`` (maintenance_work_mem 512MB)."""
    from django.db import connection, transaction

    from bench.desk.database import Writer
    from core.clock import now
    from search.models import SearchEntry

    vendor = connection.vendor
    with transaction.atomic(), connection.cursor() as cursor:  # not timed: the empty index without its machinery
        if vendor == "postgresql":
            cursor.execute("TRUNCATE search_searchentry")
            cursor.execute("DROP INDEX search_entry_document")
        else:
            _triggers("drop")
    phase = _phase()
    t0 = time.perf_counter()
    with transaction.atomic():
        written = Writer().write(SearchEntry, ENTRY_COLUMNS, _entries(path, now()))
    insert_s = time.perf_counter() - t0
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute(_migration().POSTGRESQL[-1])  # the GIN index, as made
        else:
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES('rebuild')")
    wall = time.perf_counter() - t0
    cpu = phase.stop()
    if vendor == "sqlite":
        _triggers("create")
    assert written == rows, (written, rows)
    return {
        "how": "COPY without the GIN index, then CREATE INDEX (maintenance_work_mem 512MB)"
        if vendor == "postgresql"
        else "executemany without the FTS5 triggers, then INSERT INTO search_fts(search_fts) VALUES('rebuild')",
        "rows": written,
        "insert_s": round(insert_s, 1),
        "index_s": round(wall - insert_s, 1),
        "wall_s": round(wall, 1),
        "per_s": round(written / wall),
        "cpu": cpu,
    }


def rebuild_sample(count: int, batch: int = 2000) -> dict[str, Any]:
    """The product's own path, ``index_rebuild`` (its loop, stopped after ``count``
    correspondences): the ids of a batch, then ``entries_write`` (read the rows, terms in this
    process, delete the entries and bulk-create them again)."""
    from registry.models import Correspondence
    from search.services import entries_write

    phase = _phase()
    t0 = time.perf_counter()
    done, last = 0, 0
    while done < count:
        ids = list(
            Correspondence.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[: min(batch, count - done)]
        )
        if not ids:
            break
        done += entries_write(ids)
        last = ids[-1]
    wall = time.perf_counter() - t0
    return {
        "rows": done,
        "batch": batch,
        "wall_s": round(wall, 2),
        "ms_per_1000": round(1000 * wall / max(done, 1) * 1000, 1),
        "per_s": round(done / wall) if wall else 0,
        "cpu": phase.stop(),
    }


def stale_statistics_drop() -> None:
    """Forget the SQLite statistics of the (empty) index that the dataset's ANALYZE took.

    The product never runs ANALYZE; the desk's dataset does, when the index is empty, and with
    ``sqlite_stat1`` saying ``search_fts_data`` has 2 rows, FTS5's own statements on it (``DELETE
    FROM search_fts_data WHERE id>=? AND id<=?``, run at each flush) are planned as scans:
    writing the index becomes quadratic (20,000 entries: 17 s instead of 1.8 s). An installation
    that ran ANALYZE (or ``PRAGMA optimize``) on a young index would see the same.
    """
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl LIKE 'search%'")
        cursor.execute("ANALYZE sqlite_schema")  # reload what is left
    connection.close()  # and let every statement be prepared again


def settle() -> dict[str, Any]:
    """What autovacuum and the checkpointer leave a database in after the load (not part of the
    build): VACUUM ANALYZE (which also empties GIN's pending list) and CHECKPOINT; ANALYZE on
    SQLite."""
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE) search_searchentry")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("ANALYZE")
    return {"wall_s": round(time.perf_counter() - t0, 1)}


def index_size() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_table_size('search_searchentry'), pg_relation_size('search_entry_document'), "
                "pg_database_size(current_database())"
            )
            table, gin, database = cursor.fetchone()
            return {"entries_mb": round(table / 1e6), "gin_mb": round(gin / 1e6), "database_mb": round(database / 1e6)}
        cursor.execute("PRAGMA page_size")
        page = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        result: dict[str, Any] = {"database_mb": round(page * pages / 1e6)}
        with contextlib.suppress(Exception):  # dbstat is compiled in most builds, not all
            cursor.execute(
                "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'search_%' OR name = 'search_searchentry' "
                "GROUP BY name"
            )
            sizes = dict(cursor.fetchall())
            result["entries_mb"] = round(sizes.get("search_searchentry", 0) / 1e6)
            result["fts_mb"] = round(sum(v for k, v in sizes.items() if k.startswith("search_fts")) / 1e6)
        return result


def build(upto: int, workers: int, data_dir: Path, bulk_alternative: bool, sample: int) -> dict[str, Any]:
    """Index every correspondence up to id ``upto``: terms (timed), the bulk alternative (timed,
    optional), then the entries written the product's way (timed): the index searched later."""
    path = data_dir / "entries.tsv"
    stale_statistics_drop()
    print(f"  index: terms of {upto} correspondences ({workers} worker processes)", file=sys.stderr)
    terms = terms_write(path, upto, workers)
    print(f"    {terms['wall_s']} s, {terms['per_s']}/s", file=sys.stderr)
    result: dict[str, Any] = {"rows": terms["rows"], "terms": terms}
    if bulk_alternative:
        bulk = entries_load_bulk(path, terms["rows"])
        print(f"  index, bulk alternative: {bulk['wall_s']} s ({bulk['how']})", file=sys.stderr)
        result["bulk"] = bulk
        entries_clear()
    write = entries_load(path, terms["rows"])
    print(f"  index, entries written: {write['wall_s']} s, {write['per_s']}/s", file=sys.stderr)
    result["write"] = write
    result["total_s"] = round(terms["wall_s"] + write["wall_s"], 1)
    if "bulk" in result:
        result["bulk_total_s"] = round(terms["wall_s"] + result["bulk"]["wall_s"], 1)
    path.unlink()
    result["settle"] = settle()
    result["size"] = index_size()
    if sample:
        result["rebuild_sample"] = rebuild_sample(sample)
        rebuild = result["rebuild_sample"]
        rebuild["projected_s"] = round(rebuild["ms_per_1000"] * terms["rows"] / 1e6, 1)
        print(
            f"  index_rebuild on {rebuild['rows']}: {rebuild['ms_per_1000']} ms per 1000 "
            f"(all {terms['rows']}: ~{rebuild['projected_s']} s)",
            file=sys.stderr,
        )
    return result


# ---------------------------------------------------------------- following the registers


def _statements(call: Callable[[], Any]) -> list[dict[str, Any]]:
    """The SQL statements ``call`` runs, with their time; the slowest EXPLAINed."""
    from django.db import connection

    meter = StatementMeter()
    with connection.execute_wrapper(meter):
        call()
    out: list[dict[str, Any]] = [
        {"sql": sql, "params": [str(p) for p in params or ()], "ms": round(ms, 2)}
        for sql, params, ms in meter.statements
    ]
    if meter.statements:
        sql, params, _ms = max(meter.statements, key=lambda s: s[2])
        slowest = max(out, key=lambda s: s["ms"])
        slowest["plan"] = _explain(sql, params)
    return out


def incremental(upto: int, limit: int, quiet_wait: float) -> dict[str, Any]:
    """The worker's sweep (``index_sync``) over the correspondences registered after id ``upto``,
    the watermark where a worker that followed the registers left it: calls until one finds
    nothing; then the cost of a sweep with nothing to do (the watermark at the top), and of one
    from watermark 0 (every entry there: it only moves the watermark)."""
    from registry.models import Correspondence
    from search.models import IndexProgress, SearchEntry
    from search.services import index_sync

    IndexProgress.objects.all().delete()
    IndexProgress.objects.create(watermark=upto)
    waiting = Correspondence.objects.filter(pk__gt=upto).count()
    busy = _quiet(quiet_wait)
    phase = _phase()
    calls: list[tuple[int, float]] = []
    t0 = time.perf_counter()
    while True:
        c0 = time.perf_counter()
        done = index_sync(limit=limit)
        calls.append((done, (time.perf_counter() - c0) * 1000))
        if not done:
            break
    wall = time.perf_counter() - t0
    cpu = phase.stop()
    cpu["busy_before_pct"] = busy
    indexed = sum(done for done, _ms in calls)
    progress = IndexProgress.objects.get()
    highest = Correspondence.objects.order_by("-pk").values_list("pk", flat=True).first()
    # For SETTLED after writing entries, the watermark stays below them: the sweeps then (with
    # registrations going on, most sweeps) look from there.
    lagging = []
    for _ in range(3):
        c0 = time.perf_counter()
        index_sync(limit=limit)
        lagging.append((time.perf_counter() - c0) * 1000)
    lagging_statements = _statements(lambda: index_sync(limit=limit))
    # The watermark moves past entries written more than SETTLED (30 s) ago: the state of the
    # next sweeps once that time has passed, every correspondence indexed.
    IndexProgress.objects.update(watermark=highest)
    idle = []
    for _ in range(5):
        c0 = time.perf_counter()
        index_sync(limit=limit)
        idle.append((time.perf_counter() - c0) * 1000)
    idle_statements = _statements(lambda: index_sync(limit=limit))
    IndexProgress.objects.update(watermark=0)
    c0 = time.perf_counter()
    index_sync(limit=limit)
    from_zero_ms = (time.perf_counter() - c0) * 1000
    result = {
        "waiting": waiting,
        "indexed": indexed,
        "limit": limit,
        "calls": len(calls),
        "call_ms": [round(ms, 1) for _done, ms in calls],
        "wall_s": round(wall, 2),
        # The last call found nothing: the rate counts the calls that worked.
        "per_s": round(indexed / (sum(ms for done, ms in calls if done) / 1000)) if indexed else 0,
        "watermark_after": progress.watermark,  # where index_sync left it: the entries are not settled yet
        "highest_id": highest,
        "entries": SearchEntry.objects.count(),
        "idle_sweep_lagging_ms": round(statistics.median(lagging), 1),
        "idle_sweep_lagging_statements": lagging_statements,
        "idle_sweep_ms": round(statistics.median(idle), 1),
        "idle_sweep_statements": idle_statements,
        "sweep_from_watermark_0_ms": round(from_zero_ms, 1),
        "watermark_after_sweep_from_0": IndexProgress.objects.get().watermark,
        "cpu": cpu,
    }
    print(
        f"  index_sync: {indexed} in {result['calls']} calls, {result['per_s']}/s; idle sweep "
        f"{result['idle_sweep_ms']} ms ({result['idle_sweep_lagging_ms']} ms with the watermark {upto}), "
        f"from watermark 0 {result['sweep_from_watermark_0_ms']} ms",
        file=sys.stderr,
    )
    return result
