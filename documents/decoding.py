"""Reading untrusted files: the work that decodes what a sender sent, run in a reader process.

Everything here runs in a reader (:mod:`documents.reader`, started by :mod:`documents.sandbox`),
with a memory and a time limit for each file: a file that asks for more than that fails alone,
and a reader whose memory a file left larger makes way for a fresh one. So this module imports no Django (the reader has no settings, no database) and takes
its limits as arguments. A file is given as its bytes or as the path of a file holding them.

A refusal that names a limit or a reason is a :class:`documents.refusals.Refused` (its ``code``
picks the translated message the intake shows); anything else that goes wrong means the file is
damaged. Results are plain data (numbers, bytes, lists), so that the caller need not load this
module (and its decoders) to read them.
"""

from __future__ import annotations

import io
import itertools
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# Imported here, not in the functions, so that a reader (documents.reader) loads them once, when
# it starts, and reads every file with them.
import img2pdf
import pypdf
import pypdfium2
from PIL import Image, ImageSequence
from pypdf import filters as pdf_filters
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from documents.headers import picture_header
from documents.pdftext import page_text
from documents.refusals import Refused as Refusal

Source = bytes | str  # the file's bytes, or the path of a file holding them


def _read(source: Source) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _stream(source: Source) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes) else Path(source).open("rb")


# --- PDF -----------------------------------------------------------------------------------


# The end of each section of a PDF (the original, then each incremental update).
_SECTION_END = re.compile(rb"startxref\s+\d+\s*%%EOF")
# What a section after the first begins with: an object, a cross-reference table, a comment.
_SECTION_START = re.compile(rb"\s*(?:\d+\s+\d+\s+obj\b|xref\b|%)")
_TRAILING = b" \t\r\n\x00\x0c"
# Actions that run by themselves when the document is opened or touched.
_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch"})
_FLATE = frozenset({"/FlateDecode", "/Fl"})
# Filters decoded with pypdf's own functions (which cap their output) before counting.
_ASCII: dict[str, Callable[[bytes], bytes]] = {
    "/ASCIIHexDecode": pdf_filters.ASCIIHexDecode.decode,
    "/AHx": pdf_filters.ASCIIHexDecode.decode,
    "/ASCII85Decode": pdf_filters.ASCII85Decode.decode,
    "/A85": pdf_filters.ASCII85Decode.decode,
}
_SIMPLE: dict[str, Callable[[bytes], bytes]] = {
    "/LZWDecode": pdf_filters.LZWDecode.decode,
    "/LZW": pdf_filters.LZWDecode.decode,
    "/RunLengthDecode": pdf_filters.RunLengthDecode.decode,
    "/RL": pdf_filters.RunLengthDecode.decode,
}
INFLATE_STEP = 1 << 20


def pdf_inspect(source: Source, *, max_pages: int, max_pixels: int, max_inflated: int) -> int:
    """Open a PDF strictly enough to notice truncation and return its page count; refuse one with
    data after its end, a password, more than ``max_pages`` pages, active content (JavaScript,
    XFA forms, launch actions), files inside it, a picture of more than ``max_pixels`` pixels,
    or streams that inflate to more than ``max_inflated`` bytes together."""
    data = _read(source)
    _check_sections(data)
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    # Encrypted PDFs that open without a password (their permissions restrict printing or
    # copying) are read like any other; one that asks for a password cannot be read by the
    # administration and is refused.
    if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
        raise Refusal("pdf_password")
    # The page tree's own count first (a number read, nothing walked), then the real count,
    # walked no further than one page past the limit (the count may lie).
    tree = reader.root_object["/Pages"]
    node = tree.get_object()
    declared = node.get("/Count", 0) if isinstance(node, DictionaryObject) else 0
    if isinstance(declared, int) and declared > max_pages:
        raise Refusal("too_many_pages", {"limit": max_pages})
    pages = _count_pages(tree, limit=max_pages)
    if pages > max_pages:
        raise Refusal("too_many_pages", {"limit": max_pages})
    if pages < 1:
        raise ValueError("no pages")
    for obj in _objects(reader):
        for item in _direct_dictionaries(obj):
            _check_dictionary(item, max_pixels=max_pixels)
    _check_inflation(reader, max_inflated=max_inflated)
    return pages


def pdf_measure(source: Source, *, max_inflated: int) -> None:
    """Open a PDF and inflate its streams no further than ``max_inflated`` bytes together, with
    no other rule: a file that passes can be parsed by a verifier (pyHanko) without costing more
    than that. For PDFs only checked, never kept (the public verification of a receipt)."""
    reader = pypdf.PdfReader(io.BytesIO(_read(source)), strict=False)
    _check_inflation(reader, max_inflated=max_inflated)


def _count_pages(tree: Any, *, limit: int) -> int:
    """The leaves of a page tree, counted up to ``limit`` + 1; a tree that loops is damaged."""
    count, stack, seen = 0, [tree], set()
    while stack and count <= limit:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                raise ValueError("the page tree loops")
            seen.add((node.idnum, node.generation))
        node = node.get_object()
        if not isinstance(node, DictionaryObject):
            continue
        kids = node.get("/Kids")
        if kids is not None:
            stack.extend(reversed(list(kids.get_object())))
        elif node.get("/Type") != "/Pages":
            count += 1
    return count


