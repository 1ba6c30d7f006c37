"""CPU cost of sealing and verifying, for ``make bench``: ``python -m bench.seal [N]``.

Uses a throw-away PKI in a temporary directory (no Django settings, no database) and a one-page
bilingual receipt rendered by typst (~50 KB with the project's fonts). Figures are CPU time
(``time.process_time``) per call, averaged after a warm-up, so other load on the machine
matters less than with wall-clock time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import typst

from trust.pki import Pki
from trust.sealing import seal_data, seal_pdf
from trust.verification import verify_pdf, verify_sealed_data

FONTS_DIR = Path(__file__).resolve().parent.parent / "documents" / "fonts"

_RECEIPT = """
#set page(paper: "a4", margin: 2cm)
#set text(font: ("Noto Sans", "Noto Naskh Arabic", "Noto Sans Tifinagh"), size: 10pt)
= Récépissé de dépôt — #text(dir: rtl)[وصل إيداع] — ⵜⴰⵙⵖⵓⵏⵜ
Référence : #box[2026-000123] #h(1fr) *Direction générale des impôts*

#text(dir: rtl)[*تشهد المديرية العامة للضرائب* بأنها توصلت بالمراسلة المشار إليها أعلاه بتاريخ اليوم،
وتحمل الرقم المبين في هذا الوصل. يمكن التحقق من صحة هذا الوصل عبر الرابط أسفله.]

#lorem(180)

#table(columns: 3, [*Pièce*], [*Pages*], [*Empreinte SHA-256*],
  ..range(12).map(i => ([Pièce #i], [#(i + 1)], [#box[0f3c9a7e5b1d…]])).flatten())
"""


def _receipt_pdf(directory: Path) -> bytes:
    source = directory / "receipt.typ"
    source.write_text(_RECEIPT, encoding="utf-8")
    fonts = [str(FONTS_DIR)] if FONTS_DIR.is_dir() else []
    return bytes(typst.compile(str(source), font_paths=fonts, ignore_system_fonts=bool(fonts)))


def _cpu_ms(call: Callable[[], object], n: int) -> float:
    for _ in range(max(3, n // 10)):
        call()
    # At least n calls, and on until 50 ms of CPU: some machines count process time in ticks of 4 ms.
    start = time.process_time()
    calls = 0
    while calls < n or time.process_time() - start < 0.05:
        call()
        calls += 1
    return (time.process_time() - start) / calls * 1000


def measure(n: int = 200) -> dict[str, float]:
    """CPU milliseconds per call of seal_pdf, seal_data, and (n/4 times) of the verifications."""
    with tempfile.TemporaryDirectory(prefix="wasl-bench-pki-") as tmp:
        pki = Pki.create(Path(tmp) / "pki", "Wasl benchmark")
        pki.seal_for(code="DGI", name_fr="Direction générale des impôts", name_ar="المديرية العامة للضرائب")
        pdf = _receipt_pdf(Path(tmp))
        sealed = seal_pdf(pdf, pki=pki, administration_code="DGI", reason="Récépissé de dépôt")
        data = b"register checkpoint " + bytes(32)
        signature = seal_data(data, pki=pki, administration_code="DGI")
        assert verify_pdf(sealed, pki=pki).valid and verify_sealed_data(data, signature, pki=pki).valid
        results = {
            "pdf_kb": len(pdf) / 1024,
            "seal_pdf_ms": _cpu_ms(
                lambda: seal_pdf(pdf, pki=pki, administration_code="DGI", reason="Récépissé de dépôt"), n
            ),
            "seal_data_ms": _cpu_ms(lambda: seal_data(data, pki=pki, administration_code="DGI"), n),
            "verify_pdf_ms": _cpu_ms(lambda: verify_pdf(sealed, pki=pki), max(1, n // 4)),
            "verify_data_ms": _cpu_ms(lambda: verify_sealed_data(data, signature, pki=pki), max(1, n // 4)),
        }
    for name, value in results.items():
        print(f"{name:>15}: {value:8.2f}")
    return results


if __name__ == "__main__":
    measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
