"""Helpers for tests that start Wasl's real processes (``serve``, ``make run``)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_environment(data_dir: Path) -> dict[str, str]:
    """The environment of a process of the stack: none of the suite's ``WASL_*``, the demo on
    ``data_dir``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(WASL_DEMO="true", WASL_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="wasl.settings")
    return environment
