# pyHanko's PDF object classes carry no type annotations.
# mypy: disable-error-code="no-untyped-call"
"""Add a signature to a PDF as one incremental update, written directly: invisible (seals), or
visible with a drawn block (:class:`Appearance`, the parapheur's signatures).

pyHanko's incremental writer works, but for a one-page receipt it spends ~2.5 ms rewriting
metadata (XMP, /Info) and going through generic object machinery. Sealing only needs a handful
of objects appended after the original bytes, which are never touched:

* the signature dictionary, with a fixed-width /ByteRange and a zero-filled /Contents hole;
* the signature field, merged with its widget annotation: invisible (Rect 0 0 0 0) on the first
  page, or a box on the chosen page whose appearance stream draws a picture (an image XObject,
  drawn once per signer) and lines of text in Helvetica;
* the catalog (to point to the form and declare the PAdES extension), the /AcroForm (with
  SigFlags 3) and the first page (whose /Annots gets the widget), or the arrays holding those
  lists when they are indirect objects;
* a cross-reference section of the same kind as the original's (table or stream) whose /Prev
  chains to it.

pyHanko's reader is still used to parse the original: it is lazy (it reads the cross-reference
data and only the few objects we touch) and robust against the usual malformations.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

from pyhanko.pdf_utils.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import XRefSectionType

SUBFILTER_PADES = "/ETSI.CAdES.detached"
_BYTE_RANGE_SLOT = b"0000000000 0000000000 0000000000"  # overwritten once offsets are known
_MAX_PAGE_TREE_DEPTH = 64


POINTS_PER_MM = 72 / 25.4


class UnsupportedPdf(ValueError):
    """The input cannot be sealed (unreadable, encrypted, or without a usable page tree)."""


@dataclass(frozen=True)
class BlockImage:
    """A picture drawn once and placed in many signatures: RGB, 8 bits, zlib-compressed rows."""

    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Appearance:
    """A visible signature: a box on a page showing a picture (the signer's block, names and
    titles already laid out) and lines of plain ASCII text under it (the date and time).

    ``page`` counts from 0; negative values count from the end (-1: the last page). ``x`` and
    ``y`` place the box's bottom-left corner, in points from the page's bottom-left corner;
    ``width`` is the box's width, its height follows from the picture and the lines.
    """

    page: int
    x: float
    y: float
    width: float
    image: BlockImage
    lines: tuple[str, ...] = ()
    font_size: float = 7.0


@dataclass
class PreparedSignature:
    """The signed file with a hole for the CMS; :meth:`digest` is what the CMS must sign."""

    buffer: bytearray
    contents_start: int  # offset of the "<" opening the /Contents hex string
    contents_end: int  # offset just after its ">"

    @property
    def reserved(self) -> int:
        """Bytes of CMS the hole can take."""
        return (self.contents_end - self.contents_start - 2) // 2

    def digest(self) -> bytes:
        view = memoryview(self.buffer)
        sha = hashlib.sha256(view[: self.contents_start])
        sha.update(view[self.contents_end :])
        return sha.digest()

    def finish(self, cms: bytes) -> bytes:
        if len(cms) > self.reserved:
            raise ValueError(f"CMS of {len(cms)} bytes does not fit in the {self.reserved} reserved")
        encoded = cms.hex().encode("ascii")
        start = self.contents_start + 1
        self.buffer[start : start + len(encoded)] = encoded
        return bytes(self.buffer)


def _serialize(obj: PdfObject) -> bytes:
    out = BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def _ref(idnum: int, generation: int = 0) -> IndirectObject:
    # Only ever written out, never dereferenced, so it needs no reader.
    return IndirectObject(idnum, generation, None)


def _pdf_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")


def _first_page(root: DictionaryObject) -> tuple[IndirectObject, DictionaryObject]:
    node_ref = root.raw_get("/Pages")
    for _ in range(_MAX_PAGE_TREE_DEPTH):
        if not isinstance(node_ref, IndirectObject):
            break
        node = node_ref.get_object()
        if not isinstance(node, DictionaryObject):
            break
        if "/Kids" not in node:
            return node_ref, node
        kids = node["/Kids"]
        if not isinstance(kids, ArrayObject) or not kids:
            break
        node_ref = kids.raw_get(0)
    raise UnsupportedPdf("no usable page tree")


def _page_at(root: DictionaryObject, index: int) -> tuple[IndirectObject, DictionaryObject]:
    """Page ``index`` (negative: from the end) of the document's page tree."""
    node_ref = root.raw_get("/Pages")
    node = node_ref.get_object() if isinstance(node_ref, IndirectObject) else None
    if not isinstance(node, DictionaryObject):
        raise UnsupportedPdf("no usable page tree")
    total = int(node.get("/Count", 0))
    if index < 0:
        index += total
    if not 0 <= index < total:
        raise UnsupportedPdf(f"the document has no page {index + 1}")
    for _ in range(_MAX_PAGE_TREE_DEPTH):
        if "/Kids" not in node:
            return node_ref, node
        for kid_ref in node["/Kids"]:
            kid_ref = kid_ref if isinstance(kid_ref, IndirectObject) else None
            kid = kid_ref.get_object() if kid_ref is not None else None
            if kid_ref is None or not isinstance(kid, DictionaryObject):
                raise UnsupportedPdf("no usable page tree")
            size = int(kid.get("/Count", 1)) if "/Kids" in kid else 1
            if index < size:
                node_ref, node = kid_ref, kid
                break
            index -= size
        else:
            raise UnsupportedPdf("no usable page tree")
    raise UnsupportedPdf("no usable page tree")


