"""The parapheur benchmark writes its own section of docs/benchmarks.md and nothing else."""

from __future__ import annotations

from bench.parapheur import BEGIN, END, section
from bench.report import splice_section

RESULT = {
    "document_bytes": 20_000,
    "signed_3_bytes": 60_000,
    "sign_unlocked_cpu_ms": {"mean": 12.0, "p50": 12.0, "p95": 15.0},
    "sign_completing_cpu_ms": {"mean": 34.0, "p50": 33.0, "p95": 39.0},
    "sign_with_passphrase_cpu_ms": {"mean": 52.0, "p50": 51.0, "p95": 70.0},
    "batch_100": {"wall_s": 3.0, "cpu_s": 2.9, "signed": 100},
    "validate_3_cpu_ms": {"mean": 70.0, "p50": 69.0, "p95": 91.0},
    "validate_3_wall_ms": {"mean": 70.0, "p50": 69.0, "p95": 120.0},
    "folders": 40,
    "started_utc": "2026-11-21 21:50 UTC",
    "commit": "abc1234",
    "uncommitted": [],
    "machine": "AMD EPYC, 2 cores",
}


def test_the_section_states_each_target_and_its_verdict() -> None:
    text = section(RESULT)
    assert text.startswith(BEGIN) and text.rstrip().endswith(END)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "≤" in line]
    assert len(rows) == 3
    assert rows[0].endswith("**met** |") and rows[1].endswith("**met** |")
    assert rows[2].endswith("**not met** |")  # 120 ms p95 > 100 ms


def splice(document: str, text: str) -> str:
    return splice_section(document, text, BEGIN, END)


def test_only_the_parapheur_section_is_replaced() -> None:
    document = f"# Benchmarks\n\nkept above\n\n{BEGIN}\nold figures\n{END}\n\nkept below\n"
    updated = splice(document, section(RESULT))
    assert "old figures" not in updated and "kept above" in updated and "kept below" in updated
    assert updated.count(BEGIN) == 1
    assert splice("# Benchmarks\n", section(RESULT)).startswith("# Benchmarks\n\n" + BEGIN)