def _check_inflation(reader: pypdf.PdfReader, *, max_inflated: int) -> None:
    """Refuse a PDF whose streams inflate past ``max_inflated`` bytes together, counted a step
    at a time (the memory of a step, whatever the stream)."""
    inflated = 0
    for obj in _objects(reader):
        if isinstance(obj, StreamObject):
            try:
                inflated += _inflated_size(obj, budget=max_inflated - inflated)
            except _OverBudget:
                raise Refusal("pdf_inflated", {"limit": max_inflated}) from None


class _OverBudget(Exception):
    pass


def _check_sections(data: bytes) -> None:
    """A PDF ends with ``startxref … %%EOF``; each incremental update after it starts with an
    object or a cross-reference table. Anything else after an end (a ZIP, a program) is data
    appended to the document."""
    ends = list(_SECTION_END.finditer(data))
    if not ends:
        raise ValueError("no end-of-file marker")
    if data[ends[-1].end() :].strip(_TRAILING):
        raise Refusal("pdf_appended_data")
    for end, following in itertools.pairwise(ends):
        if not _SECTION_START.match(data, end.end(), following.start()):
            raise Refusal("pdf_appended_data")


def _objects(reader: pypdf.PdfReader) -> Iterator[Any]:
    """Every object the cross-reference tables name (those in object streams too), read once."""
    numbers: set[tuple[int, int]] = {(number, 0) for number in reader.xref_objStm}
    for generation, table in reader.xref.items():
        numbers.update((number, generation) for number in table)
    for number, generation in sorted(numbers):
        try:
            obj = reader.get_object(IndirectObject(number, generation, reader))
        except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError):
            continue  # an unreadable object no reader can act on either
        if obj is not None:
            yield obj


