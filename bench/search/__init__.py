"""Search benchmark: building the index, following the registers, and searching, at a million.

    python -m bench.search --json OUT-sqlite.json [--rows 1000000]                 (SQLite, throw-away data dir)
    WASL_PG_DURABLE=1 scripts/with-postgres .venv/bin/python -m bench.search --json OUT-postgresql.json
    python -m bench.search --report docs/benchmarks.md OUT-sqlite.json OUT-postgresql.json   (no measuring)

Targets (the issue): with 1 million correspondences, search p95 <= 50 ms on PostgreSQL and
<= 100 ms on SQLite over a fixed set of 200 queries; index build time and incremental indexing
rate are measured and reported.

1. Dataset: the desk benchmark's (:mod:`bench.desk`: ``--administrations`` administrations of
   Zipf-like sizes, the biggest about 14 % of the rows, cases and timelines, COPY / executemany)
   of ``--rows`` + ``--incremental`` correspondences, each given a text of its own by
   :mod:`bench.search.corpus` (Arabic, French or both; spelling variants).
2. Index build, for the first ``--rows`` correspondences (by id): the terms of each with
   ``search.services.entry_of`` (the real normaliser and stemmers, ``--workers`` processes)
   into a file; optionally the bulk alternative (SQLite: no triggers, then FTS5 ``rebuild``;
   PostgreSQL: no GIN index, then CREATE INDEX), then emptied; then the entries written into
   the index as the migration made it (SQLite: FTS5 triggers firing per row; PostgreSQL: COPY,
   generated ``tsvector`` and GIN updated per row). Build time = terms + that write. Then
   VACUUM ANALYZE and CHECKPOINT (not timed), and the product's own ``index_rebuild`` path on a
   ``--rebuild-sample`` (its loop stopped after that many), per 1,000 correspondences.
3. Incremental indexing: the last ``--incremental`` correspondences, registered after the
   index was built (the watermark left where a worker that followed the registers would have
   it), indexed by ``search.services.index_sync(limit=1000)`` calls until one finds nothing.
   Also: a sweep with nothing to do, and one from watermark 0.
4. Search latency: 200 fixed queries (:mod:`bench.search.queries`, seeded) through
   ``search.selectors.search`` (the audit row included) as the clerk of the biggest
   administration: one warm-up pass, then ``--passes`` measured passes; p50/p95/max, the
   slowest queries with their totals, and EXPLAIN of the slowest statement of the slowest ones.
"""
