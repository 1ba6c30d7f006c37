"""Make the PDF corpus of this folder again (see README.md): the same texts, each producer's way.

    .venv/bin/python search/tests/pdfs/make.py [NAME ...]

Needs what the suite does not: LibreOffice Writer (``soffice``), Chromium, OCRmyPDF with
Tesseract's Arabic and French data, DejaVu Sans. The files are committed; CI never runs this.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from search.tests.pdfs.texts import (  # noqa: E402
    ARABIC_BODY,
    ARABIC_TITLE,
    BILINGUAL_BODY,
    BILINGUAL_TITLE,
    CHROMIUM_HOSPITAL,
    CHROMIUM_REQUEST,
)

SAMPLES = Path("/work/shared/samples")
FONTS = ROOT / "documents" / "fonts"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ARABIC = (ARABIC_TITLE, *ARABIC_BODY)
BILINGUAL = (BILINGUAL_TITLE, *BILINGUAL_BODY)


def is_arabic(text: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in text)


def rtl_first(text: str) -> bool:
    """Whether a paragraph reads right to left: its first strong letter is Arabic."""
    for c in text:
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


# --- Typst (the project's renderer) ------------------------------------------------------------

TYPST = """
#let data = json(bytes(sys.inputs.data))
#set page(width: 148mm, height: auto, margin: 14mm)
#set text(font: ("Noto Sans", "Noto Naskh Arabic"), size: 11pt)
#set par(justify: true, leading: 0.8em)
#for (n, p) in data.paragraphs.enumerate() {
  let arabic = data.rtl.at(n)
  set text(dir: if arabic { rtl } else { ltr }, lang: if arabic { "ar" } else { "fr" })
  if n == 0 { align(if arabic { right } else { left }, strong(p)) } else { par(p) }
}
"""


def typst_pdf(paragraphs: tuple[str, ...], *, png_ppi: int = 0) -> bytes:
    import typst

    data = json.dumps({"paragraphs": paragraphs, "rtl": [rtl_first(p) for p in paragraphs]})
    with tempfile.TemporaryDirectory() as work:
        source = Path(work, "main.typ")
        source.write_text(TYPST)
        fonts = [str(FONTS)]
        if png_ppi:
            picture = typst.compile(
                str(source),
                font_paths=fonts,
                ignore_system_fonts=True,
                sys_inputs={"data": data},
                format="png",
                ppi=png_ppi,
            )
            return bytes(picture)
        return bytes(typst.compile(str(source), font_paths=fonts, ignore_system_fonts=True, sys_inputs={"data": data}))


# --- LibreOffice Writer --------------------------------------------------------------------------

FODT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:font-face-decls>
  <style:font-face style:name="Noto Sans" svg:font-family="'Noto Sans'"/>
  <style:font-face style:name="Amiri" svg:font-family="Amiri"/>
 </office:font-face-decls>
 <office:styles>
  <style:style style:name="Standard" style:family="paragraph">
   <style:text-properties style:font-name="Noto Sans" fo:font-size="11pt"
    style:font-name-complex="Amiri" style:font-size-complex="13pt" fo:language="fr" fo:country="FR"
    style:language-complex="ar" style:country-complex="MA"/>
  </style:style>
 </office:styles>
 <office:automatic-styles>
  <style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="148mm"
   fo:page-height="170mm" fo:margin-top="14mm" fo:margin-bottom="14mm" fo:margin-left="14mm"
   fo:margin-right="14mm"/></style:page-layout>
  <style:style style:name="R" style:family="paragraph" style:parent-style-name="Standard">
   <style:paragraph-properties fo:text-align="start" style:writing-mode="rl-tb" fo:margin-bottom="3mm"/>
  </style:style>
  <style:style style:name="L" style:family="paragraph" style:parent-style-name="Standard">
   <style:paragraph-properties fo:text-align="start" style:writing-mode="lr-tb" fo:margin-bottom="3mm"/>
  </style:style>
 </office:automatic-styles>
 <office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"/></office:master-styles>
 <office:body><office:text>
{paragraphs}
 </office:text></office:body>
</office:document>
"""


def libreoffice_pdf(paragraphs: tuple[str, ...]) -> bytes:
    body = "\n".join(
        f'<text:p text:style-name="{"R" if rtl_first(p) else "L"}">{xml_escape(p)}</text:p>' for p in paragraphs
    )
    with tempfile.TemporaryDirectory() as work:
        source = Path(work, "letter.fodt")
        source.write_text(FODT.replace("{paragraphs}", body), encoding="utf-8")
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{work}/profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                work,
                str(source),
            ],
            check=True,
            capture_output=True,
        )
        return Path(work, "letter.pdf").read_bytes()


