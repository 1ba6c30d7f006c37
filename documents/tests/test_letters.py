"""Outgoing letters and attestations of silence-acceptance render as PDFs that real tools read back.

Pure tests: no database, no Django settings. Text is checked with poppler's pdftotext and the
QR code with zbar's zbarimg, on the PDF as rendered.
"""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import pypdf
import pytest
from pypdf.generic import DictionaryObject, StreamObject

from documents.qr import qr_svg
from documents.rendering import render_pdf
from documents.testing import missing_pdf_tools, pdf_text, qr_urls_in_pdf

needs_pdf_tools = pytest.mark.skipif(
    bool(missing_pdf_tools()),
    reason=f"missing {', '.join(missing_pdf_tools())} (Debian poppler-utils, zbar-tools)",
)

URL = "http://127.0.0.1:8000/v/Ab3dEf9hK2mN4pQ6rS8tUw"
NUMBER = "D-2026-000012"
REQUEST = "A-2026-000001"
BODY_AR = (
    "سيدتي،\n\n"
    "جوابا على طلبكم المشار إليه في المرجع أعلاه، يؤسفني أن أخبركم بأن طلبكم قد رفض، وذلك لعدم مطابقة "
    "التصميم المقدم لمقتضيات تصميم التهيئة الجاري به العمل.\n\n"
    "وتقبلوا فائق عبارات التقدير والاحترام."
)
BODY_FR = (
    "Madame,\n\n"
    "En réponse à votre demande citée en référence, j'ai le regret de vous informer qu'elle a été rejetée, "
    "le plan présenté n'étant pas conforme aux dispositions du plan d'aménagement en vigueur.\n\n"
    "Veuillez agréer, Madame, l'expression de mes salutations distinguées."
)
RECOURSE_AR = "يمكنكم تقديم تظلم إلى رئيس الجماعة أو الطعن أمام المحكمة الإدارية المختصة"
RECOURSE_FR = "Vous pouvez former un recours gracieux auprès du président de la commune"
# 20,000 characters of each script, in paragraphs.
LONG_AR = ("يشرفني أن أخبركم بأن ملفكم قيد الدراسة من طرف المصالح المختصة بالجماعة. " * 8 + "\n\n") * 40
LONG_FR = ("Votre dossier est à l'étude auprès des services compétents de la commune. " * 8 + "\n\n") * 34
# A4 in points, and the letter's side margins (18 mm).
PAGE_WIDTH = 595.28
MARGIN_X = 18 * 72 / 25.4


def letter_data(**overrides: Any) -> dict[str, Any]:
    """A rejection answering a request, with the keys workflow.letters.letter_data builds."""
    data: dict[str, Any] = {
        "kingdom_ar": "المملكة المغربية",
        "kingdom_fr": "Royaume du Maroc",
        "administration": {
            "code": "COMMUNE-DEMO",
            "name_ar": "جماعة النموذج",
            "name_fr": "Commune de Démo",
            "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵎⴷⵢⴰ",
        },
        "service": {"name_ar": "مصلحة التعمير", "name_fr": "Service de l'urbanisme"},
        "number": NUMBER,
        "date": "2026-11-21",
        "addressee": {"name": "فاطمة الزهراء بنعلي", "address": "12، زنقة الأطلس\nحي الرياض، الرباط"},
        "reference": {"number": REQUEST, "date": "2026-11-02"},
        "subject": "طلب الحصول على رخصة البناء لقطعة أرضية بالحي الإداري",
        "decision": "rejection",
        "body_ar": BODY_AR,
        "body_fr": BODY_FR,
        "items": [
            {"name_ar": "تصميم الموقع", "name_fr": "Plan de situation"},
            {"name_ar": "شهادة الملكية", "name_fr": "Certificat de propriété"},
        ],
        "recourse_ar": RECOURSE_AR + " داخل أجل 60 يوما.",
        "recourse_fr": RECOURSE_FR + " dans un délai de 30 jours.",
        "signature": {
            "name": "محمد العلوي",
            "title_ar": "رئيس المجلس الجماعي",
            "title_fr": "Le président du conseil communal",
        },
        "verification_url": URL,
        "qr_svg": qr_svg(URL),
    }
    data.update(overrides)
    return data