def _direct_dictionaries(obj: Any) -> Iterator[DictionaryObject]:
    """``obj`` if it is a dictionary, and the dictionaries written inside it (not those it
    refers to: they are objects of their own, checked in their turn)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, DictionaryObject):
            yield item
            stack.extend(value for value in item.values() if not isinstance(value, IndirectObject))
        elif isinstance(item, ArrayObject):
            stack.extend(value for value in item if not isinstance(value, IndirectObject))


def _check_dictionary(item: DictionaryObject, *, max_pixels: int) -> None:
    kind = item.get("/S")
    # /JS: a script; /JavaScript: the document's scripts (a name tree); /XFA: a form that runs
    # its own scripts; /S /JavaScript or /S /Launch: an action running a script or a program.
    if "/JS" in item or "/JavaScript" in item or "/XFA" in item:
        raise Refusal("pdf_active_content")
    if isinstance(kind, NameObject) and kind in _ACTIVE_ACTIONS:
        raise Refusal("pdf_active_content")
    if "/EmbeddedFiles" in item or "/EF" in item or item.get("/Type") == "/EmbeddedFile":
        raise Refusal("pdf_embedded_files")
    if item.get("/Subtype") in ("/FileAttachment", "/RichMedia"):
        raise Refusal("pdf_embedded_files")
    if item.get("/Subtype") == "/Image":
        width, height = _number(item.get("/Width")), _number(item.get("/Height"))
        if width * height > max_pixels:
            raise Refusal("too_many_pixels", {"limit": max_pixels})


def _number(value: Any) -> int:
    value = value.get_object() if isinstance(value, IndirectObject) else value
    return value if isinstance(value, int) and value > 0 else 0


def _filters(stream: StreamObject) -> list[str]:
    filters = stream.get("/Filter")
    if isinstance(filters, IndirectObject):
        filters = filters.get_object()
    if isinstance(filters, NameObject):
        return [str(filters)]
    if isinstance(filters, ArrayObject):
        return [str(name.get_object()) for name in filters]
    return []


def _inflated_size(stream: StreamObject, *, budget: int) -> int:
    """How many bytes ``stream`` decodes to (pictures' own codecs aside: their pixels are
    limited instead), never holding more than a step of it; a Refusal past ``budget``."""
    filters = _filters(stream)
    data: bytes = stream._data
    if filters and filters[0] in _ASCII:
        data = _ASCII[filters[0]](data)  # shrinks: 2 or 5/4 characters a byte
        filters = filters[1:]
        if not filters:
            return len(data)
    if not filters:
        return 0
    if filters[0] in _FLATE:
        return _flate_size(data, budget=budget)
    if filters[0] in _SIMPLE:  # pypdf caps these itself; the child's memory limit backs it
        size = len(_SIMPLE[filters[0]](data))
        if size > budget:
            raise _OverBudget
        return size
    return 0


def _flate_size(data: bytes, *, budget: int) -> int:
    total = 0
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # zlib streams, then raw deflate as readers accept
        inflater = zlib.decompressobj(wbits)
        pending = data
        try:
            while True:
                out = inflater.decompress(pending, INFLATE_STEP)
                total += len(out)
                if total > budget:
                    raise _OverBudget
                pending = inflater.unconsumed_tail
                if not pending and len(out) < INFLATE_STEP:
                    return total
        except zlib.error:
            if total:
                return total  # a damaged stream: readers keep what inflated
            continue
    return total


# --- Pictures --------------------------------------------------------------------------------


def picture_inspect(source: Source, *, max_pixels: int, max_frames: int) -> int:
    """Decode a picture's first frame (truncated data shows there) and check every frame's
    size; return the number of frames. Its header was checked already (documents.headers)."""
    with _pixels_limited(max_pixels), _stream(source) as stream:
        with Image.open(stream) as image:
            image.verify()
        stream.seek(0)
        with Image.open(stream) as image:
            frames = int(getattr(image, "n_frames", 1))
            if frames > max_frames:
                raise Refusal("too_many_pages", {"limit": max_frames})
            for n in range(frames):
                image.seek(n)
                width, height = image.size
                if width * height > max_pixels:
                    raise Refusal("too_many_pixels", {"limit": max_pixels})
            image.seek(0)
            image.load()
    return frames


def pictures_to_pdf(sources: Sequence[Source], output: str | None = None, *, max_pixels: int) -> tuple[bytes, int]:
    """Pictures (JPEG, PNG, TIFF of one or more frames) as one PDF, a page a frame, in order;
    returns the PDF (written to ``output`` instead when given, b"" returned) and its page
    count. A JPEG that says its resolution goes in as it is; other pictures losslessly. A
    picture that says no resolution is taken at 300 dpi (a scanner's usual); transparency is
    flattened on white."""
    pages: list[bytes] = []
    with _pixels_limited(max_pixels):
        for source in sources:
            pages += _picture_pages(source, max_pixels=max_pixels)
    pdf = img2pdf.convert(pages)
    assert pdf is not None
    if output is not None:
        Path(output).write_bytes(pdf)
        return b"", len(pages)
    return bytes(pdf), len(pages)


@contextmanager
def _pixels_limited(max_pixels: int) -> Iterator[None]:
    """Pillow's own guard set to the limit (in this reader, for each file), its refusal ours."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        yield
    except Image.DecompressionBombError:
        raise Refusal("too_many_pixels", {"limit": max_pixels}) from None


def _picture_pages(source: Source, *, max_pixels: int) -> list[bytes]:
    """The pages one picture gives: its JPEG bytes as they are, or a PNG a frame."""
    data = _read(source)
    with Image.open(io.BytesIO(data)) as picture:
        frames = int(getattr(picture, "n_frames", 1))
        simple = frames == 1 and picture.format == "JPEG" and picture.mode in ("RGB", "L")
        if simple and picture.info.get("dpi"):
            return [data]  # a JPEG goes in as it is, without re-encoding
        pages: list[bytes] = []
        for frame in ImageSequence.Iterator(picture):
            if frame.size[0] * frame.size[1] > max_pixels:
                raise Refusal("too_many_pixels", {"limit": max_pixels})
            pages.append(_page_png(frame, picture.info.get("dpi")))
        return pages


def _page_png(frame: Image.Image, picture_dpi: Any) -> bytes:
    # Black and white and greyscale scans stay so (a third of the memory of colour, and of the
    # file); the rest becomes colour, transparency flattened on white.
    if frame.mode in ("1", "L", "RGB"):
        image = frame
    else:
        image = frame.convert("RGBA") if frame.mode in ("P", "LA", "RGBA", "PA") else frame.convert("RGB")
    if image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    dpi = frame.info.get("dpi") or picture_dpi or (300, 300)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=tuple(round(float(d)) for d in dpi))
    return out.getvalue()


# --- Text -------------------------------------------------------------------------------------

PDF = "application/pdf"


def page_texts(
    source: Source, content_type: str, *, max_pixels: int, max_pages: int, max_inflated: int
) -> tuple[list[str], bytes]:
    """Each page's own text in reading order (:mod:`documents.pdftext`: read from where PDFium
    says its glyphs are drawn), and the file as a PDF for OCR: b"" for a PDF (the caller has
    it), the pictures put into one for a picture.

    A file stored before the limits (or under larger ones) is held to them before its pages
    are read: more than ``max_pages`` pages would be recognised for days, and PDFium inflates
    a whole stream in memory (a PDF whose streams inflate past ``max_inflated`` is refused,
    counted a step at a time)."""
    if content_type == PDF:
        data = _read(source)
        document = pypdfium2.PdfDocument(data)  # opening reads the structure, not the pages
        try:
            if len(document) > max_pages:
                raise Refusal("too_many_pages", {"limit": max_pages})
            _check_inflation(pypdf.PdfReader(io.BytesIO(data), strict=False), max_inflated=max_inflated)
            return [page_text(document[n].get_textpage()) for n in range(len(document))], b""
        finally:
            document.close()
    with _stream(source) as stream:
        if picture_header(stream, content_type, max_frames=max_pages).frames > max_pages:
            raise Refusal("too_many_pages", {"limit": max_pages})
    pdf, count = pictures_to_pdf([source], max_pixels=max_pixels)
    return [""] * count, pdf
