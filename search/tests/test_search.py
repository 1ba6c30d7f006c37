"""The search service, on whichever database the suite runs (SQLite, then PostgreSQL): both must
find the same correspondence for the same queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.clock import now
from registry.models import Correspondence, Direction
from registry.services import LOCAL_ZONE
from registry.testing import counter_mail
from search.models import IndexProgress, SearchEntry
from search.selectors import COUNT_CAP, Filters, number_asked, search, snippet
from search.services import SETTLED, index_rebuild, index_sync
from tenancy.access import scope_of
from tenancy.models import Administration, User
from workflow.models import Case
from workflow.testing import deposit

pytestmark = pytest.mark.django_db

LETTERS = [
    ("طلب رخصة البناء بالحي الإداري", "أتشرف بأن أطلب منكم منح رخصة البناء لقطعتي الأرضية الكائنة بالحي الإداري."),
    ("شكاية بخصوص الإنارة العمومية", "نلتمس من مصالح الجماعة التدخل لإصلاح الإنارة العمومية بشارع الحسن الثاني."),
    ("Demande de certificat de résidence", "Je sollicite la délivrance d'un certificat de résidence pour mon dossier."),
    ("Délibération du conseil communal", "Extrait de la délibération relative au budget de l'exercice 2026."),
    ("مراسلة من وزارة الداخلية", "في إطار رقمنة الخدمات العمومية، تدعو الوزارة الجماعات الترابية إلى اعتماد المنصة."),
    ("طلب شهادة السكنى", "المرجو تسليمي شهادة السكنى قصد الإدلاء بها لدى المستشفى الإقليمي."),
]


@pytest.fixture
def letters(commune: Administration, clerk: User) -> dict[str, Correspondence]:
    made = {subject: counter_mail(commune, clerk, subject, body=body) for subject, body in LETTERS}
    index_sync()
    return made


def found(user: User, administration: Administration, query: str, filters: Filters | None = None) -> list[str]:
    results = search(scope_of(user, administration), query, filters or Filters())
    return [hit.correspondence.subject for hit in results.hits]


@pytest.mark.parametrize(
    ("query", "subject"),
    [
        ("رخصه البناء", "طلب رخصة البناء بالحي الإداري"),
        ("بالرخصة", "طلب رخصة البناء بالحي الإداري"),
        ("الاداري", "طلب رخصة البناء بالحي الإداري"),
        ("الإنارة", "شكاية بخصوص الإنارة العمومية"),
        ("انارة عمومية", "شكاية بخصوص الإنارة العمومية"),
        ("residence", "Demande de certificat de résidence"),
        ("CERTIFICATS résidence", "Demande de certificat de résidence"),
        ("deliberation budget", "Délibération du conseil communal"),
        ("الوزارة", "مراسلة من وزارة الداخلية"),
        ("والوزارة الداخليه", "مراسلة من وزارة الداخلية"),
        ("مستشفي", "طلب شهادة السكنى"),
        ("السكني", "طلب شهادة السكنى"),
        ("2026", "Délibération du conseil communal"),
    ],
)
def test_a_letter_is_found_by_a_word_of_its_subject_or_text_in_any_spelling(
    letters: dict[str, Correspondence], clerk: User, commune: Administration, query: str, subject: str
) -> None:
    assert found(clerk, commune, query) == [subject]


def test_every_word_must_match_and_the_subject_weighs_more(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    assert found(clerk, commune, "رخصة المستشفى") == []
    # "العمومية" is in one subject and in another letter's text: the subject comes first.
    assert found(clerk, commune, "عمومي") == ["شكاية بخصوص الإنارة العمومية", "مراسلة من وزارة الداخلية"]
    assert set(found(clerk, commune, "طلب")) == {"طلب رخصة البناء بالحي الإداري", "طلب شهادة السكنى"}


def test_matched_words_are_marked_in_the_subject_and_the_snippet(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    results = search(scope_of(clerk, commune), "الانارة")
    (hit,) = results.hits
    assert hit.subject == "شكاية بخصوص <mark>الإنارة</mark> العمومية"
    assert "<mark>الإنارة</mark>" in hit.snippet
    assert hit.score > 0
    assert results.total == 1


def test_a_snippet_is_the_passage_with_the_most_matches_and_is_escaped() -> None:
    written = " ".join(["كلمة"] * 40) + " <b>الرخصة</b> " + " ".join(["كلمة"] * 40)
    from search import text

    passage = snippet(written, set(text.terms("رخصة")), words=6)
    assert passage.startswith("… ") and passage.endswith(" …")
    assert "&lt;b&gt;<mark>الرخصة</mark>&lt;/b&gt;" in passage
    assert "<b>" not in passage


def test_a_registration_number_is_matched_exactly(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    letter = letters["طلب شهادة السكنى"]
    sequence = letter.number.rsplit("-", 1)[1]
    results = search(scope_of(clerk, commune), f"a-{letter.year}-{int(sequence)}")
    assert results.by_number
    assert [hit.correspondence.pk for hit in results.hits] == [letter.pk]
    assert number_asked(f"A-{letter.year}-١٢") == f"A-{letter.year}-000012"
    assert number_asked("A-2026") == ""


def test_filters_narrow_the_results(
    letters: dict[str, Correspondence], clerk: User, commune: Administration, citizen: User
) -> None:
    request = deposit(commune, citizen, subject="طلب رخصة الربط بشبكة الماء").correspondence
    index_sync()
    case = Case.objects.get(pk=request.pk)
    assert found(clerk, commune, "رخصة", Filters(status=case.status)) == [request.subject]
    assert found(clerk, commune, "رخصة", Filters(direction=Direction.OUTGOING)) == []
    assert found(clerk, commune, "رخصة", Filters(sender="X")) == ["طلب رخصة البناء بالحي الإداري"]
    today = request.registered_at.astimezone(LOCAL_ZONE).date()  # dates are Casablanca's days, not UTC's
    assert len(found(clerk, commune, "رخصة", Filters(date_from=today, date_to=today))) == 2
    assert found(clerk, commune, "رخصة", Filters(date_to=today - timedelta(days=1))) == []
    # No words, filters only: what they select, newest first.
    assert found(clerk, commune, "", Filters(status=case.status)) == [request.subject]


def test_an_outgoing_letter_is_found_by_its_addressee(commune: Administration, clerk: User) -> None:
    letter = counter_mail(
        commune, clerk, "Convocation", body="Réunion", direction=Direction.OUTGOING, sender_name="مصطفى الإدريسي"
    )
    counter_mail(commune, clerk, "Autre", body="Réunion", sender_name="Ali")
    index_sync()
    assert found(clerk, commune, "الادريسي") == ["Convocation"]
    assert found(clerk, commune, "Réunion", Filters(sender="الإدريسي")) == ["Convocation"]
    assert found(clerk, commune, "", Filters(sender="الإدريسي", direction=Direction.OUTGOING)) == [letter.subject]


def test_an_outsider_finds_nothing_of_ours(
    letters: dict[str, Correspondence], outsider: User, commune: Administration, elsewhere: Administration
) -> None:
    counter_mail(elsewhere, outsider, "طلب رخصة البناء")
    index_sync()
    assert found(outsider, commune, "رخصة") == []
    assert found(outsider, elsewhere, "رخصة") == ["طلب رخصة البناء"]


def test_confidential_letters_are_neither_found_nor_counted_by_those_who_may_not_read_them(
    commune: Administration, clerk: User, agent: User
) -> None:
    counter_mail(commune, clerk, "تقرير سري عن الصفقة", confidential=True)
    counter_mail(commune, clerk, "تقرير عن الصفقة")
    index_sync()
    assert len(found(clerk, commune, "الصفقة")) == 2
    results = search(scope_of(agent, commune), "الصفقة")
    assert [hit.correspondence.subject for hit in results.hits] == ["تقرير عن الصفقة"]
    assert results.total == 1


def test_a_query_of_stop_words_says_so(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    results = search(scope_of(clerk, commune), "في من de la")
    assert results.no_terms and results.hits == [] and results.total == 0


def test_counts_stop_at_the_cap(commune: Administration, clerk: User) -> None:
    for n in range(5):
        counter_mail(commune, clerk, f"إشعار رقم {n}")
    index_sync()
    results = search(scope_of(clerk, commune), "إشعار", cap=3)
    assert results.total == 4 and results.capped
    # Too many to rank: the latest registered first.
    assert not results.ranked
    assert [hit.correspondence.subject for hit in results.hits] == [f"إشعار رقم {n}" for n in (4, 3, 2, 1, 0)]
    assert not search(scope_of(clerk, commune), "إشعار").capped
    assert search(scope_of(clerk, commune), "إشعار").ranked
    assert COUNT_CAP == 1000


def test_a_search_costs_a_fixed_number_of_queries(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    scope = scope_of(clerk, commune)
    with CaptureQueriesContext(connection) as queries:
        results = search(scope, "طلب")
    assert len(results.hits) == 2
    # the count, the page (the index's entries alone), the audit event, the page's letters, their
    # attachments' text
    assert len(queries) == 5


def test_every_search_is_kept_in_the_audit_trail(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    from audit.models import AuditEvent

    search(scope_of(clerk, commune), "AB123456", Filters(direction=Direction.INCOMING))
    event = AuditEvent.objects.get(action="register.searched")
    assert event.actor == clerk and event.administration == commune
    assert event.data == {"query": "AB123456", "filters": {"direction": "incoming"}, "total": 0}


def test_the_index_follows_the_registers_and_the_watermark_only_passes_indexed_letters(
    commune: Administration, clerk: User
) -> None:
    first = counter_mail(commune, clerk, "رسالة أولى")
    assert found(clerk, commune, "رسالة") == []  # not indexed yet: the worker's sweep does it
    assert index_sync() == 1
    assert found(clerk, commune, "رسالة") == ["رسالة أولى"]
    assert index_sync() == 0
    # The watermark moves past letters whose entries were written long enough ago only.
    second = counter_mail(commune, clerk, "رسالة ثانية")
    assert IndexProgress.objects.get().watermark < first.pk
    SearchEntry.objects.filter(pk=first.pk).update(indexed_at=now() - SETTLED * 3)
    assert index_sync() == 1  # the second letter
    assert IndexProgress.objects.get().watermark == first.pk
    SearchEntry.objects.filter(pk=second.pk).update(indexed_at=now() - SETTLED * 3)
    assert index_sync() == 0
    assert IndexProgress.objects.get().watermark == second.pk
    assert SearchEntry.objects.count() == 2


def test_a_rebuild_writes_every_entry_again(
    letters: dict[str, Correspondence], clerk: User, commune: Administration
) -> None:
    SearchEntry.objects.update(title="", content="")
    assert found(clerk, commune, "الإنارة") == []
    assert index_rebuild(batch=4) == len(LETTERS)
    assert found(clerk, commune, "الإنارة") == ["شكاية بخصوص الإنارة العمومية"]


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("documents.text_layers", fromlist=["x"]).ocr_available()
    and __import__("os").environ.get("CI") != "true",
    reason="Tesseract with Arabic and French is not installed here",
)
def test_a_scanned_letter_is_found_by_its_recognised_arabic_and_french_words(
    commune: Administration, clerk: User
) -> None:
    from documents.intake import bytes_upload, check_files
    from documents.samples import scanned_letter
    from documents.text_layers import text_layers_make

    files = check_files([bytes_upload(scanned_letter(), "scan.pdf")])
    counter_mail(commune, clerk, "بريد وارد", files=files)
    assert index_sync() == 1
    assert SearchEntry.objects.get().texts_pending == 1
    assert found(clerk, commune, "المستشفي") == []  # the scan's words: not read yet
    assert text_layers_make() == 1
    assert index_sync() == 1  # the entry written again with the recognised text
    assert SearchEntry.objects.get().texts_pending == 0
    assert found(clerk, commune, "الاقليمي المستشفي") == ["بريد وارد"]  # typed without hamza, ي for ى
    assert found(clerk, commune, "residence bourse") == ["بريد وارد"]  # typed without accents
    (hit,) = search(scope_of(clerk, commune), "bourse").hits
    assert "<mark>bourse</mark>" in hit.snippet  # the passage of the scan that matched
