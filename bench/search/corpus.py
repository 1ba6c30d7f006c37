"""The search benchmark's text: bilingual letter bodies and subjects as clerks receive them.

The desk benchmark's dataset (:mod:`bench.desk.dataset`) draws each letter's subject from a few
dozen and its text from six bodies. Searching needs more: :func:`letters_with_text` wraps the
desk's correspondence rows and gives every letter a text of its own, made of sentences about its
subject's matter (building, civil status, commerce, technical services, general affairs, the
annexes), in Arabic, in French or in both, naming places, people, shops and numbers drawn from
lists where a few items are common and most are rare (Zipf-like). Writers spell the way they
do: some drop the hamza on the alef, write ة as ه or ى as ي, add diacritics or tatweel, use
Arabic-Indic digits, or leave the accents off their French.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bench.desk.vocabulary import (
    BODIES,
    CITIES,
    FIRST_NAMES,
    FREE_SUBJECTS,
    LAST_NAMES,
    PROCEDURES,
)

# ---------------------------------------------------------------- vocabulary

# Neighbourhoods (حي …), housing estates (تجزئة …) and villages (دوار …): Arabic, French.
PLACES: list[tuple[str, str]] = [
    ("السلام", "Salam"), ("النهضة", "Nahda"), ("الفتح", "El Fath"), ("الرياض", "Riad"), ("المسيرة", "Massira"),
    ("الأمل", "Al Amal"), ("القدس", "Al Qods"), ("الوحدة", "Al Wahda"), ("المحمدي", "Mohammadi"),
    ("الانبعاث", "Al Inbiaat"), ("النصر", "Annasr"), ("الحسني", "Hassani"), ("السعادة", "Saada"),
    ("الزيتون", "Zitoune"), ("البساتين", "Bassatine"), ("الكرامة", "Karama"), ("مولاي رشيد", "Moulay Rachid"),
    ("سيدي مومن", "Sidi Moumen"), ("الألفة", "Oulfa"), ("يعقوب المنصور", "Yacoub El Mansour"), ("أكدال", "Agdal"),
    ("المعاريف", "Maârif"), ("بوركون", "Bourgogne"), ("الصخور السوداء", "Roches Noires"), ("عين الشق", "Aïn Chock"),
    ("سباتة", "Sbata"), ("بن مسيك", "Ben Msik"), ("التقدم", "Takaddoum"), ("الرحمة", "Errahma"),
    ("الوفاق", "El Wifaq"), ("الليمون", "Lamoune"), ("الورود", "Les Roses"), ("الياسمين", "Yasmina"),
    ("النخيل", "Palmeraie"), ("الأندلس", "Andalous"), ("الشرف", "Echaraf"), ("الازدهار", "Izdihar"),
    ("العرفان", "Irfane"), ("المنزه", "Menzeh"), ("الفرح", "El Farah"), ("الهدى", "El Houda"),
    ("الربيع", "Rabii"), ("الصفاء", "Safaa"), ("الرشاد", "Rachad"), ("القصبة", "Kasbah"), ("الملاح", "Mellah"),
    ("المدينة القديمة", "Médina"), ("الحي الحسني", "Hay Hassani"), ("عين السبع", "Aïn Sebaâ"),
    ("البرنوصي", "Bernoussi"), ("الحي الصناعي", "zone industrielle"), ("بوزنيقة", "Bouznika"),
    ("أولاد حمو", "Oulad Hammou"), ("آيت بوزيد", "Aït Bouzid"), ("أولاد الطيب", "Oulad Tayeb"),
    ("تيط مليل", "Tit Mellil"), ("عين عودة", "Aïn Aouda"), ("سيدي يحيى", "Sidi Yahya"), ("المنصورية", "Mansouria"),
    ("دار بوعزة", "Dar Bouazza"), ("الهراويين", "Lahraouiyine"), ("الرحامنة", "Rhamna"), ("سيدي رحال", "Sidi Rahal"),
    ("تامسنا", "Tamesna"), ("الصفصاف", "Safsaf"), ("الدوحة", "Doha"), ("أم الربيع", "Oum Errabia"),
    ("الغزوة", "Ghazoua"), ("الكورنيش", "Corniche"), ("المرس", "El Mers"), ("بوسكورة", "Bouskoura"),
    ("الحديقة", "Jnane"), ("لالة مريم", "Lalla Meryem"), ("ابن سينا", "Ibn Sina"), ("الزهراء", "Zahra"),
    ("الفردوس", "Ferdaous"), ("المستقبل", "Al Moustakbal"), ("الخير", "El Khair"), ("الشروق", "Echourouk"),
    ("تابريكت", "Tabriquet"), ("بطانة", "Bettana"), ("المرينيين", "Mérinides"), ("زواغة", "Zouagha"),
]  # fmt: skip
PLACE_KINDS = [("حي", "quartier"), ("تجزئة", "lotissement"), ("دوار", "douar")]
STREETS: list[tuple[str, str]] = [
    ("شارع محمد الخامس", "avenue Mohammed V"), ("شارع الحسن الثاني", "boulevard Hassan II"),
    ("شارع الجيش الملكي", "avenue des FAR"), ("زنقة ابن سينا", "rue Ibn Sina"),
    ("شارع علال بن عبد الله", "rue Allal Ben Abdellah"), ("زنقة الأطلس", "rue de l'Atlas"),
    ("شارع المقاومة", "boulevard de la Résistance"), ("زنقة فلسطين", "rue de Palestine"),
    ("شارع الزرقطوني", "boulevard Zerktouni"), ("زنقة المسجد", "rue de la Mosquée"),
    ("شارع الأمير مولاي عبد الله", "avenue Moulay Abdellah"), ("زنقة الطائف", "rue Taïf"),
    ("شارع الاستقلال", "avenue de l'Indépendance"), ("زنقة المدرسة", "rue de l'École"),
]  # fmt: skip
SHOPS: list[tuple[str, str]] = [
    ("مقهى", "café"), ("مخبزة", "boulangerie"), ("صيدلية", "pharmacie"), ("محل للحلاقة", "salon de coiffure"),
    ("مطعم", "restaurant"), ("محلبة", "crèmerie"), ("محل لبيع مواد البناء", "quincaillerie"),
    ("مختبر للتحاليل الطبية", "laboratoire d'analyses"), ("مدرسة خصوصية", "école privée"),
    ("وكالة للأسفار", "agence de voyages"), ("مرآب لإصلاح السيارات", "garage de mécanique"), ("مصبنة", "pressing"),
    ("حمام تقليدي", "hammam"), ("فرن تقليدي", "four traditionnel"), ("مقهى للإنترنت", "cybercafé"),
    ("محل للخياطة", "atelier de couture"), ("مجزرة", "boucherie"), ("محل لبيع الهواتف", "boutique de téléphonie"),
]  # fmt: skip
DOCUMENTS: list[tuple[str, str]] = [
    ("نسخة من البطاقة الوطنية للتعريف", "copie de la CNIE"), ("شهادة الملكية", "certificat de propriété"),
    ("التصميم الطبوغرافي", "plan topographique"), ("عقد الكراء", "contrat de bail"),
    ("فاتورة الماء والكهرباء", "facture d'eau et d'électricité"), ("شهادة إدارية", "attestation administrative"),
    ("عقد الزواج", "acte de mariage"), ("وصل الأداء", "quittance de paiement"), ("السجل التجاري", "registre de commerce"),
    ("شهادة عدم التعرض", "attestation de non-opposition"), ("محضر المعاينة", "procès-verbal de constat"),
]  # fmt: skip
PEOPLE_EXTRA = ["مصطفى", "يحيى", "موسى", "عيسى", "ليلى", "سلمى", "هدى", "نجوى", "Mustapha", "Yahya", "Leïla"]

# What a letter's text talks about: the desk's subjects, by the service that handles them.
_SUBJECT_MATTER: dict[str, str] = {
    subject: code for code, _service, *_rest, subjects in PROCEDURES for subject in subjects
} | {subject: code for code, subjects in FREE_SUBJECTS for subject in subjects}
_MATTERS = {"URB-PC": "URB", "URB-LOT": "URB", "EC-COPIE": "EC", "EC-RECT": "EC", "ECO-AUT": "ECO", "ECO-OCC": "ECO"}
_MATTERS |= {"TECH-EAU": "TECH", "ANX-RES": "ANX", "ANX1": "ANX", "ANX2": "ANX"}

# Sentences by matter, Arabic then French. {place} {street} {shop} {document} {person} {city}
# {n} {weeks} {tf} {area} {amount} {year} {date} are filled in.
SENTENCES: dict[str, tuple[list[str], list[str]]] = {
    "URB": (
        [
            "يتعلق الأمر بقطعة أرضية تقع ب{place}، موضوع الرسم العقاري عدد {tf}، مساحتها {area} متر مربع.",
            "وقد تم إعداد التصاميم من طرف المهندس المعماري {person} وفق ضوابط تصميم التهيئة المعمول به.",
            "ألتمس منكم الترخيص بإضافة طابق ثان وفتح نافذة على الزقاق رقم {n}.",
            "قام الجار ببناء سور ومرآب دون رخصة مما تسبب في تشققات بجدار المبنى المجاور.",
            "يقع المبنى المعني على بعد أمتار من المستشفى الإقليمي ولا يتجاوز علوه الحد الأقصى المسموح به.",
            "تم إيداع الملف بالشباك الوحيد للتعمير بتاريخ {date} تحت رقم {n}.",
            "وقد أبدت الوكالة الحضرية رأيا موافقا مع تحفظات تتعلق بالواجهة والارتفاقات.",
        ],
        [
            "Il s'agit d'un terrain situé au {place_fr}, objet du titre foncier n° {tf}, d'une superficie de {area} m².",
            "Les plans ont été établis par l'architecte {person} conformément au plan d'aménagement en vigueur.",
            "Le voisin a édifié un mur de clôture et un garage sans autorisation, provoquant des fissures.",
            "Le dossier a été déposé au guichet unique de l'urbanisme le {date} sous le n° {n}.",
            "L'agence urbaine a émis un avis favorable assorti de réserves sur la façade et les servitudes.",
            "Je sollicite l'autorisation de surélever la construction d'un étage et d'ouvrir une fenêtre sur la ruelle.",
        ],
    ),
    "EC": (
        [
            "ازداد المعني بالأمر بتاريخ {date} بمدينة {city}، وسجل برسم الولادة عدد {n} لسنة {year}.",
            "وقد تبين وجود خطأ في كتابة الاسم الشخصي حيث كتب {person} عوض الاسم الصحيح.",
            "أحتاج إلى هذه الوثيقة لاستكمال ملف جواز السفر والتسجيل بالمدرسة.",
            "تم تسجيل عقد الزواج لدى قسم التوثيق بالمحكمة الابتدائية ب{city}.",
            "المرجو تسليم النسخة إلى السيدة ليلى أو من ينوب عنها بوكالة مصادق عليها.",
        ],
        [
            "L'intéressé est né le {date} à {city_fr} et a été inscrit sous l'acte n° {n} de l'année {year}.",
            "Une erreur a été relevée dans l'orthographe du prénom, inscrit {person} au lieu du prénom exact.",
            "Ce document est requis pour compléter le dossier de passeport et l'inscription scolaire.",
            "L'acte de mariage a été transcrit par la section notariale du tribunal de première instance.",
        ],
    ),
    "ECO": (
        [
            "أرغب في فتح {shop} بالمحل الكائن ب{street} رقم {n} ب{place}.",
            "وقد حصلت على شهادة عدم التعرض من الجيران ووصل أداء الرسم على محال بيع المشروبات.",
            "المحل مجهز بكل وسائل السلامة وتتوفر فيه شروط الصحة والنظافة حسب محضر اللجنة المختلطة.",
            "أطلب الترخيص باستغلال جزء من الرصيف مساحته {area} متر مربع لوضع الكراسي والطاولات أمام المقهى.",
            "يبلغ رأس مال الشركة {amount} درهم وهي مسجلة بالسجل التجاري تحت رقم {n}.",
        ],
        [
            "Je souhaite ouvrir un(e) {shop_fr} dans le local sis {street_fr}, n° {n}, au {place_fr}.",
            "J'ai obtenu l'attestation de non-opposition des voisins et acquitté la taxe sur les débits de boissons.",
            "Le local est équipé des moyens de sécurité requis et répond aux normes d'hygiène.",
            "Je sollicite l'occupation d'une partie du trottoir de {area} m² pour une terrasse devant le café.",
            "Le capital social de la société s'élève à {amount} dirhams, immatriculée au RC sous le n° {n}.",
        ],
    ),
    "TECH": (
        [
            "يعاني سكان {place} من انقطاع الإنارة العمومية منذ {weeks} أسابيع مما يشكل خطرا على المارة.",
            "تراكمت النفايات قرب المدرسة الابتدائية وأصبحت مصدرا للروائح الكريهة والحشرات.",
            "الطريق الرابطة بين {place} و{place2} في حالة مزرية بسبب الحفر وتسرب مياه الصرف الصحي.",
            "نرجو منكم إيفاد لجنة تقنية للمعاينة وإصلاح قناة الماء الصالح للشرب ب{street}.",
            "سقط عمود كهربائي قرب مسجد الحي ولم يتم إصلاحه رغم الاتصال بالمصالح المختصة.",
        ],
        [
            "Les habitants du {place_fr} sont privés d'éclairage public depuis {weeks} semaines.",
            "Des déchets s'accumulent près de l'école primaire et attirent insectes et mauvaises odeurs.",
            "La chaussée entre {place_fr} et {place2_fr} est dégradée : nids-de-poule et fuites d'assainissement.",
            "Nous demandons l'envoi d'une commission technique pour réparer la conduite d'eau potable {street_fr}.",
            "Un poteau électrique est tombé près de la mosquée du quartier et n'a toujours pas été remplacé.",
        ],
    ),
    "DGS": (
        [
            "يشرفني أن أدعوكم لحضور اجتماع اللجنة الإقليمية الذي سينعقد يوم {date} على الساعة العاشرة صباحا.",
            "وسيخصص هذا الاجتماع لدراسة برنامج عمل الجماعة ومشروع الميزانية برسم سنة {year}.",
            "تتعلق المعلومات المطلوبة بصفقة تهيئة {place} التي بلغ مبلغها الإجمالي {amount} درهم.",
            "طبقا لمقتضيات القانون التنظيمي 113.14 المتعلق بالجماعات، المرجو موافاتنا بالمعطيات المطلوبة.",
            "وقد أحيل الملف على المديرية العامة للمصالح قصد الدراسة وإبداء الرأي.",
        ],
        [
            "J'ai l'honneur de vous inviter à la réunion de la commission provinciale qui se tiendra le {date}.",
            "Cette réunion sera consacrée au programme d'action de la commune et au projet de budget {year}.",
            "Les informations demandées concernent le marché d'aménagement du {place_fr}, d'un montant de {amount} DH.",
            "Conformément à la loi organique 113-14 relative aux communes, merci de nous transmettre ces données.",
        ],
    ),
    "ANX": (
        [
            "أقطن ب{place} منذ سنة {year} بالعنوان الكائن ب{street} رقم {n}.",
            "أحتاج شهادة السكنى لتقديمها إلى مصالح الضمان الاجتماعي والبنك والمستشفى الإقليمي.",
            "وأرفق طلبي بنسخة من فاتورة الماء والكهرباء ومن عقد الكراء.",
            "المرجو تصحيح الإمضاء على عقد البيع المبرم مع السيد {person}.",
        ],
        [
            "Je réside au {place_fr} depuis {year}, à l'adresse {street_fr}, n° {n}.",
            "Le certificat de résidence est demandé par la CNSS, la banque et l'hôpital provincial.",
            "Je joins une facture d'eau et d'électricité ainsi que le contrat de bail.",
            "Je sollicite la légalisation de ma signature sur le compromis de vente conclu avec M. {person}.",
        ],
    ),
}
ATTACHED = ("وتجدون رفقته {document} و{document2}.", "Vous trouverez ci-joint {document_fr} et {document2_fr}.")
OPENINGS = (
    ["السيد الرئيس المحترم،", "سلام تام بوجود مولانا الإمام، وبعد،", "إلى السيد رئيس المجلس الجماعي لمدينة {city}،"],
    ["Monsieur le Président,", "Madame, Monsieur,", "À Monsieur le Président du conseil communal de {city_fr},"],
)
CLOSINGS = (
    ["وتفضلوا بقبول فائق التقدير والاحترام.", "وفي انتظار ردكم الإيجابي، تقبلوا أسمى عبارات التقدير.", "والسلام."],
    ["Veuillez agréer, Monsieur le Président, l'expression de ma haute considération.", "Cordialement."],
)
ANSWERS = (
    "جوابا على طلبكم المسجل بتاريخ {date}، يؤسفني أن أخبركم بأن الملف قيد الدراسة من طرف المصالح المختصة.",
    "En réponse à votre demande du {date}, j'ai l'honneur de vous informer que votre dossier a été traité.",
    "تبعا لطلبكم، يشرفني أن أبعث إليكم طيه الوثيقة المطلوبة.",
    "Suite à votre réclamation, une équipe technique s'est rendue sur place le {date}.",
)


def zipf(n: int, exponent: float = 1.1) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(n)]


# ---------------------------------------------------------------- spelling

_HAMZA_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})
_TAA = re.compile("ة(?=[^\u0621-\u064a]|$)")
_DIGITS_AR = str.maketrans({str(n): chr(0x0660 + n) for n in range(10)})
_LATIN_PLAIN = str.maketrans("éèêëàâäîïôöûùüçÉÈÀÇ", "eeeeaaaiioouuucEEAC")
_MARKS = "\u064e\u064f\u0650\u0652\u0651\u064b"  # fatha damma kasra sukun shadda fathatan
_JOINING = re.compile("([\u0628-\u063a\u0641-\u0646\u0647\u064a])(?=[\u0621-\u064a])")  # letters joining leftwards
_ARABIC_WORD = re.compile("[\u0621-\u064a]{4,}")


class Style:
    """How one writer spells: drawn once per letter."""

    __slots__ = ("arabic_digits", "diacritics", "french_plain", "no_hamza", "taa_as_haa", "tatweel", "yaa")

    def __init__(self, rng: random.Random) -> None:
        self.no_hamza = rng.random() < 0.25
        self.taa_as_haa = rng.random() < 0.10
        self.yaa = rng.random() < 0.15  # ى written ي
        self.diacritics = rng.random() < 0.05
        self.tatweel = rng.random() < 0.04
        self.arabic_digits = rng.random() < 0.06
        self.french_plain = rng.random() < 0.30  # accents left off

    def apply(self, text: str, rng: random.Random) -> str:
        if self.no_hamza:
            text = text.translate(_HAMZA_ALEF)
        if self.taa_as_haa:
            text = _TAA.sub("ه", text)
        if self.yaa:
            text = text.replace("ى", "ي")
        if self.arabic_digits:
            text = text.translate(_DIGITS_AR)
        if self.french_plain:
            text = text.translate(_LATIN_PLAIN)
        if self.diacritics:
            text = _ARABIC_WORD.sub(lambda m: _voweled(m.group(), rng) if rng.random() < 0.4 else m.group(), text)
        if self.tatweel:
            text = _ARABIC_WORD.sub(lambda m: _stretched(m.group(), rng) if rng.random() < 0.1 else m.group(), text)
        return text


def _voweled(word: str, rng: random.Random) -> str:
    return "".join(ch + (rng.choice(_MARKS) if rng.random() < 0.5 else "") for ch in word)


def _stretched(word: str, rng: random.Random) -> str:
    return _JOINING.sub(lambda m: m.group(1) + "ـ" * rng.randrange(1, 4) if rng.random() < 0.3 else m.group(1), word)


# ---------------------------------------------------------------- letters


class Writer:
    """Subjects and texts, deterministic for a seed and the order of the calls."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        kinds = [(k_ar, k_fr, p_ar, p_fr) for p_ar, p_fr in PLACES for k_ar, k_fr in PLACE_KINDS]
        random.Random(seed + 1).shuffle(kinds)  # which place is common: fixed by the seed
        self.places = kinds
        self.place_weights = zipf(len(kinds))
        self.shop_weights = zipf(len(SHOPS), 1.3)
        self.people = [*FIRST_NAMES, *PEOPLE_EXTRA]
        # The desk's bodies, Arabic ones and French ones: a paragraph some letters also have.
        self.bodies = (
            [body for body in BODIES if body and not _LATIN.search(body[:3])],
            [body for body in BODIES if body and _LATIN.search(body[:3])],
        )

    def place(self) -> tuple[str, str]:
        k_ar, k_fr, p_ar, p_fr = self.rng.choices(self.places, weights=self.place_weights)[0]
        return f"{k_ar} {p_ar}", f"{k_fr} {p_fr}"

    def _fill(self, template: str, city: tuple[str, str], year: int) -> str:
        rng = self.rng
        values: dict[str, Any] = {}
        for name in re.findall(r"\{(\w+)\}", template):
            if name in values:
                continue
            base = name.removesuffix("_fr")
            french = name.endswith("_fr")
            if base in ("place", "place2"):
                ar, fr = self.place()
                values[base], values[base + "_fr"] = ar, fr
            elif base == "street":
                values["street"], values["street_fr"] = rng.choice(STREETS)
            elif base == "shop":
                values["shop"], values["shop_fr"] = rng.choices(SHOPS, weights=self.shop_weights)[0]
            elif base in ("document", "document2"):
                values[base], values[base + "_fr"] = rng.choice(DOCUMENTS)
            elif base == "city":
                values["city"], values["city_fr"] = city if rng.random() < 0.8 else rng.choice(CITIES)
            elif base == "person":
                values[name] = f"{rng.choice(self.people)} {rng.choice(LAST_NAMES)}"
            elif base == "n":
                values[name] = str(rng.randrange(1, 3000))
            elif base == "weeks":
                values[name] = str(rng.randrange(2, 10))
            elif base == "tf":
                values[name] = f"{rng.randrange(1000, 99999)}/{rng.randrange(1, 80):02d}"
            elif base == "area":
                values[name] = str(rng.choice((80, 96, 120, 150, 200, 240, 300, 450, 1200, 2500)))
            elif base == "amount":
                values[name] = f"{rng.randrange(10, 9000) * 1000:,}".replace(",", " ")
            elif base == "year":
                values[name] = str(year - rng.randrange(0, 40))
            elif base == "date":
                values[name] = f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{year - rng.randrange(0, 3)}"
            else:  # pragma: no cover - a template naming a slot not handled above
                raise KeyError(name)
            if french and name not in values:
                values[name] = values[base]
        return template.format(**values)

    def subject(self, subject: str, style: Style, city: tuple[str, str], year: int) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            ar, fr = self.place()
            subject += f" - {fr}" if _LATIN.search(subject[:3]) else f" ب{ar}"
        elif r < 0.30:
            subject += f" - {rng.choice(LAST_NAMES)}"
        return style.apply(subject, rng)[:300]

    def body(self, subject: str, style: Style, city: tuple[str, str], year: int, outgoing: bool) -> str:
        rng = self.rng
        if outgoing:
            if rng.random() < 0.3:
                return ""
            return style.apply(self._fill(rng.choice(ANSWERS), city, year), rng)
        if rng.random() < 0.1:
            return ""
        code = _SUBJECT_MATTER.get(_PLAIN_SUBJECT.sub("", subject), "")
        matter = _MATTERS.get(code, code)
        if matter not in SENTENCES:
            matter = rng.choice(list(SENTENCES))
        french_subject = bool(_LATIN.search(subject[:3]))
        r = rng.random()
        languages = [1] if r < 0.28 else [0] if r < 0.78 else [0, 1] if r < 0.92 else [1, 0]
        if french_subject and languages == [0]:
            languages = [1]
        parts: list[str] = []
        for lang in languages:
            sentences = SENTENCES[matter][lang]
            parts.append(self._fill(rng.choice(OPENINGS[lang]), city, year))
            count = rng.choice((2, 2, 3, 3, 4, 5)) if len(languages) == 1 else rng.choice((1, 2, 2))
            for template in rng.sample(sentences, min(count, len(sentences))):
                parts.append(self._fill(template, city, year))
            if rng.random() < 0.4:
                parts.append(self._fill(ATTACHED[lang], city, year))
            if rng.random() < 0.2:
                parts.append(rng.choice(self.bodies[lang]))
            parts.append(self._fill(rng.choice(CLOSINGS[lang]), city, year))
        return style.apply(" ".join(parts), rng)


