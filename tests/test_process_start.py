"""What every process of the site pays to start: a web worker, a ``manage.py`` command, the task
worker load the settings, the apps and the URLs (the system checks import them). pyHanko's
signing and validation (``pyhanko.sign``, which loads aiohttp) would be half a second of that, for
processes most of which never verify a signature: they are imported by the functions that
validate (``trust.verification``) and seal (``trust.sealing``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from operations.testing import ROOT, demo_environment

LOAD_THE_SITE = """
import json, sys
import django
django.setup()
import wasl.urls
print(json.dumps(sorted(name for name in sys.modules if name == "aiohttp" or name.startswith("pyhanko.sign"))))
"""


@pytest.mark.slow
def test_loading_the_site_imports_neither_pyhanko_signing_nor_aiohttp(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_THE_SITE],
        env=demo_environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
