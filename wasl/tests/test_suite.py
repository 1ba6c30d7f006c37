"""The suite collects every app's tests: an app missing from pytest's testpaths is never run."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_directory_with_tests_is_collected() -> None:
    testpaths = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"])
    top_level = [
        d
        for d in ROOT.iterdir()
        if d.is_dir() and not d.name.startswith(".") and d.name not in ("var", "bench", "node_modules")
    ]
    with_tests = {d.name for d in top_level if next(d.glob("**/test_*.py"), None) is not None}
    assert with_tests - testpaths == set()
