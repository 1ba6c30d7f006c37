"""Import circles between the modules of each app: groups of modules that import each other,
directly or round a loop (strongly connected components of the import graph).

    python scripts/circles.py            (from the repository root; exit status 1 when there is one)

One deferred import is allowed, the services↔tasks idiom: a service enqueues a task, the task
(loaded by the worker) calls the service, so the task imports the service inside its function.
Such an import is marked with a comment containing ``services↔tasks idiom`` on its line or the
line above, and is left out of the graph. Tests and migrations are not looked at.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

IDIOM = "services↔tasks idiom"


def apps(root: Path) -> list[str]:
    """The project's Django apps: the folders at its root with an ``apps.py``."""
    return sorted(path.parent.name for path in root.glob("*/apps.py"))


def module_name(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def _module_of(root: Path, dotted: str) -> str | None:
    """The module file a dotted name resolves to (a name imported from a module is the module)."""
    while dotted:
        base = root.joinpath(*dotted.split("."))
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return dotted
        dotted = dotted.rpartition(".")[0]
    return None


def import_graph(root: Path, app: str) -> dict[str, set[str]]:
    """Which modules of ``app`` each module of ``app`` imports (idiom imports left out)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / app).rglob("*.py")):
        parts = path.relative_to(root).parts
        if "tests" in parts or "migrations" in parts:
            continue
        name = module_name(root, path)
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            around = " ".join(lines[max(node.lineno - 2, 0) : node.end_lineno or node.lineno])
            if IDIOM in around and node.col_offset > 0:
                continue
            for target in _targets(node, name, path):
                if target.split(".")[0] != app:
                    continue
                module = _module_of(root, target)
                if module is not None and module != name:
                    edges.add(module)
    return graph


def _targets(node: ast.Import | ast.ImportFrom, name: str, path: Path) -> Iterable[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: from the package of this module
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.get(module, ())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def all_circles(root: Path) -> dict[str, list[list[str]]]:
    return {app: found for app in apps(root) if (found := circles(import_graph(root, app)))}


def main() -> int:
    found = all_circles(Path.cwd())
    for app, groups in found.items():
        for group in groups:
            print(f"{app}: {' ↔ '.join(group)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