# --- Chromium ("Save as PDF" from a browser) -----------------------------------------------------


def chromium_pdf(paragraphs: tuple[str, ...]) -> bytes:
    html = ['<html lang="ar"><head><meta charset="utf-8"></head><body style="font-family:sans-serif">']
    for n, p in enumerate(paragraphs):
        tag = "h2" if n == 0 else "p"
        html.append(f'<{tag} dir="{"rtl" if rtl_first(p) else "ltr"}">{escape(p)}</{tag}>')
    html.append("</body></html>")
    with tempfile.TemporaryDirectory() as work:
        page, out = Path(work, "letter.html"), Path(work, "letter.pdf")
        page.write_text("".join(html), encoding="utf-8")
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--user-data-dir={work}/profile",
                f"--print-to-pdf={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


# --- fpdf2, Arabic shaped by hand into presentation forms, written in visual order ---------------
# The classic way of programs that cannot shape Arabic (reportlab or fpdf with a "reshaper" and a
# bidi reordering before writing): each letter replaced by its joined form (U+FExx), each line
# reversed. The PDF then holds presentation forms, left to right.


def _forms() -> dict[str, dict[str, str]]:
    forms: dict[str, dict[str, str]] = {}
    for code in range(0xFE70, 0xFEFF):
        decomposition = unicodedata.decomposition(chr(code)).split()
        if len(decomposition) == 2 and decomposition[0] in ("<isolated>", "<final>", "<initial>", "<medial>"):
            base = chr(int(decomposition[1], 16))
            forms.setdefault(base, {})[decomposition[0][1:-1]] = chr(code)
    return forms


FORMS = _forms()
LAM_ALEF = {"ا": "\ufefb", "أ": "\ufef7", "إ": "\ufef9", "آ": "\ufef5"}


def presentation_forms(word: str) -> str:
    """``word`` (logical order) with each Arabic letter in its joined form."""

    def joins_left(c: str) -> bool:  # may join the letter after it
        return "initial" in FORMS.get(c, {})

    out: list[str] = []
    n = 0
    while n < len(word):
        c = word[n]
        previous = word[n - 1] if n else ""
        after = word[n + 1] if n + 1 < len(word) else ""
        joined_before = bool(previous) and joins_left(previous) and previous in FORMS and c in FORMS
        if c == "ل" and after in LAM_ALEF:
            ligature = LAM_ALEF[after]
            out.append(chr(ord(ligature) + 1) if joined_before else ligature)  # final form follows
            n += 2
            continue
        if c not in FORMS:
            out.append(c)
            n += 1
            continue
        joined_after = joins_left(c) and after in FORMS
        kind = {(False, False): "isolated", (True, False): "final", (False, True): "initial"}.get(
            (joined_before, joined_after), "medial"
        )
        out.append(FORMS[c].get(kind) or FORMS[c]["isolated"])
        n += 1
    return "".join(out)


def visual_line(words: list[str]) -> str:
    """A line of Arabic words (logical order) as a program without bidi writes it: left to right.
    Runs of Latin letters and digits keep their own order."""
    runs: list[str] = []
    for word in words:
        runs.append(word if not is_arabic(word) else presentation_forms(word)[::-1])
    return " ".join(reversed(runs))