def attestation_data(**overrides: Any) -> dict[str, Any]:
    """An attestation of silence-acceptance, with the keys workflow.letters.attestation_data builds."""
    data: dict[str, Any] = {
        "kingdom_ar": "المملكة المغربية",
        "kingdom_fr": "Royaume du Maroc",
        "administration": {
            "code": "COMMUNE-DEMO",
            "name_ar": "جماعة النموذج",
            "name_fr": "Commune de Démo",
            "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵎⴷⵢⴰ",
        },
        "number": REQUEST,
        "deposited_on": "2026-09-01",
        "depositor": {"name": "فاطمة الزهراء بنعلي", "identifier": "AB****56"},
        "subject": "طلب الحصول على رخصة البناء لقطعة أرضية بالحي الإداري",
        "procedure": {
            "code": "URB-01",
            "name_ar": "رخصة البناء",
            "name_fr": "Permis de construire",
            "legal_basis": "Loi n° 12-90 relative à l'urbanisme",
        },
        "delay": {"days": 60, "kind": "calendar"},
        "suspended_days": 0,
        "due_on": "2026-10-31",
        "accepted_on": "2026-11-01",
        "issued_at": {"date": "2026-11-21", "time": "10:15:00", "zone": "Africa/Casablanca (UTC+01:00)"},
        "verification_url": URL,
        "qr_svg": qr_svg(URL),
        "legal_ar": "طبقا لمقتضيات القانون رقم 55.19 المتعلق بتبسيط المساطر والإجراءات الإدارية.",
        "legal_fr": "Conformément à la loi n° 55-19 relative à la simplification des procédures administratives.",
    }
    data.update(overrides)
    return data


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def word_boxes(pdf: bytes) -> list[tuple[float, float]]:
    """The horizontal extent (xMin, xMax, in points) of every word pdftotext finds."""
    html = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return [(float(a), float(b)) for a, b in re.findall(rb'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', html)]


def flat(text: str) -> str:
    """``text`` with its runs of white space as single spaces and without hyphenation: pdftotext
    breaks lines where the PDF does, after a soft hyphen in a hyphenated word."""
    return " ".join(re.sub("\u00ad\\s*", "", text).split())


def has_arabic_count(text: str, count: int, words: str) -> bool:
    """Whether ``text`` reads "<count> <words>" in Arabic. pdftotext puts a number that opens a
    right-to-left line after the words ("يوما60"), although the page shows it in its place."""
    return f"{count} {words}" in text or f"{words}{count}" in text


@pytest.fixture(scope="module")
def rejection_pdf() -> bytes:
    return render_pdf("letter", letter_data())


@pytest.fixture(scope="module")
def attestation_pdf() -> bytes:
    return render_pdf("silence", attestation_data())


# ---------------------------------------------------------------- letters