def page_size(pdf: bytes, index: int) -> tuple[float, float, float, float]:
    """The media box (x0, y0, x1, y1) of page ``index``, inherited from its parents if need be."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        _, page = _page_at(reader.root, index)
        node: PdfObject | None = page
        for _ in range(_MAX_PAGE_TREE_DEPTH):
            if not isinstance(node, DictionaryObject):
                break
            if "/MediaBox" in node:
                box = [float(v) for v in node["/MediaBox"]]
                return box[0], box[1], box[2], box[3]
            node = node.get("/Parent")
    except UnsupportedPdf:
        raise
    except Exception as exc:
        raise UnsupportedPdf(f"unreadable PDF: {exc}") from exc
    raise UnsupportedPdf("a page without a media box")


def _pdf_text(text: str) -> bytes:
    """A PDF literal string of printable ASCII (the only text the appearance writes itself)."""
    plain = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return b"(" + plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("ascii") + b")"


def _appearance_objects(update: _Update, appearance: Appearance) -> tuple[IndirectObject, list[float]]:
    """The appearance stream (a form XObject drawing the picture and the lines) and the box."""
    image = appearance.image
    width = appearance.width
    picture_height = width * image.height / image.width
    leading = appearance.font_size * 1.25
    height = picture_height + leading * len(appearance.lines) + (2 if appearance.lines else 0)
    image_ref, font_ref, form_ref = update.allocate(), update.allocate(), update.allocate()
    update.put(
        image_ref,
        StreamObject(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(image.width),
                NameObject("/Height"): NumberObject(image.height),
                NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
                NameObject("/BitsPerComponent"): NumberObject(8),
                NameObject("/Filter"): NameObject("/FlateDecode"),
            },
            encoded_data=image.data,
        ),
    )
    update.put(
        font_ref,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        ),
    )
    ops = [b"q %.2f 0 0 %.2f 0 %.2f cm /Im0 Do Q" % (width, picture_height, height - picture_height)]
    if appearance.lines:
        ops.append(b"BT /Helv %.1f Tf 0 g" % appearance.font_size)
        y = height - picture_height - leading
        for line in appearance.lines:
            ops.append(b"1 0 0 1 2 %.2f Tm %s Tj" % (y + 2, _pdf_text(line)))
            y -= leading
        ops.append(b"ET")
    update.put(
        form_ref,
        StreamObject(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): ArrayObject(
                    [FloatObject(0), FloatObject(0), FloatObject(width), FloatObject(height)]
                ),
                NameObject("/Resources"): DictionaryObject(
                    {
                        NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): image_ref}),
                        NameObject("/Font"): DictionaryObject({NameObject("/Helv"): font_ref}),
                    }
                ),
            },
            stream_data=b"\n".join(ops),
        ),
    )
    x, y = appearance.x, appearance.y
    return form_ref, [x, y, x + width, y + height]


class _Update:
    """The objects of one incremental update, keyed by (number, generation)."""

    def __init__(self, reader: PdfFileReader) -> None:
        self.next_number = int(reader.trailer["/Size"])
        self.objects: dict[tuple[int, int], PdfObject] = {}

    def allocate(self) -> IndirectObject:
        ref = _ref(self.next_number)
        self.next_number += 1
        return ref

    def put(self, ref: IndirectObject, obj: PdfObject) -> None:
        self.objects[(ref.idnum, ref.generation)] = obj

    def append_to_array(
        self, target: DictionaryObject, key: str, item: PdfObject, *, home: tuple[IndirectObject, PdfObject]
    ) -> None:
        """Append to ``target[key]``; ``home`` is the indirect object that contains ``target``.

        The rewritten object is the array itself when it is indirect, else the home object.
        """
        raw = target.raw_get(key) if key in target else None
        if raw is None:
            target[key] = ArrayObject([item])
        elif isinstance(raw.get_object(), ArrayObject):
            raw.get_object().append(item)
            if isinstance(raw, IndirectObject):
                self.put(raw, raw.get_object())
                return
        else:
            raise UnsupportedPdf(f"{key} is not an array")
        self.put(*home)


def _unique_field_name(form: DictionaryObject, wanted: str) -> str:
    taken: set[str] = set()
    fields = form.raw_get("/Fields").get_object() if "/Fields" in form else None
    for raw in fields if isinstance(fields, ArrayObject) else []:
        field = raw.get_object()
        if isinstance(field, DictionaryObject) and "/T" in field:
            taken.add(str(field["/T"]))
    name, counter = wanted, 1
    while name in taken:
        counter += 1
        name = f"{wanted}{counter}"
    return name


def prepare_signature(
    pdf: bytes,
    *,
    reserved: int,
    signing_time: datetime,
    reason: str = "",
    location: str = "",
    field_name: str = "Seal",
    appearance: Appearance | None = None,
    anchor: str = "",
) -> PreparedSignature:
    """Append an empty PAdES signature with room for ``reserved`` bytes of CMS; visible when
    ``appearance`` is given, else an invisible widget on the first page. ``anchor`` (what the
    document states about its register log, :mod:`registry.anchors`) is kept in the signature
    dictionary under ``/WaslAnchor``, inside the signed byte range."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        if reader.encrypted:
            raise UnsupportedPdf("encrypted PDFs are not sealed")
        root_ref = reader.trailer.raw_get("/Root")
        root = root_ref.get_object()
        if not isinstance(root_ref, IndirectObject) or not isinstance(root, DictionaryObject):
            raise UnsupportedPdf("no document catalog")
        page_ref, page = _first_page(root) if appearance is None else _page_at(root, appearance.page)
        update = _Update(reader)
        sig_ref, field_ref = update.allocate(), update.allocate()

        # The form: reuse the document's, or create one as an indirect object.
        form_home: tuple[IndirectObject, PdfObject]
        if "/AcroForm" in root:
            form_raw = root.raw_get("/AcroForm")
            form = form_raw.get_object()
            if not isinstance(form, DictionaryObject):
                raise UnsupportedPdf("/AcroForm is not a dictionary")
            form_home = (form_raw, form) if isinstance(form_raw, IndirectObject) else (root_ref, root)
        else:
            form = DictionaryObject()
            form_home = (update.allocate(), form)
            root["/AcroForm"] = form_home[0]
        field_name = _unique_field_name(form, field_name)
        update.append_to_array(form, "/Fields", field_ref, home=form_home)
        form["/SigFlags"] = NumberObject(3)  # SignaturesExist | AppendOnly: save incrementally
        update.put(*form_home)
        update.append_to_array(page, "/Annots", field_ref, home=(page_ref, page))

        # ETSI's developer extension, which ISO 32000-1 readers expect for ETSI.CAdES.detached.
        extensions = root.get("/Extensions", DictionaryObject())
        inline = "/Extensions" not in root or not isinstance(root.raw_get("/Extensions"), IndirectObject)
        if reader.input_version < (2, 0) and inline and isinstance(extensions, DictionaryObject):
            extensions.setdefault(
                NameObject("/ESIC"),
                DictionaryObject(
                    {NameObject("/BaseVersion"): NameObject("/1.7"), NameObject("/ExtensionLevel"): NumberObject(2)}
                ),
            )
            root["/Extensions"] = extensions
        update.put(root_ref, root)

        update.put(
            field_ref,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Annot"),
                    NameObject("/Subtype"): NameObject("/Widget"),
                    NameObject("/FT"): NameObject("/Sig"),
                    NameObject("/T"): TextStringObject(field_name),
                    NameObject("/F"): NumberObject(132),  # Print | Locked
                    NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
                    NameObject("/P"): page_ref,
                    NameObject("/V"): sig_ref,
                }
            ),
        )
        if appearance is not None:
            widget = update.objects[(field_ref.idnum, field_ref.generation)]
            assert isinstance(widget, DictionaryObject)
            form_ref, rect = _appearance_objects(update, appearance)
            widget[NameObject("/Rect")] = ArrayObject([FloatObject(round(v, 2)) for v in rect])
            widget[NameObject("/AP")] = DictionaryObject({NameObject("/N"): form_ref})
        sig = _signature_dictionary(signing_time, reason, location)
        if anchor:
            sig[NameObject(ANCHOR_KEY)] = TextStringObject(anchor)
        return _write(reader, pdf, update, sig_ref, sig, reserved)
    except UnsupportedPdf:
        raise
    except Exception as exc:  # pyHanko raises many types on malformed input
        raise UnsupportedPdf(f"unreadable PDF: {exc}") from exc


