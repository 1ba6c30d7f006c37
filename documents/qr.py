"""QR codes for documents, as SVG text that Typst templates embed from memory."""

from __future__ import annotations

import io

import segno

# ISO/IEC 18004 asks for a quiet zone of four modules around the symbol. Templates place the
# image as is, so the quiet zone is part of the SVG rather than left to the page layout.
QUIET_ZONE_MODULES = 4
# Any of the eight data masks makes a valid symbol; choosing the best one means scoring all
# eight, which is most of segno's time (≈ 4 of 5 ms per code). Mask 0, the checkerboard
# (i + j) mod 2, spreads dark and light modules evenly and decodes as reliably here.
MASK = 0


def qr_svg(url: str) -> str:
    """Return a standalone SVG document encoding ``url`` as a QR code.

    Error correction level M (15 % recoverable) survives printing, folding and a phone camera
    at an angle while keeping the symbol small. The SVG has no XML declaration, no CSS classes
    and one ``path`` element; its user units are modules, so it scales to any size.
    """
    symbol = segno.make(url, error="m", mask=MASK)
    out = io.BytesIO()
    symbol.save(
        out,
        kind="svg",
        border=QUIET_ZONE_MODULES,
        xmldecl=False,
        svgns=True,
        svgclass=None,
        lineclass=None,
        nl=False,
    )
    return out.getvalue().decode("ascii")


def receipt_qr(url: str) -> dict[str, str]:
    """The QR code fields of a receipt's data (documents/typst/receipt.typ)."""
    return {"qr_svg": qr_svg(url)}
