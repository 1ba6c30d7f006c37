"""Reading born-digital PDFs: word order and speed of the candidates, on real files.

    python -m bench.pdftext [--pages N] [--json OUT] [--report docs/benchmarks.md] [--from OUT]

Files: the corpus of ``search/tests/pdfs/`` (Arabic and bilingual letters from Typst,
LibreOffice, Chromium's "Save as PDF", fpdf2 with and without shaping, a scan OCR'd by
OCRmyPDF; see its README), and a long document made here: N dense A4 pages (Typst), each with
Arabic paragraphs of the workspace's press articles, a French paragraph and an Arabic line with
a reference, a date and a French name in it.

Candidates, each given the same files:

- ``pdftext``: Wasl's reading (:mod:`documents.pdftext`: PDFium's glyph positions, lines by
  baseline, the bidi algorithm from visual to logical order);
- ``pdfium``: PDFium's own text (``FPDFText_GetText``), what Wasl indexed before;
- ``pdftotext``: poppler's ``pdftotext`` (a process per file);
- ``pdfminer``: pdfminer.six's ``extract_text`` (layout analysis on, the defaults).

*Words found*: the share of the text's words (after the search normaliser's cleaning, presentation
forms turned into letters) that the candidate's text holds as words. *In order*: the share of the
text's pairs of consecutive words that the candidate's text holds side by side (word order, and
no words glued together). Speed: CPU milliseconds per page, the median of 5 runs in this process
(pdftotext: its process included). The worker's own path (``documents.decoding.page_texts`` in
the sandbox's child process, the inflation check included) is timed on the long document too
(in this process, to count its CPU time).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import section_bench_main, section_write

BEGIN = "<!-- bench.pdftext: written by `python -m bench.pdftext --report` -->"
END = "<!-- /bench.pdftext -->"
BASE = Path(__file__).resolve().parent.parent
CORPUS_DIR = BASE / "search" / "tests" / "pdfs"
SEEDS = Path("/work/shared/seeds")
RUNS = 5

FRENCH = (
    "Monsieur le Président, j'ai l'honneur de solliciter de votre haute bienveillance l'autorisation "
    "d'occuper temporairement le domaine public communal pour l'installation d'un kiosque au quartier "
    "Hay Mohammadi, conformément à l'arrêté municipal en vigueur. Veuillez trouver ci-joint le plan de "
    "situation, la copie de ma carte nationale et l'attestation fiscale. Je vous prie d'agréer, Monsieur le "
    "Président, l'expression de ma haute considération."
)
MIXED = "توصلت المصلحة بطلبكم المسجل تحت رقم A-2026-{n:06d} بتاريخ 12/03/2026 في شأن مشروع Hay Mohammadi."
TEMPLATE = """
#let data = json(bytes(sys.inputs.data))
#set page(paper: "a4", margin: 2cm)
#set text(font: ("Noto Sans", "Noto Naskh Arabic"), size: 11pt)
#set par(justify: true)
#for page in data.pages {
  for p in page.arabic { block(text(dir: rtl, lang: "ar", p)) }
  block(text(dir: rtl, lang: "ar", page.mixed))
  block(text(dir: ltr, lang: "fr", page.french))
  pagebreak(weak: true)
}
"""


def _arabic_paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for seed in sorted(SEEDS.glob("*.txt")) if SEEDS.exists() else []:
        for paragraph in seed.read_text(encoding="utf-8").split("\n"):
            if len(paragraph.split()) >= 25:
                paragraphs.append(" ".join(paragraph.split()))
    if not paragraphs:  # outside the workspace: the corpus's own Arabic
        from search.tests.pdfs.texts import ARABIC_BODY

        paragraphs = list(ARABIC_BODY)
    return paragraphs


def long_document(pages: int) -> tuple[bytes, str]:
    """N dense A4 pages and the text they were made from."""
    import typst

    arabic = _arabic_paragraphs()
    content: list[dict[str, Any]] = []
    for n in range(pages):
        chosen = [arabic[(3 * n + k) % len(arabic)] for k in range(3)]
        content.append({"arabic": chosen, "mixed": MIXED.format(n=n + 1), "french": FRENCH})
    with tempfile.TemporaryDirectory() as work:
        source = Path(work, "long.typ")
        source.write_text(TEMPLATE)
        pdf = typst.compile(
            str(source),
            font_paths=[str(BASE / "documents" / "fonts")],
            ignore_system_fonts=True,
            sys_inputs={"data": json.dumps({"pages": content})},
        )
    written = "\n".join("\n".join([*page["arabic"], page["mixed"], page["french"]]) for page in content)
    return bytes(pdf), written


# --- The candidates ---------------------------------------------------------------------------------


def read_pdftext(pdf: bytes) -> list[str]:
    import pypdfium2

    from documents.pdftext import page_text

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page_text(document[n].get_textpage()) for n in range(len(document))]
    finally:
        document.close()


def read_pdfium(pdf: bytes) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[n].get_textpage().get_text_range() for n in range(len(document))]
    finally:
        document.close()


def read_pdftotext(pdf: bytes) -> list[str]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\f")


def read_pdfminer(pdf: bytes) -> list[str]:
    import logging

    from pdfminer.high_level import extract_text

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    return extract_text(io.BytesIO(pdf)).split("\f")


CANDIDATES: dict[str, Callable[[bytes], list[str]]] = {
    "pdftext": read_pdftext,
    "pdfium": read_pdfium,
    "pdftotext": read_pdftotext,
    "pdfminer": read_pdfminer,
}


def _words(text: str) -> list[str]:
    from search.text import _WORD, clean

    return [word.casefold() for word in _WORD.findall(clean(unicodedata.normalize("NFKC", text.replace("\u00ad", ""))))]


def agreement(written: str, read: str, *, leave_out: frozenset[str] = frozenset()) -> tuple[float, float]:
    """(words found, pairs in order) of ``read`` against ``written``."""
    expected = [word for word in _words(written) if word not in leave_out]
    got = _words(read)
    present, pairs = set(got), set(itertools.pairwise(got))
    wanted_pairs = list(itertools.pairwise(expected))
    found = sum(word in present for word in expected) / len(expected)
    in_order = sum(pair in pairs for pair in wanted_pairs) / max(len(wanted_pairs), 1)
    return round(found, 4), round(in_order, 4)


def _timed(read: Callable[[bytes], list[str]], pdf: bytes) -> tuple[list[str], float]:
    """The pages ``read`` gives and the CPU seconds it takes (this process and the processes it
    waits for), the median of RUNS: CPU time, not wall time, so that a shared machine's other
    work does not count."""
    times = []
    pages: list[str] = []
    for _ in range(RUNS):
        start = time.process_time() + _children_cpu()
        pages = read(pdf)
        times.append(time.process_time() + _children_cpu() - start)
    return pages, statistics.median(times)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(pages: int) -> dict[str, Any]:
    import pypdfium2

    corpus = json.loads((CORPUS_DIR / "corpus.json").read_text(encoding="utf-8"))
    files: dict[str, Any] = {}
    for name in sorted(corpus):
        pdf = (CORPUS_DIR / name).read_bytes()
        written = "\n".join(corpus[name]["text"])
        leave_out = frozenset(word.casefold() for word in corpus[name].get("misread", []))
        count = len(pypdfium2.PdfDocument(pdf))
        row: dict[str, Any] = {"producer": corpus[name]["producer"], "pages": count, "bytes": len(pdf)}
        for candidate, read in CANDIDATES.items():
            texts, seconds = _timed(read, pdf)
            found, in_order = agreement(written, "\n".join(texts), leave_out=leave_out)
            row[candidate] = {"found": found, "in_order": in_order, "ms_per_page": round(seconds * 1000 / count, 2)}
        files[name] = row
    long_pdf, long_written = long_document(pages)
    long_row: dict[str, Any] = {"pages": pages, "bytes": len(long_pdf)}
    for candidate, read in CANDIDATES.items():
        texts, seconds = _timed(read, long_pdf)
        found, in_order = agreement(long_written, "\n".join(texts))
        long_row[candidate] = {"found": found, "in_order": in_order, "ms_per_page": round(seconds * 1000 / pages, 2)}
    long_row["worker_ms_per_page"] = round(_worker_seconds(long_pdf) * 1000 / pages, 2)
    return {"files": files, "long": long_row}


def _worker_seconds(pdf: bytes) -> float:
    """The CPU seconds of the worker's reading of ``pdf``: ``documents.decoding.page_texts``,
    the function the sandbox's child runs (the inflation check included), here in-process so
    that its CPU time is this process's (the child's time limit is on CPU time too)."""
    from documents.decoding import page_texts

    times = []
    for _ in range(RUNS):
        start = time.process_time()
        page_texts(pdf, "application/pdf", max_pixels=50_000_000, max_pages=500, max_inflated=256 << 20)
        times.append(time.process_time() - start)
    return statistics.median(times)


def report(results: dict[str, Any], path: Path) -> None:
    names = list(CANDIDATES)

    def cell(entry: dict[str, Any]) -> str:
        return f"{entry['found']:.0%} / {entry['in_order']:.0%}"

    lines = [
        BEGIN,
        "## Reading born-digital PDFs (issue #14)",
        "",
        "`python -m bench.pdftext --json OUT --report docs/benchmarks.md` (also run by `make bench`). The corpus of "
        "`search/tests/pdfs/` (one-page Arabic and bilingual letters from the programs letters come from) and a long "
        f"document of {results['long']['pages']} dense A4 pages made with Typst (Arabic paragraphs of the press "
        "articles, an Arabic line with a reference, a date and a French name, a French paragraph). Each cell: *words "
        "found* / *pairs of consecutive words in order* (see `bench/pdftext.py`); then CPU milliseconds per "
        "page (median of 5). `pdftext` is Wasl's reading (`documents.pdftext`), `pdfium` PDFium's own text (what Wasl "
        "read before), `pdftotext` poppler's, `pdfminer` pdfminer.six's `extract_text`.",
        "",
        f"Measured {results['date']} on {results['machine']}; commit {results['commit']}.",
        "",
        "| file | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, row in results["files"].items():
        lines.append(f"| `{name}` | " + " | ".join(cell(row[candidate]) for candidate in names) + " |")
    long = results["long"]
    lines.append(f"| long document ({long['pages']} pages) | " + " | ".join(cell(long[c]) for c in names) + " |")
    lines += [
        "",
        "| CPU ms per page | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        "| corpus (one-page files, median of the files) | "
        + " | ".join(
            decimal_ms(statistics.median(row[candidate]["ms_per_page"] for row in results["files"].values()))
            for candidate in names
        )
        + " |",
        f"| long document ({long['pages']} dense A4 pages) | "
        + " | ".join(decimal_ms(long[candidate]["ms_per_page"]) for candidate in names)
        + " |",
        "",
        f"The worker's whole reading of the long document (`documents.decoding.page_texts`, which the sandbox's "
        f"child runs: opening, the inflation check, every page): **{decimal_ms(long['worker_ms_per_page'])} ms of "
        f"CPU a page**, so a file of the most pages allowed (500) needs about "
        f"{long['worker_ms_per_page'] * 500 / 1000:.0f} s of the child's 60 (its limit is on CPU time and on wall "
        "time: a busy machine takes longer).",
        END,
    ]
    section_write(path, "\n".join(lines) + "\n", BEGIN, END)


def decimal_ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--pages", type=int, default=20)

    def measured(args: argparse.Namespace) -> dict[str, Any]:
        sys.path.insert(0, str(BASE))
        return measure(args.pages)

    return section_bench_main(argv, description=__doc__, options=options, measure=measured, report=report)


if __name__ == "__main__":
    sys.exit(main())
