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
    ``sys_inputs``, about 10 ms through the file with the first receipt template. The file is
    overwritten in place, never truncated (see ``_write_data``).

    Every string with directional controls (U+202E RIGHT-TO-LEFT OVERRIDE…) is isolated first
    (``isolated_strings``, core.bidi): what a person typed is shown as typed, but cannot reorder
    the text the template sets after it.

    For the receipt, ``render_pdf`` adds ``_text`` to the data: facts about its free-text values
    that let the template set them without measuring them (see ``text_facts``).

Fonts
    Typst loads the fonts vendored in ``documents/fonts/`` (system fonts are ignored), so a
    document renders the same on every machine; it loads copies of them without hinting, which
    a PDF does not use and which doubled the font data compressed into every receipt (see
    ``strip_hinting``). The copies are written once per process, in its private directory.

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
import io
import itertools
import json
import os
import queue
import re
import shutil
import struct
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typst

from core.bidi import has_directional_controls, isolated
from core.text import plain_text
from trust.pdf_update import BlockImage

if TYPE_CHECKING:
    from typst import PDFStandard  # Only in typst's type stubs.

TEMPLATES_DIR: Final = Path(__file__).resolve().parent / "typst"
FONTS_DIR: Final = Path(__file__).resolve().parent / "fonts"

# PDF/A-2b (ISO 19005-2, level B): fonts embedded, colours device-independent, XMP metadata.
# It is the archival profile for records kept for years, and costs under 0.1 ms per receipt.
PDF_STANDARDS: Final[list[PDFStandard]] = ["a-2b"]
# Tagged PDF (a structure tree for assistive technology) is off: it adds about 0.5 ms per
# receipt, and poppler's tools (pdftotext, pdfsig) print "Syntax Error: Suspects object is
# wrong type" for Typst's tagged output. Untagged, the text stays extractable and readable.
PDF_TAGS: Final = False

_TEMPLATE_NAME: Final = re.compile(r"[a-z][a-z0-9_-]*")
# Where a template finds its data, relative to its compiler's root (see the module docstring).
_DATA_FILE: Final = "data.json"
# How many bytes of padding the data file may keep (see ``_write_data``).
_DATA_SLACK: Final = 64 * 1024


# ---------------------------------------------------------------- text facts
# Facts about a free-text value that let a template decide how to set it without measuring it
# (see `text-facts` in typst/receipt/parts.typ, which documents them and computes the same in
# Typst). Python counts a 300-character subject in microseconds; Typst's interpreter takes
# hundreds of them for the same counts, on every receipt.

# Letters of the receipt's scripts, whose glyphs are all narrower than 1.1 em (the same class
# as `narrow-text` in typst/receipt/parts.typ).
_NARROW_TEXT: Final = re.compile("[\u0020-\u017f\u0606-\u06dc\u06de-\u06ff\u2d30-\u2d7f\u200b-\u200f\u2010-\u2027]*")
# Blocks of the Arabic script (Unicode 15): a value whose first letter is in one reads right to left.
_ARABIC_BLOCKS: Final = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x0870, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
    (0x10E60, 0x10E7F),
    (0x1EC70, 0x1EEFF),
)
_MARKS: Final = frozenset(("Mn", "Mc", "Me"))
_CONTROLS: Final = frozenset(("Cc", "Cf", "Zl", "Zp"))
_LONGEST_COUNTED: Final = 24


def _clusters_at_most(s: str) -> int:
    """An upper bound of the grapheme clusters of ``s``: its code points, less the combining
    marks that extend the character before them (Unicode's rule GB9; after a control character
    a mark starts a cluster, so it is counted)."""
    if s.isascii():
        return len(s)
    count = 0
    previous = None
    for char in s:
        category = unicodedata.category(char)
        if category not in _MARKS or previous is None or previous in _CONTROLS:
            count += 1
        previous = category
    return count


