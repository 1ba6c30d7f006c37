from bench.seal import measure


def test_benchmark_runs() -> None:
    results = measure(n=4)
    assert set(results) >= {"seal_pdf_ms", "seal_data_ms", "verify_pdf_ms", "verify_data_ms"}
    assert all(value > 0 for value in results.values())
