"""PDF rendering with the Typst templates kept in ``documents/typst/``.

``render_pdf("receipt", data)`` compiles ``documents/typst/receipt.typ`` with ``data``.

How data reaches a template
    The template reads its data with ``json(sys.inputs.data)``: ``sys.inputs.data`` is the path
    of a JSON file (inside the compiler's root) that ``render_pdf`` rewrites before every
    compilation. Values therefore arrive as Typst strings, numbers, arrays and dictionaries,
    never as markup: a subject containing ``#eval(...)`` or ``*bold*`` prints as typed.

    Why a file rather than the JSON itself in ``sys_inputs``: Typst memoises layout across
    compilations, but ``sys.inputs`` belongs to the standard library, and a new value
    invalidates every cached result, so the whole page is laid out again. Measured on a busy
    2-core machine with a different receipt each time: about 22 ms per receipt through
    ``sys_inputs``, about 10 ms through the file, about 4 ms when nothing changed.

Fonts
    Typst only sees the fonts vendored in ``documents/fonts/`` (system fonts are ignored), so a
    document renders the same on every machine.

Compilers and threads
    Compilers are kept for the life of the process and lent to one render at a time: building
    one loads the fonts and parses the template (tens of milliseconds), reusing one hits
    Typst's caches. A thread that finds every compiler of a template busy builds another, so
    threads render in parallel (compilation releases the GIL) and never share a compiler.
    A compiler is built from a file path: typst-py 0.15 loses a *bytes* input after the first
    compilation.

    Each compiler's root is its own directory, in a private temporary directory of the
    process, holding a copy of the templates and its data file; a template can read nothing
    else from the file system. The copy is taken when the compiler is built: restart the
    process after editing a template.

This module does not use Django settings and can run outside a configured project.
"""

from __future__ import annotations

import atexit
import datetime
import itertools
import json
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typst

if TYPE_CHECKING:
    from typst import PDFStandard  # Only in typst's type stubs.

TEMPLATES_DIR: Final = Path(__file__).resolve().parent / "typst"
FONTS_DIR: Final = Path(__file__).resolve().parent / "fonts"

# PDF/A-2b (ISO 19005-2, level B): fonts embedded, colours device-independent, XMP metadata.
# It is the archival profile for records kept for years, and costs about 0.3 ms per receipt.
PDF_STANDARDS: Final[list[PDFStandard]] = ["a-2b"]
# Tagged PDF (a structure tree for assistive technology) is off: it adds about 0.5 ms per
# receipt, and poppler's tools (pdftotext, pdfsig) print "Syntax Error: Suspects object is
# wrong type" for Typst's tagged output. Untagged, the text stays extractable and readable.
PDF_TAGS: Final = False

_TEMPLATE_NAME: Final = re.compile(r"[a-z][a-z0-9_-]*")
# Where a template finds its data, relative to its compiler's root (see the module docstring).
_DATA_FILE: Final = "data.json"


class RenderError(RuntimeError):
    """A template failed to compile; the message carries Typst's diagnostic."""


@dataclass(frozen=True)
class _Slot:
    """One compiler with its own root directory: a copy of the templates and a data file."""

    compiler: typst.Compiler
    data_file: Path


@dataclass
class _Workspace:
    """This process's compilers, idle ones queued per template, under a private directory."""

    pid: int
    directory: Path
    idle: dict[str, queue.SimpleQueue[_Slot]] = field(default_factory=dict)
    slots_made: itertools.count[int] = field(default_factory=itertools.count)


_workspace_lock = threading.Lock()
_workspace: _Workspace | None = None


def template_path(template: str) -> Path:
    """Return the source ``.typ`` file for ``template``, refusing names that are not plain."""
    if not _TEMPLATE_NAME.fullmatch(template):
        raise ValueError(f"invalid template name: {template!r}")
    path = TEMPLATES_DIR / f"{template}.typ"
    if not path.is_file():
        raise FileNotFoundError(f"no Typst template named {template!r} at {path}")
    return path


def _get_workspace() -> _Workspace:
    """This process's workspace, created on first use, again after a fork (the pid differs)
    and if a temporary-files cleaner removed its directory."""
    global _workspace
    workspace = _workspace
    if workspace is not None and workspace.pid == os.getpid() and workspace.directory.is_dir():
        return workspace
    with _workspace_lock:
        workspace = _workspace
        if workspace is None or workspace.pid != os.getpid() or not workspace.directory.is_dir():
            directory = Path(tempfile.mkdtemp(prefix="wasl-typst-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            workspace = _workspace = _Workspace(pid=os.getpid(), directory=directory)
        return workspace


def _new_slot(workspace: _Workspace, template: str) -> _Slot:
    root = workspace.directory / f"compiler-{next(workspace.slots_made)}"
    shutil.copytree(TEMPLATES_DIR, root)
    # Every compiler gets the same template path and the same sys_inputs relative to its own
    # root, so all of them hit the same entries of Typst's (process-wide) caches.
    compiler = typst.Compiler(
        str(root / f"{template}.typ"),
        root=str(root),
        font_paths=[str(FONTS_DIR)],
        ignore_system_fonts=True,
        sys_inputs={"data": f"/{_DATA_FILE}"},
    )
    return _Slot(compiler=compiler, data_file=root / _DATA_FILE)


@contextmanager
def _slot(template: str) -> Iterator[_Slot]:
    """Lend an idle compiler for ``template`` (building one if all are busy), then take it back.

    A compiler serves one render at a time, so threads never share one; as many exist as
    renders ever ran at once. Building one (fonts, parsing) takes tens of milliseconds.
    """
    template_path(template)  # Validates the name before it becomes part of a path.
    workspace = _get_workspace()
    idle = workspace.idle.get(template)
    if idle is None:
        with _workspace_lock:
            idle = workspace.idle.setdefault(template, queue.SimpleQueue())
    try:
        slot = idle.get_nowait()
    except queue.Empty:
        slot = _new_slot(workspace, template)
    try:
        yield slot
    finally:
        idle.put(slot)


def render_pdf(
    template: str,
    data: dict[str, Any],
    *,
    created_at: datetime.datetime | None = None,
) -> bytes:
    """Render ``documents/typst/<template>.typ`` with ``data`` and return the PDF bytes.

    ``data`` must be JSON-serialisable. ``created_at`` (timezone-aware) becomes the PDF
    creation date in the document metadata; without it Typst uses the current time. With the
    same data and ``created_at`` the output is byte-for-byte identical. The output is PDF/A-2b.

    Raises ``ValueError`` or ``FileNotFoundError`` for an unknown template and ``RenderError``
    when Typst reports an error (for instance a key missing from ``data``).
    """
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False)
    with _slot(template) as slot:
        slot.data_file.write_text(payload, encoding="utf-8")
        try:
            pdf = slot.compiler.compile(
                format="pdf",
                pdf_standards=PDF_STANDARDS,
                pdf_tags=PDF_TAGS,
                timestamp=created_at,
            )
        except typst.TypstError as exc:
            raise RenderError(f"{template}.typ: {exc.message}\n{exc.diagnostic}") from exc
    if not isinstance(pdf, bytes):  # Lists of pages only come from SVG and PNG output.
        raise RenderError(f"{template}.typ: Typst returned {type(pdf).__name__}, not PDF bytes")
    return pdf