def text_facts(s: str) -> dict[str, Any]:
    """The facts a template needs to set ``s`` (see ``text-facts`` in the receipt's parts).

    ``rtl``: the first letter is Arabic; ``clusters``: at least the number of grapheme clusters;
    ``longest``: at least the length of the longest space-separated word, counted up to 24;
    ``narrow``: only letters of the receipt's scripts. The bounds err on the long side, so a text
    said to fit does.
    """
    first = next((char for char in s if unicodedata.category(char).startswith("L")), None)
    # U+0640 ARABIC TATWEEL is a letter of the Common script, not of the Arabic one (Typst's
    # `\p{Arabic}` agrees).
    rtl = first is not None and first != "\u0640" and any(low <= ord(first) <= high for low, high in _ARABIC_BLOCKS)
    longest = 0
    for word in s.split(" "):
        if len(word) > longest:
            longest = max(longest, min(_clusters_at_most(word), _LONGEST_COUNTED))
            if longest == _LONGEST_COUNTED:
                break
    return {
        "rtl": rtl,
        "clusters": _clusters_at_most(s),
        "longest": longest,
        "narrow": _NARROW_TEXT.fullmatch(s) is not None,
    }


def _receipt_text(data: dict[str, Any]) -> dict[str, Any]:
    """Facts about the receipt's values that change with every receipt (name, subject, files)."""

    def facts(value: Any) -> dict[str, Any] | None:
        return text_facts(value) if isinstance(value, str) else None

    depositor = data.get("depositor")
    attachments = data.get("attachments")
    return {
        "name": facts(depositor.get("name")) if isinstance(depositor, dict) else None,
        "subject": facts(data.get("subject")),
        "files": [facts(a.get("filename")) if isinstance(a, dict) else None for a in attachments]
        if isinstance(attachments, list)
        else [],
    }


