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


SCANNED_LETTER = {
    "title_ar": "طلب شهادة السكنى",
    "body_ar": "السيد رئيس المجلس الجماعي، أتشرف بأن ألتمس منكم تسليمي شهادة السكنى قصد الإدلاء بها لدى "
    "المستشفى الإقليمي، وتقبلوا فائق التقدير والاحترام.",
    "title_fr": "Demande de certificat de résidence",
    "body_fr": "Monsieur le Président, j'ai l'honneur de solliciter la délivrance d'un certificat de résidence "
    "pour mon dossier de bourse. Veuillez agréer mes salutations distinguées.",
}


def scanned_letter(*, dpi: int = 300, **text: str) -> bytes:
    """A bilingual letter as a scanner gives it: rendered, then only its pixels kept, in an
    image-only PDF (no text to read without OCR). ``text`` replaces parts of SCANNED_LETTER."""
    from documents.rendering import render_png
    from documents.scans import images_to_pdf

    png = render_png("scan_sample", {**SCANNED_LETTER, **text}, ppi=dpi)
    return images_to_pdf([png])[0]
