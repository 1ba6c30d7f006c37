"""Real administrative text, searched in every usual spelling, on the suite's database (SQLite,
then PostgreSQL): both must return exactly the expected letters.

The Arabic letters are excerpts of the press articles the product comes from (the workspace's
seeds: the digital administration in Tangier, Essaouira, Dakhla, Salé); the French ones are
written the way a commune's mail reads.
"""

from __future__ import annotations

import pytest

from registry.models import Correspondence
from registry.testing import counter_mail
from search.selectors import Filters, search
from search.services import index_sync
from tenancy.access import scope_of
from tenancy.models import Administration, User

pytestmark = pytest.mark.django_db

CORPUS = {
    "tangier": (
        "مراسلة الكاتب العام لولاية جهة طنجة تطوان الحسيمة",
        "أوضح الكاتب العام لولاية جهة طنجة تطوان الحسيمة الحبيب العلمي، بكون المغرب، وضع اوراشا كبرى ومهمة "
        "في مجال الرقمنة، متمنيا من جميع الإدارات اخذ الموضوع بجدية، لاسيما مع وجود بعض المرافق.",
    ),
    "covid": (
        "منشور حول الخدمات الرقمية في الإدارات العمومية",
        "دفع تفشي فيروس كورونا المستجد المغرب إلى اعتماد الخدمات الرقمية في الإدارات العمومية، وهذا ما صرح "
        "به وزير الإقتصاد والمالية وإصلاح الإدارة في منشور وجهه إلى الوزراء.",
    ),
    "essaouira": (
        "دعوة إلى يوم دراسي حول رقمنة الخدمات العمومية بالصويرة",
        "شكل موضوع رقمنة الخدمات العمومية بالصويرة محور يوم دراسي بحضور ثلة من الأكاديميين والمسؤولين عن "
        "مؤسسات عمومية، وتقييم هذه التجربة على مستوى الإقليم والتحديات التي يجب مواجهتها.",
    ),
    "dakhla": (
        "تقرير اللقاء الدراسي لمجالس العمالات والأقاليم",
        "قال رئيس الجمعية المغربية لرؤساء مجالس العمالات والأقاليم خلال الجلسة الافتتاحية لليوم الدراسي "
        "الذي انعقد بمدينة الداخلة إن الجمعية تقوم بتنسيق مع المديرية العامة للجماعات الترابية.",
    ),
    "sale": (
        "برنامج عمل جماعة سلا 2022-2027",
        "في إطار عملية التشخيص الخاصة ببرنامج عملها 2022 -2027 نظمت جماعة سلا سلسلة من اللقاءات التشاورية "
        "حول رقمنة الخدمات والتواصل.",
    ),
    "council": (
        "Délibération du Conseil communal relative à l'éclairage public",
        "Extrait du procès-verbal de la séance : le Conseil approuve le programme d'éclairage public du quartier "
        "Hay Mohammadi et son financement.",
    ),
    "hospital": (
        "Demande d'autorisation de stationnement — Hôpital régional",
        "L'hôpital régional sollicite l'autorisation de réserver six places de stationnement aux ambulances.",
    ),
}


@pytest.fixture
def corpus(commune: Administration, clerk: User) -> dict[str, Correspondence]:
    letters = {key: counter_mail(commune, clerk, subject, body=body) for key, (subject, body) in CORPUS.items()}
    index_sync()
    return letters


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # ة written ه, with or without the article
        ("طنجه", {"tangier"}),
        ("تطوان الحسيمه", {"tangier"}),
        # hamza on the alef left out (الإقتصاد), or the other hamza seat (المسؤولين → مسئولين)
        ("الاقتصاد", {"covid"}),
        ("مسئولين", {"essaouira"}),
        # ى typed ي
        ("مستوي الاقليم", {"essaouira"}),
        # the article and prefixes, on either side: بالصويرة, والأقاليم, لرؤساء
        ("الصويرة", {"essaouira"}),
        ("والصويره", {"essaouira"}),
        ("اقاليم", {"dakhla"}),
        ("الرؤساء", {"dakhla"}),
        # diacritics and tatweel in the query; the stemmer takes رقمنة (digitisation) and الرقمية
        # (digital) to the same stem, as PostgreSQL's own Arabic configuration does
        ("الرَّقْمَنَة", {"tangier", "covid", "essaouira", "sale"}),
        ("جمـــاعة سلا", {"sale"}),
        # Arabic-Indic digits
        ("٢٠٢٧", {"sale"}),
        # French: accents, case, plural
        ("deliberation", {"council"}),
        ("ECLAIRAGE public", {"council"}),
        ("hopital", {"hospital"}),
        ("autorisations stationnement", {"hospital"}),
        # every word must be there
        ("الصويرة طنجة", set()),
        ("hôpital conseil", set()),
    ],
)
def test_real_text_is_found_in_every_spelling(
    corpus: dict[str, Correspondence], clerk: User, commune: Administration, query: str, expected: set[str]
) -> None:
    results = search(scope_of(clerk, commune), query)
    by_pk = {letter.pk: key for key, letter in corpus.items()}
    assert {by_pk[hit.correspondence.pk] for hit in results.hits} == expected
    assert results.total == len(expected)


def test_filters_and_words_together(corpus: dict[str, Correspondence], clerk: User, commune: Administration) -> None:
    today = corpus["sale"].registered_at.date()
    found = search(scope_of(clerk, commune), "الرقمنة", Filters(date_from=today, sender="X"))
    assert {hit.correspondence.pk for hit in found.hits} == {
        corpus[key].pk for key in ("tangier", "covid", "essaouira", "sale")
    }