# A key of our own in the signature dictionary (validators ignore keys they do not know): the
# register-log anchor of a sealed receipt or letter, covered by the signature like /Reason.
ANCHOR_KEY = "/WaslAnchor"


def _signature_dictionary(signing_time: datetime, reason: str, location: str) -> DictionaryObject:
    sig = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Sig"),
            NameObject("/Filter"): NameObject("/Adobe.PPKLite"),
            NameObject("/SubFilter"): NameObject(SUBFILTER_PADES),
            # PAdES puts the claimed signing time here rather than in a CMS attribute.
            NameObject("/M"): TextStringObject(_pdf_date(signing_time)),
        }
    )
    if reason:
        sig[NameObject("/Reason")] = TextStringObject(reason)
    if location:
        sig[NameObject("/Location")] = TextStringObject(location)
    return sig


def _write(
    reader: PdfFileReader,
    pdf: bytes,
    update: _Update,
    sig_ref: IndirectObject,
    sig: DictionaryObject,
    reserved: int,
) -> PreparedSignature:
    last_revision = reader.xrefs.total_revisions - 1
    xref_info = reader.xrefs.get_xref_container_info(last_revision)
    use_stream = xref_info.xref_section_type == XRefSectionType.STREAM
    xref_stream_ref = update.allocate() if use_stream else None

    buffer = bytearray(pdf)
    if not pdf.endswith((b"\n", b"\r")):
        buffer += b"\n"
    offsets: dict[tuple[int, int], int] = {}

    # The signature dictionary comes first so its placeholders sit at known offsets.
    offsets[(sig_ref.idnum, 0)] = len(buffer)
    buffer += b"%d 0 obj\n" % sig_ref.idnum + _serialize(sig)[:-2]
    buffer += b"/ByteRange [0 "
    byte_range_at = len(buffer)
    buffer += _BYTE_RANGE_SLOT + b"]\n/Contents "
    contents_start = len(buffer)
    buffer += b"<" + b"0" * (2 * reserved) + b">"
    contents_end = len(buffer)
    buffer += b"\n>>\nendobj\n"

    for (number, generation), obj in sorted(update.objects.items()):
        offsets[(number, generation)] = len(buffer)
        buffer += b"%d %d obj\n" % (number, generation) + _serialize(obj) + b"\nendobj\n"

    trailer = reader.trailer_view
    for key in ("/Prev", "/XRefStm", "/Encrypt"):
        trailer.pop(key, None)
    try:
        # Keep the permanent identifier; the second one changes with every revision.
        first_id = reader.document_id[0]
    except (KeyError, IndexError, AttributeError, TypeError):
        first_id = secrets.token_bytes(16)
    trailer[NameObject("/ID")] = ArrayObject([ByteStringObject(first_id), ByteStringObject(secrets.token_bytes(16))])
    trailer[NameObject("/Size")] = NumberObject(update.next_number)
    trailer[NameObject("/Prev")] = NumberObject(reader.last_startxref)

    xref_at = len(buffer)
    if xref_stream_ref is None:
        buffer += _xref_table(offsets) + b"trailer\n" + _serialize(trailer) + b"\n"
    else:
        offsets[(xref_stream_ref.idnum, 0)] = xref_at
        buffer += _xref_stream(xref_stream_ref.idnum, offsets, trailer)
    buffer += b"startxref\n%d\n%%%%EOF\n" % xref_at

    byte_range = f"{contents_start} {contents_end} {len(buffer) - contents_end}".encode("ascii")
    buffer[byte_range_at : byte_range_at + len(_BYTE_RANGE_SLOT)] = byte_range.ljust(len(_BYTE_RANGE_SLOT))
    return PreparedSignature(buffer=buffer, contents_start=contents_start, contents_end=contents_end)


