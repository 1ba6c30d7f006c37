"""No two modules of an app import each other, directly or round a loop, except through the
services↔tasks idiom (``scripts/circles.py``): a new circle fails the suite."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]

# Circles allowed: none (the last ones were untangled in issue #16). Never add one.
KNOWN: set[tuple[str, ...]] = set()


@cache
def _circles() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wasl_circles", ROOT / "scripts" / "circles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def _found() -> dict[str, list[list[str]]]:
    """The circles of every app of this checkout (read once for the tests below)."""
    found: dict[str, list[list[str]]] = _circles().all_circles(ROOT)
    return found


def test_no_app_gains_an_import_circle() -> None:
    found = {tuple(group) for groups in _found().values() for group in groups}
    assert found - KNOWN == set()


def test_the_register_and_the_processing_desk_have_none() -> None:
    found = _found()
    assert "registry" not in found and "workflow" not in found


def test_only_a_task_importing_its_service_late_and_saying_so_is_allowed(tmp_path: Path) -> None:
    circles = _circles()
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "services.py").write_text("from app.tasks import mail_task\n")
    task = "def mail_task():\n    from app.services import mail{}\n"
    (app / "tasks.py").write_text(task.format("  # services↔tasks idiom"))
    assert circles.circles(circles.import_graph(tmp_path, "app")) == []
    (app / "tasks.py").write_text(task.format(""))
    assert circles.circles(circles.import_graph(tmp_path, "app")) == [["app.services", "app.tasks"]]