def test_letter_is_a4_pdf_a(rejection_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(rejection_pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    root = reader.trailer["/Root"].get_object()
    assert isinstance(root, DictionaryObject)
    metadata = root["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject)
    xmp = metadata.get_data()
    assert re.search(rb"pdfaid:part(>|=\")2", xmp)


@needs_pdf_tools
def test_letter_text_has_the_number_reference_bodies_items_and_recourse(rejection_pdf: bytes) -> None:
    text = flat(pdf_text(rejection_pdf))
    assert NUMBER in text
    assert REQUEST in text
    assert "2026-11-02" in text
    assert "2026-11-21" in text
    assert "قرار رفض" in text
    assert "DÉCISION DE REFUS" in text
    assert "يؤسفني أن أخبركم بأن طلبكم قد رفض" in text
    assert "le plan présenté n'étant pas conforme" in text
    for item in letter_data()["items"]:
        assert item["name_fr"] in text
        assert item["name_ar"] in text
    assert RECOURSE_FR in text
    assert RECOURSE_AR in text
    assert "Voies de recours" in text
    assert "Le président du conseil communal" in text
    assert "محمد العلوي" in text
    assert URL in text


@needs_pdf_tools
def test_letter_numbers_and_dates_read_left_to_right(rejection_pdf: bytes) -> None:
    text = pdf_text(rejection_pdf, layout=True)
    assert NUMBER in text
    assert REQUEST in text


@needs_pdf_tools
def test_letter_qr_code_decodes_to_the_verification_url(rejection_pdf: bytes) -> None:
    assert qr_urls_in_pdf(rejection_pdf) == [URL]


@pytest.mark.slow
@needs_pdf_tools
def test_long_bodies_run_over_numbered_pages_with_the_qr_code_on_the_first() -> None:
    assert len(LONG_AR) >= 20_000 and len(LONG_FR) >= 20_000
    pdf = render_pdf("letter", letter_data(body_ar=LONG_AR, body_fr=LONG_FR + "Fin du courrier."))
    pages = page_count(pdf)
    assert pages > 2
    text = pdf_text(pdf)
    assert f"1/{pages}" in text
    assert f"{pages}/{pages}" in text
    assert "Fin du courrier." in text
    assert text.count(NUMBER) >= pages  # In the footer of every page.
    assert qr_urls_in_pdf(pdf) == [URL]


@needs_pdf_tools
def test_long_subject_and_unbroken_tokens_wrap_inside_the_margins() -> None:
    data = letter_data(
        subject="x" * 20_000,
        body_fr="Lien : https://example.ma/" + "a" * 3_000 + " fin.",
        body_ar="ب" * 3_000,
        addressee={"name": "N" * 500, "address": "rue " + "w" * 500},
        items=[{"name_ar": "ت" * 500, "name_fr": "v" * 500}],
        recourse_fr="r" * 2_000,
        signature={"name": "S" * 300, "title_ar": "م" * 300, "title_fr": "T" * 300},
    )
    pdf = render_pdf("letter", data)
    assert page_count(pdf) > 1
    boxes = word_boxes(pdf)
    # A few points of tolerance: glyphs (Naskh's swashes) may reach a little past their advance.
    assert min(x_min for x_min, _ in boxes) > MARGIN_X - 3
    assert max(x_max for _, x_max in boxes) < PAGE_WIDTH - MARGIN_X + 3


@needs_pdf_tools
def test_markup_in_values_is_printed_not_evaluated() -> None:
    subject = '#eval("1+1") *gras* $x^2$ <label> @ref ]['
    body = '#panic("boom") _penché_ `code` \\ #set text(red)'
    text = pdf_text(render_pdf("letter", letter_data(subject=subject, body_fr=body, body_ar=body)))
    assert '#eval("1+1") *gras* $x^2$ <label> @ref ][' in text
    assert '#panic("boom") _penché_ `code`' in text


@needs_pdf_tools
def test_empty_optional_parts_are_omitted() -> None:
    data = letter_data(
        service=None,
        reference=None,
        decision="answer",
        body_ar="",
        items=[],
        recourse_ar="",
        recourse_fr="",
        signature=None,
    )
    pdf = render_pdf("letter", data)
    assert page_count(pdf) == 1
    text = flat(pdf_text(pdf))
    assert "RÉPONSE" in text
    assert "جواب" in text
    assert "le plan présenté n'étant pas conforme" in text
    for absent in ("Service de l'urbanisme", "Réf.", "المرجع", "Voies de recours", "طرق الطعن", "يؤسفني"):
        assert absent not in text
    assert "Plan de situation" not in text
    assert "Le président" not in text


@needs_pdf_tools
def test_a_letter_without_bodies_has_its_header_and_subject() -> None:
    pdf = render_pdf("letter", letter_data(body_ar="", body_fr="", items=[], recourse_ar="", recourse_fr=""))
    assert page_count(pdf) == 1
    text = flat(pdf_text(pdf))
    assert NUMBER in text
    assert "طلب الحصول على رخصة البناء" in text


@needs_pdf_tools
@pytest.mark.parametrize(
    ("decision", "arabic", "french"),
    [
        ("answer", "جواب", "RÉPONSE"),
        ("rejection", "قرار رفض", "DÉCISION DE REFUS"),
        ("completion", "طلب استكمال الملف", "DEMANDE DE COMPLÉMENT DE DOSSIER"),
        ("note", "مذكرة", "NOTE"),
    ],
)
def test_each_kind_of_letter_has_its_heading(decision: str, arabic: str, french: str) -> None:
    text = flat(pdf_text(render_pdf("letter", letter_data(decision=decision))))
    assert arabic in text
    assert french in text


@needs_pdf_tools
def test_a_completion_request_lists_the_missing_documents_in_both_languages() -> None:
    ordinals = ("الأولى", "الثانية", "الثالثة", "الرابعة", "الخامسة")
    items = [{"name_ar": f"الوثيقة {o}", "name_fr": f"Pièce numéro {n}"} for n, o in enumerate(ordinals, start=1)]
    text = flat(pdf_text(render_pdf("letter", letter_data(decision="completion", items=items))))
    assert "Pièces à fournir" in text
    assert "الوثائق المطلوب الإدلاء بها" in text
    for item in items:
        assert item["name_fr"] in text
        assert item["name_ar"] in text


def test_a_french_addressee_and_an_empty_address_render() -> None:
    data = letter_data(addressee={"name": "Youssef El Amrani", "address": ""}, subject="Demande de certificat")
    assert page_count(render_pdf("letter", data)) == 1


# ---------------------------------------------------------------- attestation of silence-acceptance


def test_attestation_is_a_single_a4_page(attestation_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(attestation_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)


@needs_pdf_tools
def test_attestation_text_has_the_number_dates_and_the_rule(attestation_pdf: bytes) -> None:
    text = flat(pdf_text(attestation_pdf))
    assert REQUEST in text
    for date in ("2026-09-01", "2026-10-31", "2026-11-01", "2026-11-21"):
        assert date in text
    assert "شهادة القبول الضمني" in text
    assert "ATTESTATION D’ACCEPTATION TACITE" in text  # Typst sets typographic apostrophes in markup.
    assert "60 jours" in text
    assert has_arabic_count(text, 60, "يوما")
    assert "vaut acceptation de la demande" in text
    assert "2.22.141" in text
    assert "Permis de construire" in text
    assert "رخصة البناء" in text
    assert "Loi n° 12-90 relative à l'urbanisme" in text
    assert "Délai suspendu" not in text
    assert "مدة توقف الأجل" not in text
    assert URL in text


@needs_pdf_tools
def test_attestation_number_reads_left_to_right(attestation_pdf: bytes) -> None:
    assert REQUEST in pdf_text(attestation_pdf, layout=True)


@needs_pdf_tools
def test_attestation_qr_code_decodes_to_the_verification_url(attestation_pdf: bytes) -> None:
    assert qr_urls_in_pdf(attestation_pdf) == [URL]


@needs_pdf_tools
def test_working_days_and_a_suspension_are_stated() -> None:
    data = attestation_data(delay={"days": 30, "kind": "working"}, suspended_days=12)
    text = flat(pdf_text(render_pdf("silence", data)))
    assert "30 jours ouvrables" in text
    assert has_arabic_count(text, 30, "يوم عمل")
    assert "Délai suspendu pendant 12 jours" in text
    assert "مدة توقف الأجل" in text
    assert has_arabic_count(text, 12, "يوما")


@needs_pdf_tools
def test_attestation_prints_markup_as_typed() -> None:
    subject = '#eval("1+1") *gras* $x^2$ ]['
    text = pdf_text(render_pdf("silence", attestation_data(subject=subject)))
    assert subject in text


def test_attestation_with_long_values_everywhere_stays_on_one_page() -> None:
    long_ar = "قال عبد العزيز الدرويش رئيس الجمعية المغربية لرؤساء مجالس العمالات والأقاليم " * 40
    data = attestation_data(
        administration={
            "code": "DR-EQUIPEMENT-TTA",
            "name_ar": "المديرية الجهوية للتجهيز والنقل واللوجستيك والماء بجهة طنجة تطوان الحسيمة " * 3,
            "name_fr": "Direction régionale de l'équipement, du transport et de la logistique " * 3,
            "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵎⴷⵢⴰ " * 8,
        },
        depositor={"name": "شركة المغرب للأشغال العمومية ذات المسؤولية المحدودة " * 8, "identifier": "RC****89" * 10},
        subject="W" * 300 + " " + long_ar,
        procedure={
            "code": "URB-PC-2026-01",
            "name_ar": long_ar,
            "name_fr": "Autorisation de construire, de lotir et de créer des groupes d'habitations " * 10,
            "legal_basis": "Loi n° 12-90 relative à l'urbanisme " * 30,
        },
        delay={"days": 365, "kind": "working"},
        suspended_days=120,
        legal_ar=long_ar,
        legal_fr="Conformément à la loi n° 55-19 relative à la simplification des procédures " * 30,
    )
    assert page_count(render_pdf("silence", data)) == 1