def _runs(numbers: list[int]) -> list[list[int]]:
    """Split sorted object numbers into runs of consecutive numbers (xref subsections)."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] + 1 == number:
            runs[-1].append(number)
        else:
            runs.append([number])
    return runs


def _xref_table(offsets: dict[tuple[int, int], int]) -> bytes:
    by_number = {number: (offset, generation) for (number, generation), offset in offsets.items()}
    lines = [b"xref\n0 1\n0000000000 65535 f \n"]
    for run in _runs(sorted(by_number)):
        lines.append(b"%d %d\n" % (run[0], len(run)))
        lines.extend(b"%010d %05d n \n" % by_number[number] for number in run)
    return b"".join(lines)


def _xref_stream(number: int, offsets: dict[tuple[int, int], int], trailer: DictionaryObject) -> bytes:
    by_number = {n: (offset, generation) for (n, generation), offset in offsets.items()}
    width = max(4, (max(o for o, _ in by_number.values()).bit_length() + 7) // 8)
    index: list[int] = [0, 1]
    rows = [b"\x00" + b"\x00" * width + b"\xff\xff"]
    for run in _runs(sorted(by_number)):
        index += [run[0], len(run)]
        rows.extend(b"\x01" + by_number[n][0].to_bytes(width, "big") + by_number[n][1].to_bytes(2, "big") for n in run)
    data = b"".join(rows)
    stream_dict = DictionaryObject(trailer)
    stream_dict.update(
        {
            NameObject("/Type"): NameObject("/XRef"),
            NameObject("/W"): ArrayObject([NumberObject(1), NumberObject(width), NumberObject(2)]),
            NameObject("/Index"): ArrayObject([NumberObject(i) for i in index]),
            NameObject("/Length"): NumberObject(len(data)),
        }
    )
    return b"%d 0 obj\n" % number + _serialize(stream_dict) + b"\nstream\n" + data + b"\nendstream\nendobj\n"
