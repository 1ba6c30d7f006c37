"""The deposit receipt renders as a one-page PDF/A that real tools read back.

Pure tests: no database, no Django settings. Text is checked with poppler's pdftotext and the
QR code with zbar's zbarimg, on the PDF as rendered.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import shutil
import struct
import subprocess
import threading
from pathlib import Path
from typing import Any

import pypdf
import pytest
import segno
import typst
from pypdf.generic import ArrayObject, DictionaryObject, PdfObject, StreamObject

from documents import rendering
from documents.qr import MASK, qr_svg
from documents.rendering import FONTS_DIR, TEMPLATES_DIR, RenderError, render_pdf, render_png, text_facts
from documents.testing import missing_pdf_tools, pdf_text, qr_urls_in_pdf

needs_pdf_tools = pytest.mark.skipif(
    bool(missing_pdf_tools()),
    reason=f"missing {', '.join(missing_pdf_tools())} (Debian poppler-utils, zbar-tools)",
)

NUMBER = "A-2026-000123"
URL = "http://127.0.0.1:8000/v/Ab3dEf9hK2mN4pQ6rS8tUw"
# A sentence from the seed articles (press, 2020), as a depositor could type it.
SUBJECT = (
    "شكل موضوع “رقمنة الخدمات العمومية بالصويرة” محور يوم دراسي نظم، اليوم الأربعاء، بحضور ثلة "
    "من الأكاديميين والمسؤولين عن مؤسسات عمومية وإداريين وفاعلين في المجتمع المدني بالمدبنة."
)
LONG_SUBJECT = (
    "قال عبد العزيز الدرويش رئيس الجمعية المغربية لرؤساء مجالس العمالات والأقاليم خلال الجلسة "
    "الإفتتاحية لليوم الدراسي حول موضوع « مجالس العمالات والاقاليم وتحديات التحول الرقمي » الذي "
    "انعقد بمدينة الداخلة مؤخرا إن الجمعية تقوم بتنسيق مع المديرية العامة للجماعات الترابية على "
    "تنزيل استراتيجية الانتقال الرقمي لتحسين الخدمات الإدارية المقدمة للمواطنين والمقاولات عبر "
    "تعميم البرامج والمنصات المتاحة والمشاركة في الحلقات التكوينية لفائدة الموارد البشرية العاملة "
    "في المجال بغاية تطوير وتجويد وتبسيط المساطر الداخلية وكذا الخدمات المقدمة للمرتفقين. "
) * 4


def attachment(index: int, filename: str | None = None) -> dict[str, Any]:
    return {
        "filename": filename or f"piece_{index}.pdf",
        "sha256": hashlib.sha256(f"attachment {index}".encode()).hexdigest(),
        "pages": index + 1 if index % 3 else None,
        "size": f"{120 + 37 * index} KB",
    }


def receipt_data(**overrides: Any) -> dict[str, Any]:
    """Receipt data with the keys registry.receipts builds, realistic Arabic and French."""
    data: dict[str, Any] = {
        "administration": {
            "code": "COMMUNE-DEMO",
            "name_ar": "جماعة النموذج",
            "name_fr": "Commune de Démo",
            "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵎⴷⵢⴰ",
        },
        "kingdom_ar": "المملكة المغربية",
        "kingdom_fr": "Royaume du Maroc",
        "register": {"ar": "سجل الوارد", "fr": "Registre des arrivées"},
        "number": NUMBER,
        "registered_at": {"date": "2026-11-21", "time": "15:04:05", "zone": "Africa/Casablanca (UTC+01:00)"},
        "depositor": {
            "name": "فاطمة الزهراء بنعلي",
            "identifier": "AB****56",
            "kind_ar": "شخص ذاتي",
            "kind_fr": "Personne physique",
        },
        "subject": SUBJECT,
        "channel": {"ar": "إيداع إلكتروني", "fr": "Dépôt en ligne"},
        "attachments": [
            attachment(0, "طلب_موقع.pdf"),
            attachment(1, "Plan_de_situation_1-2000.pdf"),
            attachment(2, "CIN_recto_verso.jpg"),
        ],
        "verification_url": URL,
        "qr_svg": qr_svg(URL),
        "log": {"position": 1234567, "hash": "9f" * 32},
        "legal_ar": (
            "سُلّم هذا الوصل طبقاً للقانون رقم 55.19 المتعلق بتبسيط المساطر والإجراءات الإدارية. "
            "يسري أجل معالجة الطلب ابتداءً من تاريخ هذا الوصل."
        ),
        "legal_fr": (
            "Récépissé délivré en application de la loi n° 55-19 relative à la simplification des "
            "procédures et formalités administratives. Le délai de traitement court à compter de la "
            "date du présent récépissé."
        ),
    }
    data.update(overrides)
    return data


def worst_case_data() -> dict[str, Any]:
    """Ten attachments with long names, long names everywhere, a subject of several paragraphs."""
    long_names = [
        "Rapport_final_tres_long_sans_espaces_2026_scan_definitif_version_corrigee_du_service_urbanisme.pdf",
        "x" * 200 + ".pdf",
        "ملف " * 40 + ".pdf",
        "W" * 120,
    ]
    return receipt_data(
        administration={
            "code": "DR-EQUIPEMENT-TTA",
            "name_ar": "المديرية الجهوية للتجهيز والنقل واللوجستيك والماء بجهة طنجة تطوان الحسيمة، مصلحة الشؤون الإدارية",
            "name_fr": "Direction régionale de l'équipement, du transport, de la logistique et de l'eau "
            "de Tanger-Tétouan-Al Hoceïma",
            "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵎⴷⵢⴰ " * 8,
        },
        depositor={
            "name": "شركة المغرب للأشغال العمومية والبناء والتجهيزات الكبرى ذات المسؤولية المحدودة "
            "ذات الشريك الوحيد فرع الشمال الغربي",
            "identifier": "RC****89",
            "kind_ar": "شخص معنوي خاضع للقانون الخاص (شركة ذات مسؤولية محدودة)",
            "kind_fr": "Personne morale de droit privé (société à responsabilité limitée)",
        },
        subject="W" * 40 + " " + LONG_SUBJECT,
        attachments=[attachment(i, long_names[i % len(long_names)]) for i in range(10)],
    )


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def pdf_dictionary(value: object) -> DictionaryObject:
    """A PDF dictionary, its reference followed."""
    resolved = value.get_object() if isinstance(value, PdfObject) else value
    assert isinstance(resolved, DictionaryObject), resolved
    return resolved


def pdf_stream(value: object) -> StreamObject:
    """A PDF stream, its reference followed."""
    resolved = value.get_object() if isinstance(value, PdfObject) else value
    assert isinstance(resolved, StreamObject), resolved
    return resolved


def embedded_font_tables(pdf: bytes) -> dict[str, set[bytes]]:
    """The sfnt tables of every font embedded in the first page, by PostScript name."""
    tables = {}
    resources = pdf_dictionary(pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"])
    for reference in pdf_dictionary(resources["/Font"]).values():
        font = pdf_dictionary(reference)
        descendants = font["/DescendantFonts"].get_object()
        assert isinstance(descendants, ArrayObject)
        descriptor = pdf_dictionary(pdf_dictionary(descendants[0])["/FontDescriptor"])
        data = pdf_stream(descriptor["/FontFile2"]).get_data()
        (count,) = struct.unpack_from(">H", data, 4)
        name = str(font["/BaseFont"]).split("+")[-1]
        tables[name] = {struct.unpack_from(">4s", data, 12 + 16 * i)[0] for i in range(count)}
    return tables


def page_png(pdf: bytes, tmp_path: Path, dpi: int = 100) -> bytes:
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(source), str(tmp_path / "page")], check=True)
    return (tmp_path / "page.png").read_bytes()


@pytest.fixture(scope="module")
def receipt_pdf() -> bytes:
    return render_pdf("receipt", receipt_data())


def test_receipt_is_a_single_a4_page(receipt_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(receipt_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)


def test_receipt_is_pdf_a_2b(receipt_pdf: bytes) -> None:
    xmp = pdf_stream(pdf_dictionary(pypdf.PdfReader(io.BytesIO(receipt_pdf)).trailer["/Root"])["/Metadata"]).get_data()
    assert re.search(rb"pdfaid:part(>|=\")2", xmp)
    assert re.search(rb"pdfaid:conformance(>|=\")B", xmp)


def test_receipt_embeds_only_the_vendored_fonts(receipt_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(receipt_pdf))
    fonts = pdf_dictionary(pdf_dictionary(reader.pages[0]["/Resources"])["/Font"])
    # Subset fonts are named "ABCDEF+<PostScript name>".
    embedded = {str(pdf_dictionary(font)["/BaseFont"]).split("+")[-1] for font in fonts.values()}
    vendored = {"NotoNaskhArabic-Regular", "NotoNaskhArabic-Bold", "NotoSans-Regular", "NotoSans-Bold"}
    vendored |= {"NotoSansTifinagh-Regular", "NotoMono"}  # Noto Mono's PostScript name has no style.
    assert len(list(FONTS_DIR.glob("*.ttf"))) == len(vendored)
    assert embedded <= vendored, embedded - vendored
    assert {"NotoNaskhArabic-Regular", "NotoSans-Regular", "NotoSansTifinagh-Regular", "NotoMono"} <= embedded


@needs_pdf_tools
def test_receipt_text_has_the_number_labels_and_fingerprints(receipt_pdf: bytes) -> None:
    text = pdf_text(receipt_pdf)
    assert NUMBER in text
    for label in ("ACCUSÉ DE RÉCEPTION", "Date de dépôt", "Mode de dépôt", "Déposant", "Objet", "Pièces jointes"):
        assert label in text
    assert "وصل إيداع" in text
    assert "2026-11-21 15:04:05" in text
    assert "Plan_de_situation_1-2000.pdf" in text
    for item in receipt_data()["attachments"]:
        assert item["sha256"] in text
    assert URL in text


@needs_pdf_tools
def test_registration_number_reads_left_to_right_next_to_arabic(receipt_pdf: bytes) -> None:
    # pdftotext -layout orders words by position: a number reordered by bidi would come out
    # as 000123-2026-A.
    assert NUMBER in pdf_text(receipt_pdf, layout=True)


@needs_pdf_tools
def test_qr_code_decodes_to_the_verification_url(receipt_pdf: bytes) -> None:
    assert qr_urls_in_pdf(receipt_pdf) == [URL]


def test_ten_attachments_and_long_texts_stay_on_one_page() -> None:
    assert page_count(render_pdf("receipt", worst_case_data())) == 1


@needs_pdf_tools
def test_long_subject_is_cut_with_an_ellipsis() -> None:
    text = pdf_text(render_pdf("receipt", receipt_data(subject=LONG_SUBJECT)))
    assert "…" in text
    assert "قال عبد العزيز الدرويش" in text


def test_receipt_without_attachments_or_tifinagh_name() -> None:
    data = receipt_data(attachments=[])
    data["administration"] = {**data["administration"], "name_zgh": ""}
    data["depositor"] = {**data["depositor"], "identifier": ""}
    pdf = render_pdf("receipt", data)
    assert page_count(pdf) == 1


def test_french_subject_and_name_render() -> None:
    data = receipt_data(subject="Demande de certificat de résidence (dossier n° 2026-17)")
    data["depositor"] = {**data["depositor"], "name": "Youssef El Amrani"}
    assert page_count(render_pdf("receipt", data)) == 1


@needs_pdf_tools
def test_markup_in_data_is_printed_not_evaluated() -> None:
    subject = '#panic("boom") *gras* $x^2$ <label> @ref #eval("1+1") ]['
    text = pdf_text(render_pdf("receipt", receipt_data(subject=subject)))
    assert '#panic("boom")' in text
    assert "*gras*" in text


def test_rendering_twice_in_one_process_works() -> None:
    # typst-py 0.15 fails on the second compilation of a compiler built from bytes.
    created_at = datetime.datetime(2026, 11, 21, 14, 4, 5, tzinfo=datetime.UTC)
    first = render_pdf("receipt", receipt_data(), created_at=created_at)
    second = render_pdf("receipt", receipt_data(), created_at=created_at)
    assert first == second
    assert page_count(second) == 1


@needs_pdf_tools
def test_each_render_gets_its_own_data() -> None:
    numbers = [f"A-2026-{n:06d}" for n in range(1, 4)]
    for number in numbers:
        assert number in pdf_text(render_pdf("receipt", receipt_data(number=number)))


@needs_pdf_tools
def test_threads_render_concurrently_without_mixing_data() -> None:
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def render(number: str) -> None:
        try:
            for _ in range(3):
                results[number] = render_pdf("receipt", receipt_data(number=number))
        except BaseException as exc:  # Reported by the main thread.
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(f"B-2026-{n:06d}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for number, pdf in results.items():
        text = pdf_text(pdf)
        assert number in text
        assert [other for other in results if other != number and other in text] == []


def test_missing_key_raises_render_error() -> None:
    data = receipt_data()
    del data["number"]
    with pytest.raises(RenderError, match="number"):
        render_pdf("receipt", data)


@pytest.mark.parametrize("name", ["../receipt", "receipt.typ", "Receipt", ""])
def test_template_name_must_be_plain(name: str) -> None:
    with pytest.raises(ValueError, match="invalid template name"):
        render_pdf(name, receipt_data())


def test_unknown_template_is_refused() -> None:
    with pytest.raises(FileNotFoundError):
        render_pdf("no-such-template", receipt_data())


def test_qr_svg_is_a_standalone_svg() -> None:
    svg = qr_svg(URL)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert svg.endswith("</svg>")


@pytest.mark.parametrize("url", [URL, "https://wasl.gov.ma/v/" + "Zz09-_" * 6, "x", "https://e.ma/" + "a" * 150])
def test_qr_svg_is_what_segno_writes(url: str) -> None:
    symbol = segno.make(url, error="m", mask=MASK)
    out = io.BytesIO()
    symbol.save(out, kind="svg", border=4, xmldecl=False, svgns=True, svgclass=None, lineclass=None, nl=False)
    assert qr_svg(url) == out.getvalue().decode("ascii")


@needs_pdf_tools
def test_qr_code_decodes_on_a_coarse_screen_rendering(receipt_pdf: bytes) -> None:
    assert qr_urls_in_pdf(receipt_pdf, dpi=72) == [URL]


def test_a_shorter_receipt_after_a_longer_one_is_not_mixed_with_it() -> None:
    # The data file is overwritten in place (see rendering._write_data), padded with spaces.
    render_pdf("receipt", receipt_data(subject=LONG_SUBJECT))
    text = pdf_text(render_pdf("receipt", receipt_data(subject="Objet court")))
    assert "Objet court" in text
    assert "الدرويش" not in text


@needs_pdf_tools
def test_fonts_without_hinting_draw_exactly_the_same(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    created_at = datetime.datetime(2026, 11, 21, 14, 4, 5, tzinfo=datetime.UTC)
    data = worst_case_data()
    stripped = render_pdf("receipt", data, created_at=created_at)
    # A workspace whose compilers load the vendored fonts as they are.
    monkeypatch.setattr(rendering, "_workspace", None)
    monkeypatch.setattr(rendering, "_prepare_fonts", lambda directory: FONTS_DIR)
    hinted = render_pdf("receipt", data, created_at=created_at)
    for tables in embedded_font_tables(stripped).values():
        assert not tables & {b"fpgm", b"prep", b"cvt "}
    assert any(b"fpgm" in tables for tables in embedded_font_tables(hinted).values())
    assert len(stripped) < 0.8 * len(hinted)
    assert page_png(stripped, tmp_path) == page_png(hinted, tmp_path)


def test_text_facts_computed_in_python_only_speed_things_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without them the template computes its own; the page must be the same either way.
    created_at = datetime.datetime(2026, 11, 21, 14, 4, 5, tzinfo=datetime.UTC)
    for data in (receipt_data(), worst_case_data(), receipt_data(subject=LONG_SUBJECT, attachments=[])):
        with_facts = render_pdf("receipt", data, created_at=created_at)
        with monkeypatch.context() as patch:
            patch.delitem(rendering._TEXT_FACTS, "receipt")
            without = render_pdf("receipt", data, created_at=created_at)
        assert with_facts == without


TRICKY_TEXTS = [
    "",
    "   ",
    SUBJECT,
    LONG_SUBJECT,
    "Youssef El Amrani",
    "2026 ـعبد الله",  # digits and a tatweel before the first letter
    "سُلّمَ هذا الوصل",  # combining marks
    "\u0651\u064b بداية بعلامة",  # marks with no letter before them
    "\tسطر\nسطر",
    "x" * 200 + ".pdf",
    "a\u200bb\u200dc\u2060d",
    "👨\u200d👩\u200d👧 famille",
    "한국어 ᄀᄀᄀ",
    "\ufdfd\u0600 signes larges",
    "שלום עליכם",
    "Œuvre WWW — ŒŒ",
]


def typst_text_facts(texts: list[str], root: Path) -> list[dict[str, Any]]:
    """What `text-facts` of receipt/parts.typ gives for ``texts``."""
    shutil.copytree(TEMPLATES_DIR / "receipt", root / "receipt")
    (root / "texts.json").write_text(json.dumps(texts))
    (root / "facts.typ").write_text(
        '#import "receipt/parts.typ": text-facts\n#metadata(json("/texts.json").map(text-facts)) <facts>\n'
    )
    compiler = typst.Compiler(str(root / "facts.typ"), root=str(root), font_paths=[str(FONTS_DIR)])
    facts: list[dict[str, Any]] = json.loads(compiler.query("<facts>", field="value", one=True))
    return facts


def test_text_facts_in_python_agree_with_the_template(tmp_path: Path) -> None:
    for text, expected in zip(TRICKY_TEXTS, typst_text_facts(TRICKY_TEXTS, tmp_path), strict=True):
        facts = text_facts(text)
        assert facts["rtl"] == expected["rtl"], text
        assert facts["narrow"] == expected["narrow"], text
        # Upper bounds: a text said to fit does.
        assert facts["clusters"] >= expected["clusters"], text
        assert facts["longest"] >= expected["longest"], text


# ---------------------------------------------------------------- processing terms, tracking code
TERMS = {
    "procedure_code": "URB-01",
    "procedure_name_ar": "رخصة البناء",
    "procedure_name_fr": "Permis de construire",
    "delay_days": 60,
    "delay_kind": "calendar",
    "due_on": "2026-11-20",
    "silence_rule": "acceptance",
}
TRACKING_CODE = "K7QM-4XPD"
SILENCE_ACCEPTANCE_FR = "Le silence de l'administration à l'expiration du délai vaut acceptation."
# Without the final full stop, which pdftotext moves to the start of a right-to-left line.
SILENCE_ACCEPTANCE_AR = "سكوت الإدارة بعد انصرام الأجل يعتبر قبولا"


def flat(text: str) -> str:
    """``text`` with its runs of white space as single spaces: pdftotext breaks lines where the PDF does."""
    return " ".join(text.split())


def french_text(pdf: bytes) -> str:
    """The text of ``pdf`` in the order it was drawn (pdftotext -raw), flattened. Sentences that
    wrap in a narrow column stay whole, which pdftotext's reading order does not guarantee
    beside other columns; right-to-left text comes out in visual order, so only for French."""
    raw = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return flat(raw.stdout.decode("utf-8"))


def worst_case_terms(**overrides: Any) -> dict[str, Any]:
    """Terms whose every line is as long as it may be: long names, working days, a silence rule."""
    return {
        **TERMS,
        "procedure_code": "URB-PC-2026-01",
        "procedure_name_ar": "طلب رخصة البناء والتجزئة وإحداث المجموعات السكنية وتقسيم العقارات " * 4,
        "procedure_name_fr": "Autorisation de construire, de lotir et de créer des groupes d'habitations " * 4,
        "delay_days": 365,
        "delay_kind": "working",
        **overrides,
    }


@needs_pdf_tools
def test_receipt_with_terms_states_the_procedure_due_date_silence_rule_and_tracking_code() -> None:
    pdf = render_pdf("receipt", receipt_data(terms=TERMS, tracking_code=TRACKING_CODE))
    assert page_count(pdf) == 1
    text = flat(pdf_text(pdf))
    assert "Procédure URB-01 — Permis de construire" in text
    assert "المسطرة" in text
    assert "رخصة البناء" in text
    assert "Délai de traitement : 60 jours" in text
    assert "أجل المعالجة" in text
    assert "2026-11-20" in text
    assert "Réponse due au plus tard le" in text
    assert "آخر أجل للجواب" in text
    assert SILENCE_ACCEPTANCE_FR in french_text(pdf)
    assert SILENCE_ACCEPTANCE_AR in text
    assert TRACKING_CODE in text
    assert "Code de suivi" in text
    assert "رمز التتبع" in text
    assert qr_urls_in_pdf(pdf) == [URL]


@needs_pdf_tools
@pytest.mark.parametrize(
    ("rule", "french", "arabic"),
    [
        ("refusal", "à l'expiration du délai vaut refus.", "يعتبر رفضا"),
        ("none", None, None),
    ],
)
def test_silence_rule_refusal_or_none(rule: str, french: str | None, arabic: str | None) -> None:
    pdf = render_pdf("receipt", receipt_data(terms={**TERMS, "silence_rule": rule}))
    text = flat(pdf_text(pdf))
    assert "2026-11-20" in text
    if french is None:
        assert "Le silence de l'administration" not in text
        assert "سكوت الإدارة" not in text
    else:
        assert arabic is not None
        assert french in french_text(pdf)
        assert arabic in text
        assert "vaut acceptation" not in text


@needs_pdf_tools
def test_working_days_and_terms_without_a_procedure() -> None:
    # A request naming no procedure gets the default delay: no code, no names.
    terms = {**TERMS, "procedure_code": "", "procedure_name_ar": "", "procedure_name_fr": "", "delay_kind": "working"}
    text = flat(pdf_text(render_pdf("receipt", receipt_data(terms=terms))))
    assert "Délai de traitement : 60 jours ouvrables" in text
    assert "يوم عمل" in text
    assert "Procédure" not in text
    assert "المسطرة" not in text


@pytest.mark.parametrize("attachments", [0, 5, 6, 8, 9, 10, 12])
def test_worst_case_with_terms_and_tracking_code_stays_on_one_page(attachments: int) -> None:
    data = worst_case_data()
    data["attachments"] = [attachment(i, data["attachments"][i % 10]["filename"]) for i in range(attachments)]
    data.update(terms=worst_case_terms(), tracking_code="W" * 16)
    assert page_count(render_pdf("receipt", data)) == 1


@needs_pdf_tools
def test_with_terms_eight_attachments_are_listed_and_more_are_counted() -> None:
    eight = pdf_text(render_pdf("receipt", receipt_data(terms=TERMS, attachments=[attachment(i) for i in range(8)])))
    assert all(f"piece_{i}.pdf" in eight for i in range(8))
    assert "autre(s) pièce(s)" not in eight
    nine = flat(
        pdf_text(render_pdf("receipt", receipt_data(terms=TERMS, attachments=[attachment(i) for i in range(9)])))
    )
    assert [i for i in range(9) if f"piece_{i}.pdf" in nine] == list(range(7))
    assert "… et 2 autre(s) pièce(s)" in nine


def test_receipt_without_terms_or_tracking_code_is_the_same_whatever_says_so() -> None:
    # Absent (receipts issued before terms existed), null, empty: the same page.
    created_at = datetime.datetime(2026, 11, 21, 14, 4, 5, tzinfo=datetime.UTC)
    for data in (receipt_data(), worst_case_data()):
        absent = render_pdf("receipt", data, created_at=created_at)
        for empty in ({"terms": None, "tracking_code": None}, {"terms": {}, "tracking_code": ""}):
            assert render_pdf("receipt", {**data, **empty}, created_at=created_at) == absent


@needs_pdf_tools
def test_receipt_without_terms_lists_ten_attachments_and_no_terms() -> None:
    text = flat(pdf_text(render_pdf("receipt", receipt_data(attachments=[attachment(i) for i in range(10)]))))
    assert all(f"piece_{i}.pdf" in text for i in range(10))
    for absent in ("Délai de traitement", "Réponse due au plus tard le", "Code de suivi", "رمز التتبع"):
        assert absent not in text


def test_a_signature_block_is_drawn_as_one_picture_of_the_blocks_width() -> None:
    from PIL import Image

    png = render_png(
        "signature_block",
        {
            "signer": "نادية العمراني",
            "title_fr": "Présidente",
            "title_ar": "رئيسة المجلس",
            "administration_fr": "Commune de Test",
            "administration_ar": "جماعة الاختبار",
            "delegator": "",
            "level_fr": "Signature électronique avancée",
            "level_ar": "توقيع إلكتروني متقدم",
        },
        ppi=100,
    )
    with Image.open(io.BytesIO(png)) as picture:
        width, height = picture.size
    assert png.startswith(b"\x89PNG") and width == round(84 / 25.4 * 100) and 40 < height < width


def test_a_picture_of_several_pages_is_refused() -> None:
    with pytest.raises(RenderError):
        render_png("proof", {"administration": {}, "folder": {}, "acts": [{}] * 200, "verification_url": ""}, ppi=10)
