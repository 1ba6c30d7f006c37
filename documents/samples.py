"""Small, real sample files for tests, the demo and benchmarks."""

from __future__ import annotations

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
