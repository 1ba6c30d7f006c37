"""Benchmarks for ``make bench`` (see docs/benchmarks.md and scripts/bench)."""
