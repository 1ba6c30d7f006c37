"""The suite collects every app's tests: an app missing from pytest's testpaths is never run."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_directory_with_tests_is_collected():
    testpaths = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"])
    with_tests = {
        path.relative_to(ROOT).parts[0]
        for path in ROOT.glob("*/**/test_*.py")
        if path.relative_to(ROOT).parts[0] not in (".venv", "var", "bench", "node_modules")
    }
    assert with_tests - testpaths == set()