_LATIN = re.compile("[A-Za-z]")
_PLAIN_SUBJECT = re.compile(r" \(\d+/\d{4}\)$")


def letters_with_text(
    rows_function: Callable[..., Iterator[tuple[Any, ...]]], columns: Sequence[str], seed: int
) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """``rows_function`` (the desk's ``correspondence_rows(ordered, org, replies)``) with each
    row's subject and text written by a :class:`Writer`."""
    at = {name: columns.index(name) for name in ("administration_id", "direction", "year", "subject", "body")}
    i_subject, i_body = at["subject"], at["body"]
    assert i_body == i_subject + 1

    def rows(ordered: Any, org: Any, replies: Any) -> Iterator[tuple[Any, ...]]:
        writer = Writer(seed)
        # Administration i is in the desk's CITIES[i]: letters mostly name their own city.
        cities = {admin_id: CITIES[i % len(CITIES)] for i, admin_id in enumerate(org.admin_ids)}
        for row in rows_function(ordered, org, replies):
            style = Style(writer.rng)
            city = cities[row[at["administration_id"]]]
            year = row[at["year"]]
            original = row[i_subject]
            subject = writer.subject(original, style, city, year)
            body = writer.body(original, style, city, year, row[at["direction"]] == "outgoing")
            yield (*row[:i_subject], subject, body, *row[i_body + 1 :])

    return rows


def sample_letters(n: int, seed: int = 1) -> Iterator[tuple[str, str]]:
    """``n`` (subject, text) pairs, for looking at the corpus."""
    subjects = [s for _code, *_r, subjects in PROCEDURES for s in subjects]
    writer = Writer(seed)
    for _ in range(n):
        style = Style(writer.rng)
        original = writer.rng.choice(subjects)
        city = CITIES[0]
        yield (
            writer.subject(original, style, city, 2026),
            writer.body(original, style, city, 2026, outgoing=False),
        )
