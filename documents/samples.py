"""Small, real sample files for tests, the demo and benchmarks."""

from __future__ import annotations

import functools
import io


def pdf_bytes(*, pages: int = 1, pad_to: int = 0, text: str = "Wasl") -> bytes:
    """A valid PDF with ``pages`` blank pages, padded (inside a stream) to about ``pad_to`` bytes."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if pad_to:
        filler = DecodedStreamObject()
        filler.set_data(("% " + text + " ").encode() * (pad_to // (len(text) + 3) + 1))
        writer._root_object[NameObject("/WaslPadding")] = writer._add_object(filler)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(fmt: str = "PNG", *, frames: int = 1, size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    images = [Image.new("RGB", size, (30 * i % 255, 120, 200)) for i in range(frames)]
    out = io.BytesIO()
    if frames > 1:
        images[0].save(out, format=fmt, save_all=True, append_images=images[1:])
    else:
        images[0].save(out, format=fmt)
    return out.getvalue()


SCANNED_LETTER = {
    "title_ar": "طلب شهادة السكنى",
    "body_ar": "السيد رئيس المجلس الجماعي، أتشرف بأن ألتمس منكم تسليمي شهادة السكنى قصد الإدلاء بها لدى "
    "المستشفى الإقليمي، وتقبلوا فائق التقدير والاحترام.",
    "title_fr": "Demande de certificat de résidence",
    "body_fr": "Monsieur le Président, j'ai l'honneur de solliciter la délivrance d'un certificat de résidence "
    "pour mon dossier de bourse. Veuillez agréer mes salutations distinguées.",
}


@functools.lru_cache(maxsize=8)  # made again and again by the tests: the bytes never change
def scanned_letter(*, dpi: int = 300, **text: str) -> bytes:
    """A bilingual letter as a scanner gives it: rendered, then only its pixels kept, in an
    image-only PDF (no text to read without OCR). ``text`` replaces parts of SCANNED_LETTER."""
    from documents.decoding import pictures_to_pdf
    from documents.rendering import render_png

    png = render_png("scan_sample", {**SCANNED_LETTER, **text}, ppi=dpi)
    return pictures_to_pdf([png], max_pixels=1 << 30)[0]  # our own picture: decoded here


# Hostile files: small files that cost a great deal to decode (tests and bench/uploads.py).


@functools.lru_cache(maxsize=8)  # made again and again by the tests: the bytes never change
def png_of_pixels(width: int, height: int, *, bits: int = 8) -> bytes:
    """A white greyscale PNG of ``width`` × ``height`` pixels (``bits`` a pixel: 8, or 1 for
    black and white, which decodes to a byte a pixel all the same): a few hundred KB for 150 Mpx,
    compressed a row block at a time so that making it never holds the pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width * bits + 7) // 8)  # filter byte "none", then the row's pixels
    rows_per_block = max(1, (1 << 20) // len(row))
    block = row * rows_per_block
    parts: list[bytes] = []
    for start in range(0, height, rows_per_block):
        count = min(rows_per_block, height - start)
        parts.append(compressor.compress(block if count == rows_per_block else row * count))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bits, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


@functools.lru_cache(maxsize=8)  # made again and again by the tests: the bytes never change
def tiff_of_frames(frames: int, *, size: tuple[int, int] = (8, 8)) -> bytes:
    """A TIFF of ``frames`` small white greyscale pictures, written field by field (Pillow
    takes minutes to write tens of thousands of frames)."""
    import struct

    width, height = size
    pixels = b"\xff" * (width * height)
    entries = 8
    ifd_size = 2 + entries * 12 + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for n in range(frames):
        start = len(out)
        data_at = start + ifd_size
        following = 0 if n == frames - 1 else data_at + len(pixels)
        fields = [
            (256, 4, width),  # ImageWidth
            (257, 4, height),  # ImageLength
            (258, 3, 8),  # BitsPerSample
            (259, 3, 1),  # Compression: none
            (262, 3, 1),  # PhotometricInterpretation: black is zero
            (273, 4, data_at),  # StripOffsets
            (278, 4, height),  # RowsPerStrip
            (279, 4, len(pixels)),  # StripByteCounts
        ]
        out += struct.pack("<H", entries)
        for tag, kind, value in fields:
            out += (
                struct.pack("<HHII", tag, kind, 1, value)
                if kind == 4
                else struct.pack("<HHIHH", tag, kind, 1, value, 0)
            )
        out += struct.pack("<I", following)
        out += pixels
    return bytes(out)


def raw_pdf(objects: list[bytes], *, trailer_extra: bytes = b"") -> bytes:
    """A PDF of ``objects`` (the bodies of objects 1, 2, …; object 1 is the catalogue) with its
    cross-reference table, as a PDF writer lays it out."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


@functools.lru_cache(maxsize=8)  # made again and again by the tests: the bytes never change
def pdf_of_pages(pages: int) -> bytes:
    """A PDF of ``pages`` empty pages in one flat page tree: about 60 bytes a page."""
    first_page = 3
    kids = b" ".join(b"%d 0 R" % (first_page + n) for n in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, kids)]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * pages
    return raw_pdf(objects)


@functools.lru_cache(maxsize=8)  # made again and again by the tests: the bytes never change
def pdf_inflating_to(size: int) -> bytes:
    """A one-page PDF whose content stream (FlateDecode) inflates to ``size`` bytes of spaces:
    about 1 MB for 1 GiB, compressed a block at a time."""
    import zlib

    compressor = zlib.compressobj(9)
    block = b" " * (1 << 20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts += [compressor.compress(b" " * (size % len(block))), compressor.flush()]
    stream = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return raw_pdf(objects)


def pdf_with_javascript() -> bytes:
    """A one-page PDF that runs a script when opened."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            b"<< /Type /Action /S /JavaScript /JS (app.alert\\('Wasl'\\);) >>",
        ]
    )


def pdf_with_embedded_file() -> bytes:
    """A one-page PDF carrying another file inside it."""
    payload = b"MZ not really a program"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(tool.exe) 4 0 R] >> >> >>",
            b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
            b"<< /Type /Filespec /F (tool.exe) /EF << /F 5 0 R >> >>",
            b"<< /Type /EmbeddedFile /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream",
        ]
    )


def zip_bytes() -> bytes:
    """A small ZIP archive (what gets appended to a PDF to smuggle it through)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "appended to a PDF")
    return out.getvalue()