# Per template: computes extra data from the caller's, added under the key "_text".
_TEXT_FACTS: Final[dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {"receipt": _receipt_text}


# ---------------------------------------------------------------- fonts
# The vendored fonts are hinted TrueType: each glyph carries instructions that fit its outline to
# a screen's pixel grid, and the fonts carry the programs those instructions call (fpgm, prep,
# cvt). PDF viewers and printers draw the outlines at their own resolution and hardly use them,
# yet they made up half of every font subset embedded in a receipt, and Typst compresses the
# embedded subsets again for every PDF, changed or not: with them, deflating font data took a
# quarter of a receipt's rendering time. The compilers therefore load copies of the fonts
# without hinting, glyph names and descriptive names: outlines, metrics and shaping tables are
# unchanged, so the text is laid out and drawn exactly as before (a test compares the pages
# pixel by pixel), and a receipt is 30 % smaller. Google also publishes these fonts unhinted.

_HINTING_TABLES: Final = frozenset((b"fpgm", b"prep", b"cvt ", b"hdmx", b"LTSH", b"VDMX", b"gasp", b"DSIG"))
_TRUETYPE_TAGS: Final = (b"\x00\x01\x00\x00", b"true")
# Names kept in the copies, which Typst embeds in every subset: copyright, family, style, full
# name, PostScript name, trademark, licence URL, typographic family and style. The others
# (version, vendor, designer, description, the licence's full text) are 1 to 2 KB per font.
_NAMES_KEPT: Final = frozenset((0, 1, 2, 4, 6, 7, 14, 16, 17))


def _sfnt_checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _glyph_without_instructions(glyph: bytes) -> bytes:
    if not glyph:
        return glyph
    (contours,) = struct.unpack_from(">h", glyph)
    if contours >= 0:  # Simple glyph: the instructions follow the contours' end points.
        at = 10 + 2 * contours
        (length,) = struct.unpack_from(">H", glyph, at)
        return glyph[:at] + b"\0\0" + glyph[at + 2 + length :]
    # Composite glyph: components, then instructions if a component has WE_HAVE_INSTRUCTIONS.
    out = bytearray(glyph)
    at, more = 10, True
    while more:
        (flags,) = struct.unpack_from(">H", out, at)
        struct.pack_into(">H", out, at, flags & ~0x0100)
        more = bool(flags & 0x0020)
        at += 4 + (4 if flags & 0x0001 else 2)
        at += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
    return bytes(out[:at])


def _short_names(name: bytes) -> bytes:
    """The ``name`` table with only the records in _NAMES_KEPT (format 0)."""
    _format, count, _storage = struct.unpack_from(">HHH", name)
    storage = 6 + 12 * count
    records, strings = [], bytearray()
    for i in range(count):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(">6H", name, 6 + 12 * i)
        if name_id in _NAMES_KEPT:
            records.append(struct.pack(">6H", platform, encoding, language, name_id, length, len(strings)))
            strings += name[storage + offset : storage + offset + length]
    return struct.pack(">HHH", 0, len(records), 6 + 12 * len(records)) + b"".join(records) + bytes(strings)


def strip_hinting(font: bytes) -> bytes:
    """``font`` (TrueType) without hinting: no fpgm, prep, cvt and related tables, no glyph
    instructions; without glyph names (post version 3) and with only the names that identify
    it (_NAMES_KEPT). Anything else is returned unchanged."""
    if font[:4] not in _TRUETYPE_TAGS:
        return font
    (count,) = struct.unpack_from(">H", font, 4)
    tables: dict[bytes, bytes] = {}
    for i in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * i)
        tables[tag] = font[offset : offset + length]
    if b"glyf" not in tables or b"loca" not in tables:
        return font
    head = bytearray(tables[b"head"])
    maxp = bytearray(tables[b"maxp"])
    (glyphs,) = struct.unpack_from(">H", maxp, 4)
    if struct.unpack_from(">h", head, 50)[0]:
        offsets = struct.unpack_from(f">{glyphs + 1}I", tables[b"loca"])
    else:
        offsets = tuple(2 * o for o in struct.unpack_from(f">{glyphs + 1}H", tables[b"loca"]))
    glyf, new_offsets = bytearray(), []
    for i in range(glyphs):
        new_offsets.append(len(glyf))
        glyf += _glyph_without_instructions(tables[b"glyf"][offsets[i] : offsets[i + 1]])
        glyf += b"\0" * (-len(glyf) % 4)
    new_offsets.append(len(glyf))
    tables[b"glyf"] = bytes(glyf)
    tables[b"loca"] = struct.pack(f">{glyphs + 1}I", *new_offsets)
    struct.pack_into(">h", head, 50, 1)  # Long offsets in loca.
    struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, computed below.
    tables[b"head"] = bytes(head)
    if len(maxp) >= 28:  # Version 1.0: one zone, no twilight points, storage, functions or instructions.
        struct.pack_into(">7H", maxp, 14, 1, 0, 0, 0, 0, 0, 0)
    tables[b"maxp"] = bytes(maxp)
    if b"post" in tables and len(tables[b"post"]) >= 32:
        tables[b"post"] = b"\x00\x03\x00\x00" + tables[b"post"][4:32]
    if b"name" in tables and struct.unpack_from(">H", tables[b"name"])[0] == 0:
        tables[b"name"] = _short_names(tables[b"name"])
    for tag in _HINTING_TABLES:
        tables.pop(tag, None)
    tags = sorted(tables)
    power = 1 << (len(tags).bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, len(tags), 16 * power, power.bit_length() - 1, 16 * (len(tags) - power))
    directory, body = bytearray(), bytearray()
    offset = len(header) + 16 * len(tags)
    head_offset = 0
    for tag in tags:
        data = tables[tag]
        if tag == b"head":
            head_offset = offset + len(body)
        directory += struct.pack(">4sIII", tag, _sfnt_checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    result = bytearray(header + directory + body)
    struct.pack_into(">I", result, head_offset + 8, (0xB1B0AFBA - _sfnt_checksum(bytes(result))) & 0xFFFFFFFF)
    return bytes(result)


def _prepare_fonts(directory: Path) -> Path:
    """Copies of the vendored fonts without hinting (see above), in ``directory``; a font that
    cannot be read that way is copied as it is."""
    directory.mkdir()
    for source in sorted(FONTS_DIR.iterdir()):
        if source.suffix.lower() in (".ttf", ".otf"):
            font = source.read_bytes()
            with suppress(struct.error, IndexError, KeyError, ValueError):
                font = strip_hinting(font)
            (directory / source.name).write_bytes(font)
    return directory


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
    fonts: Path
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
            workspace = _workspace = _Workspace(
                pid=os.getpid(), directory=directory, fonts=_prepare_fonts(directory / "fonts")
            )
        return workspace


def _new_slot(workspace: _Workspace, template: str) -> _Slot:
    root = workspace.directory / f"compiler-{next(workspace.slots_made)}"
    shutil.copytree(TEMPLATES_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    # Every compiler gets the same template path and the same sys_inputs relative to its own
    # root, so all of them hit the same entries of Typst's (process-wide) caches.
    compiler = typst.Compiler(
        str(root / f"{template}.typ"),
        root=str(root),
        font_paths=[str(workspace.fonts)],
        ignore_system_fonts=True,
        sys_inputs={"data": f"/{_DATA_FILE}"},
    )
    return _Slot(compiler=compiler, data_file=root / _DATA_FILE)


def _write_data(path: Path, payload: bytes) -> None:
    """Write ``payload`` (JSON) over the data file without truncating it: spaces, which JSON
    ignores, fill up to the file's former size. Truncating a file on ext4 costs ten times more
    than the write itself (0.1 ms against 0.01 ms a receipt). A file left much longer than the
    payload by some exceptional one is truncated, so that Typst does not read spaces for ever."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size > len(payload) + _DATA_SLACK:
            os.ftruncate(fd, len(payload))
            size = len(payload)
        os.pwrite(fd, payload.ljust(size), 0)
    finally:
        os.close(fd)


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


def _prepared(text: str) -> str:
    """One string as a template may show it: line breaks as LF and no controls (core.text), and
    isolated when it has directional controls (core.bidi)."""
    return isolated(plain_text(text))


def _each_string(data: Any, change: Callable[[str], str]) -> Any:
    """``data`` with ``change`` applied to every string in it. Containers none of whose strings
    change are returned as they are, not copied."""
    if isinstance(data, str):
        return change(data)
    if isinstance(data, dict):
        items = {key: _each_string(value, change) for key, value in data.items()}
        return data if all(items[key] is value for key, value in data.items()) else items
    if isinstance(data, list | tuple):
        values = [_each_string(value, change) for value in data]
        return data if all(new is old for new, old in zip(values, data, strict=True)) else values
    return data


def isolated_strings(data: Any) -> Any:
    """``data`` with every string that has directional controls isolated (core.bidi.isolated):
    whatever a person typed, and a template shows, cannot reorder the text the template puts
    around it. Containers without such strings are returned as they are, not copied."""
    return _each_string(data, isolated)


# In the JSON text of a template's data: a CR, FF or backspace, another C0 control, DEL, a C1
# control, or a Unicode line or paragraph separator (JSON escapes the C0 controls but not the
# others). Seeing none means no string needs plain_text.
_NOT_PLAIN: Final = re.compile(r"\\[rfb]|\\u00[01]|[\x7f-\x9f\u2028\u2029]")


def _payload(template: str, data: dict[str, Any]) -> bytes:
    """The JSON a template reads: ``data`` with its text facts (``_TEXT_FACTS``), and its strings
    made plain (a browser's CR LF is one line break) and isolated when any has line breaks other
    than LF, controls or directional controls (checked on the JSON text: about 10 µs for a
    receipt, where walking every string would take 90)."""

    def dumped(data: dict[str, Any]) -> str:
        facts = _TEXT_FACTS.get(template)
        if facts is not None:
            data = {**data, "_text": facts(data)}
        return json.dumps(data, ensure_ascii=False, allow_nan=False)

    text = dumped(data)
    if has_directional_controls(text) or _NOT_PLAIN.search(text):
        text = dumped(_each_string(data, _prepared))
    return text.encode()


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
    payload = _payload(template, data)
    with _slot(template) as slot:
        _write_data(slot.data_file, payload)
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


def render_png(template: str, data: dict[str, Any], *, ppi: float = 300) -> bytes:
    """Render a one-page ``template`` with ``data`` as a PNG picture (``ppi`` pixels per inch).

    Same templates, data and errors as :func:`render_pdf`; a template of several pages is an
    error (only its first page would be drawn)."""
    payload = _payload(template, data)
    with _slot(template) as slot:
        _write_data(slot.data_file, payload)
        try:
            png = slot.compiler.compile(format="png", ppi=ppi)
        except typst.TypstError as exc:
            raise RenderError(f"{template}.typ: {exc.message}\n{exc.diagnostic}") from exc
    if isinstance(png, list):
        if len(png) != 1:
            raise RenderError(f"{template}.typ: {len(png)} pages where one picture was expected")
        png = png[0]
    if not isinstance(png, bytes):
        raise RenderError(f"{template}.typ: Typst returned {type(png).__name__}, not PNG bytes")
    return png


def png_block(png: bytes) -> BlockImage:
    """A PNG picture as a signature appearance's image: RGB on white, rows compressed once."""
    import zlib

    from PIL import Image

    with Image.open(io.BytesIO(png)) as picture:
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return BlockImage(width=flat.width, height=flat.height, data=zlib.compress(flat.tobytes(), 9))
