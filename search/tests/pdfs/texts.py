"""The text of the PDF corpus, as written (logical order): what each file must give back.

Arabic from the workspace's press articles (the digital administration in Tangier, Essaouira)
and a letter as a hospital writes it; French and mixed as a commune's mail reads. Each text is
long enough to wrap over several lines, and between them they hold the spellings the search
normaliser folds: hamza on alef (أ إ آ), on waw (ؤ), taa marbuta (ة), alef maqsura (ى), the
lam-alef ligatures (لا لأ لإ لآ), numbers and Latin words inside Arabic lines, Arabic words
inside French lines.
"""

from __future__ import annotations

ARABIC_TITLE = "مراسلة الكاتب العام لولاية جهة طنجة تطوان الحسيمة"
ARABIC_BODY = (
    "أوضح الكاتب العام لولاية جهة طنجة تطوان الحسيمة، بكون المغرب وضع أوراشا كبرى ومهمة في مجال "
    "الرقمنة، متمنيا من جميع الإدارات أخذ الموضوع بجدية، لاسيما مع وجود بعض المرافق التي تعتبر "
    "التحديث والعصرنة من الكماليات، من خلال تشبثها بالعمل بالأوراق.",
    "وكان هذا اللقاء فرصة للمشاركين من الأكاديميين والمسؤولين للنقاش وتبادل الآراء حول مشروع الرقمنة "
    "بالإدارة العمومية، وتقييم هذه التجربة على مستوى الإقليم، بمبادرة من المستشفى الإقليمي ومستشفى "
    "الحسن الثاني لأجل تكوين الموظفين.",
)

BILINGUAL_TITLE = "طلب الإنارة العمومية — Demande d'éclairage public"
BILINGUAL_BODY = (
    "توصلت المصلحة بطلبكم المسجل تحت رقم A-2026-000123 بتاريخ 12/03/2026 في شأن مشروع الإنارة "
    "العمومية بحي Hay Mohammadi، بمبلغ 250000 درهم، وذلك في إطار برنامج عمل الجماعة 2022-2027.",
    "Objet : délibération du Conseil communal relative à l'éclairage public du quartier Hay Mohammadi "
    "(حي المحمدي). Le Conseil approuve le programme, d'un montant de 250 000 dirhams, et son "
    "financement par la commune de Salé.",
)

# The two letters printed from a browser that broke Wasl (the workspace's samples).
CHROMIUM_REQUEST = ("طلب موافقة", "نلتمس منكم الموافقة على تنظيم مهرجان الفروسية التقليدية بجماعتكم خلال فصل الصيف.")
CHROMIUM_HOSPITAL = ("مراسلة من المستشفى الإقليمي", "في شأن التكوين الإداري للموظفين بمستشفى الحسن الثاني.")
