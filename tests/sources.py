"""The project's own files, for the tests that read the code (who names a role, who writes a
status or an audit action): found once per test process, each Python file parsed once.

The walk never enters what is not the project's code: the virtualenv, ``var/`` (demo and test
data), hidden directories (git, caches), ``node_modules``, static files and catalogues.
"""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_CODE = {"var", "node_modules", "static", "locale", "locale_django", "__pycache__"}


@cache
def project_files(suffix: str) -> tuple[Path, ...]:
    """Every file of the project whose name ends with ``suffix`` (".py", ".html"), sorted."""
    found: list[Path] = []
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".") and name not in NOT_CODE and not os.path.islink(os.path.join(directory, name))
        ]
        found.extend(Path(directory, name) for name in names if name.endswith(suffix))
    return tuple(sorted(found))


def relative_parts(path: Path) -> tuple[str, ...]:
    return path.relative_to(ROOT).parts


@cache
def source_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def tree_of(path: Path) -> ast.Module:
    return ast.parse(source_of(path), filename=str(path))
