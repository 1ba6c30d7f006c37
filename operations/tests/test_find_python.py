"""``scripts/find-python``, which the Makefile asks for the Python that makes the virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from operations.testing import ROOT

FIND_PYTHON = ROOT / "scripts" / "find-python"


def _find(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"} | environment
    return subprocess.run([str(FIND_PYTHON)], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_python_named_in_PYTHON_is_the_one_used() -> None:
    found = _find(PYTHON=sys.executable)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == sys.executable


def test_a_python_in_PYTHON_that_cannot_run_is_named_with_the_reason_not_replaced(tmp_path: Path) -> None:
    """A pyenv Python under /root cannot be run by the user wasl: the refusal names it, and where to
    install one instead, rather than "none was found" or another Python used silently."""
    missing = "/root/.pyenv/versions/3.12.99/bin/python3.12"
    refused = _find(PYTHON=missing)
    assert refused.returncode == 1 and refused.stdout == ""
    assert f"PYTHON={missing} cannot be run by the user" in refused.stderr
    assert "under /usr/local" in refused.stderr and "none was found" not in refused.stderr

    old = tmp_path / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # runs, but is not a Python 3.12 or newer
    old.chmod(0o755)
    refused = _find(PYTHON=str(old))
    assert refused.returncode == 1 and f"PYTHON={old} cannot be run by the user" in refused.stderr
    assert "/usr/local" not in refused.stderr  # not in a home directory: no advice about one