def fpdf_visual_pdf(paragraphs: tuple[str, ...]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format=(148, 170))
    pdf.set_margins(14, 14, 14)
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(DEJAVU))
    pdf.set_font("DejaVu", size=11)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for paragraph in paragraphs:
        line: list[str] = []
        lines: list[list[str]] = []
        for word in paragraph.split():
            if line and pdf.get_string_width(visual_line([*line, word])) > width:
                lines.append(line)
                line = []
            line.append(word)
        lines.append(line)
        for words in lines:
            pdf.cell(width, 7, visual_line(words), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def fpdf_shaped_pdf(paragraphs: tuple[str, ...]) -> bytes:
    """fpdf2 with its HarfBuzz shaping and bidi: glyphs in visual order, a lam-alef drawn as two
    glyphs at one origin, each mapped to its letter."""
    from fpdf import FPDF

    pdf = FPDF(format=(148, 170))
    pdf.set_margins(14, 14, 14)
    pdf.add_page()
    pdf.add_font("Naskh", fname=str(FONTS / "NotoNaskhArabic-Regular.ttf"))
    pdf.add_font("Sans", fname=str(FONTS / "NotoSans-Regular.ttf"))
    pdf.set_font("Naskh", size=11)
    pdf.set_fallback_fonts(["Sans"])
    for paragraph in paragraphs:
        rtl = rtl_first(paragraph)
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
        pdf.multi_cell(0, 7, paragraph, align="R" if rtl else "L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())


# --- A scan, recognised by OCRmyPDF (Tesseract, Arabic and French) ------------------------------


def ocr_pdf(paragraphs: tuple[str, ...]) -> tuple[bytes, str]:
    """The Typst page as 300 dpi black and white pixels, then OCRmyPDF: the PDF with its text
    layer, and the sidecar text Tesseract recognised (what the layer holds, in reading order)."""
    import img2pdf
    from PIL import Image

    png = typst_pdf(paragraphs, png_ppi=300)
    with tempfile.TemporaryDirectory() as work:
        image = Path(work, "scan.png")
        Image.open(__import__("io").BytesIO(png)).convert("L").point(lambda v: 255 if v > 150 else 0).convert("1").save(
            image, dpi=(300, 300)
        )
        scan, out, sidecar = Path(work, "scan.pdf"), Path(work, "ocr.pdf"), Path(work, "ocr.txt")
        scan.write_bytes(img2pdf.convert(str(image)))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ocrmypdf",
                "-l",
                "ara+fra",
                "--output-type",
                "pdf",
                "--sidecar",
                str(sidecar),
                "--quiet",
                str(scan),
                str(out),
            ],
            check=True,
        )
        return out.read_bytes(), sidecar.read_text(encoding="utf-8")


def _words(text: str) -> list[str]:
    from search.text import _WORD, clean

    return _WORD.findall(clean(text.replace("\u00ad", "")))


def main(names: list[str]) -> None:
    makers: dict[str, tuple[str, tuple[str, ...], Callable[[tuple[str, ...]], bytes]]] = {
        "typst-arabic": ("Typst 0.15 (typst-py), Noto Naskh Arabic", ARABIC, typst_pdf),
        "typst-bilingual": ("Typst 0.15 (typst-py), Noto Sans + Noto Naskh Arabic", BILINGUAL, typst_pdf),
        "libreoffice-arabic": ("LibreOffice Writer (flat ODT, RTL paragraphs), Amiri", ARABIC, libreoffice_pdf),
        "libreoffice-bilingual": ("LibreOffice Writer, Noto Sans + Amiri", BILINGUAL, libreoffice_pdf),
        "chromium-bilingual": ("Chromium headless --print-to-pdf (Skia/PDF)", BILINGUAL, chromium_pdf),
        "fpdf2-visual-arabic": ("fpdf2, presentation forms in visual order, DejaVu Sans", ARABIC, fpdf_visual_pdf),
        "fpdf2-shaped-bilingual": (
            "fpdf2 with HarfBuzz shaping, Noto Naskh Arabic + Noto Sans",
            BILINGUAL,
            fpdf_shaped_pdf,
        ),
    }
    corpus_file = HERE / "corpus.json"
    corpus = json.loads(corpus_file.read_text(encoding="utf-8")) if corpus_file.exists() else {}
    for name, (producer, paragraphs, make) in makers.items():
        if names and name not in names:
            continue
        (HERE / f"{name}.pdf").write_bytes(make(paragraphs))
        corpus[f"{name}.pdf"] = {"producer": producer, "text": list(paragraphs)}
        print(name)
    if not names or "ocr-bilingual" in names:
        pdf, recognised = ocr_pdf(BILINGUAL)
        (HERE / "ocr-bilingual.pdf").write_bytes(pdf)
        # The words Tesseract did not read right cannot be found; the test leaves them out.
        read = set(_words(recognised))
        corpus["ocr-bilingual.pdf"] = {
            "producer": "Typst page at 300 dpi, black and white, then OCRmyPDF 17 (Tesseract ara+fra)",
            "text": list(BILINGUAL),
            "misread": sorted({word for word in _words(" ".join(BILINGUAL)) if word not in read}),
        }
        print("ocr-bilingual")
    for name, sample, paragraphs in (
        ("chromium-request", "arabic-printed-by-chromium.pdf", CHROMIUM_REQUEST),
        ("chromium-hospital", "arabic-printed-by-chromium-2.pdf", CHROMIUM_HOSPITAL),
    ):
        if (not names or name in names) and (SAMPLES / sample).exists():
            shutil.copyfile(SAMPLES / sample, HERE / f"{name}.pdf")
            corpus[f"{name}.pdf"] = {"producer": f"Chromium (Skia/PDF m156): the sample {sample}", "text": paragraphs}
    corpus_file.write_text(json.dumps(corpus, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
