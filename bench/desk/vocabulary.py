"""The desk benchmark's targets and the vocabulary its dataset is made of."""

from __future__ import annotations

TARGET_INBOX_P95_MS = 50.0
TARGET_SWEEP_S = 5.0
YEARS_BACK_DAYS = 730
INCOMING_SHARE = 0.92

# ---------------------------------------------------------------- vocabulary

CITIES = [
    ("الدار البيضاء", "Casablanca"),
    ("الرباط", "Rabat"),
    ("فاس", "Fès"),
    ("مراكش", "Marrakech"),
    ("طنجة", "Tanger"),
    ("أكادير", "Agadir"),
    ("مكناس", "Meknès"),
    ("وجدة", "Oujda"),
    ("القنيطرة", "Kénitra"),
    ("تطوان", "Tétouan"),
    ("سلا", "Salé"),
    ("تمارة", "Témara"),
    ("آسفي", "Safi"),
    ("المحمدية", "Mohammedia"),
    ("خريبكة", "Khouribga"),
    ("الجديدة", "El Jadida"),
    ("بني ملال", "Béni Mellal"),
    ("الناظور", "Nador"),
    ("تازة", "Taza"),
    ("سطات", "Settat"),
    ("برشيد", "Berrechid"),
    ("العرائش", "Larache"),
    ("الخميسات", "Khémisset"),
    ("القصر الكبير", "Ksar El Kébir"),
    ("تيزنيت", "Tiznit"),
    ("ورزازات", "Ouarzazate"),
    ("الراشيدية", "Errachidia"),
    ("الحسيمة", "Al Hoceïma"),
    ("شفشاون", "Chefchaouen"),
    ("إفران", "Ifrane"),
    ("الصويرة", "Essaouira"),
    ("تارودانت", "Taroudant"),
    ("سيدي قاسم", "Sidi Kacem"),
    ("سيدي سليمان", "Sidi Slimane"),
    ("بركان", "Berkane"),
    ("تاوريرت", "Taourirt"),
    ("جرادة", "Jerada"),
    ("ميدلت", "Midelt"),
    ("أزيلال", "Azilal"),
    ("الفقيه بن صالح", "Fquih Ben Salah"),
    ("وادي زم", "Oued Zem"),
    ("اليوسفية", "Youssoufia"),
    ("قلعة السراغنة", "Kelâa des Sraghna"),
    ("زاكورة", "Zagora"),
    ("طانطان", "Tan-Tan"),
    ("كلميم", "Guelmim"),
    ("العيون", "Laâyoune"),
    ("الداخلة", "Dakhla"),
    ("بوجدور", "Boujdour"),
    ("السمارة", "Smara"),
]

# code, parent, kind, Arabic, French, share of the cases it handles (the mail office handles none).
SERVICES: list[tuple[str, str | None, str, str, str, float]] = [
    ("BO", None, "central", "مكتب الضبط", "Bureau d'ordre", 0.0),
    ("DGS", None, "central", "المديرية العامة للمصالح", "Direction générale des services", 0.06),
    ("URB", "DGS", "central", "مصلحة التعمير", "Service de l'urbanisme", 0.30),
    ("EC", "DGS", "central", "مصلحة الحالة المدنية", "Service de l'état civil", 0.18),
    ("ECO", "DGS", "central", "مصلحة الشؤون الاقتصادية", "Service des affaires économiques", 0.14),
    ("TECH", "DGS", "central", "المصالح التقنية", "Services techniques", 0.14),
    ("ANX1", "DGS", "decentralised", "الملحقة الإدارية الأولى", "Annexe administrative n° 1", 0.10),
    ("ANX2", "DGS", "decentralised", "الملحقة الإدارية الثانية", "Annexe administrative n° 2", 0.08),
]
BIG_SERVICE = "URB"
DIRECTORATE = "DGS"

# code, service, delay (calendar days), silence rule, investment, Arabic, French, subjects.
PROCEDURES: list[tuple[str, str, int, str, bool, str, str, list[str]]] = [
    (
        "URB-PC",
        "URB",
        30,
        "acceptance",
        True,
        "رخصة البناء",
        "Autorisation de construire",
        [
            "طلب رخصة البناء لقطعة أرضية بالحي الإداري",
            "Demande d'autorisation de construire une maison individuelle R+1",
            "طلب رخصة البناء لتوسيع مسكن",
            "Demande de permis de construire pour un immeuble R+3 avec commerces",
        ],
    ),
    (
        "URB-LOT",
        "URB",
        60,
        "acceptance",
        True,
        "رخصة التجزئة",
        "Autorisation de lotir",
        ["طلب رخصة تجزئة عقار", "Demande d'autorisation de lotir un terrain de 2 hectares"],
    ),
    (
        "EC-COPIE",
        "EC",
        60,
        "none",
        False,
        "نسخة موجزة من رسم الولادة",
        "Copie intégrale d'acte de naissance",
        ["طلب نسخة كاملة من رسم الولادة", "Demande de copie intégrale d'acte de naissance"],
    ),
    (
        "EC-RECT",
        "EC",
        60,
        "none",
        False,
        "تصحيح رسم من رسوم الحالة المدنية",
        "Rectification d'un acte d'état civil",
        ["طلب تصحيح خطأ في الاسم العائلي برسم الولادة", "Demande de rectification d'une date de naissance"],
    ),
    (
        "ECO-AUT",
        "ECO",
        60,
        "acceptance",
        False,
        "رخصة استغلال محل تجاري",
        "Autorisation d'exploitation d'un local commercial",
        ["طلب رخصة استغلال محل تجاري لبيع المواد الغذائية", "Demande d'autorisation d'ouverture d'un café"],
    ),
    (
        "ECO-OCC",
        "ECO",
        60,
        "acceptance",
        False,
        "رخصة الاحتلال المؤقت للملك العمومي",
        "Occupation temporaire du domaine public",
        ["طلب رخصة الاحتلال المؤقت للملك العمومي الجماعي", "Demande d'occupation temporaire d'un trottoir (terrasse)"],
    ),
    (
        "TECH-EAU",
        "TECH",
        60,
        "none",
        False,
        "الربط بشبكة الماء الصالح للشرب",
        "Raccordement au réseau d'eau potable",
        ["طلب الربط بشبكة الماء الصالح للشرب", "Demande de raccordement au réseau d'assainissement"],
    ),
    (
        "ANX-RES",
        "ANX1",
        60,
        "none",
        False,
        "شهادة السكنى",
        "Certificat de résidence",
        ["طلب شهادة السكنى", "Demande de certificat de résidence", "طلب شهادة الحياة"],
    ),
]

# Requests outside the catalogue: service, subjects.
FREE_SUBJECTS: list[tuple[str, list[str]]] = [
    ("TECH", ["شكاية بخصوص الإنارة العمومية بالحي", "Réclamation concernant l'éclairage public du quartier"]),
    ("TECH", ["شكاية حول تراكم النفايات بالشارع الرئيسي", "Signalement d'une chaussée dégradée rue 14"]),
    ("URB", ["تظلم بخصوص بناء غير قانوني مجاور", "Plainte pour une construction sans autorisation"]),
    ("ECO", ["طلب معلومات حول الرسوم المحلية", "Demande d'information sur la taxe sur les terrains non bâtis"]),
    ("DGS", ["دعوة لحضور اجتماع اللجنة الإقليمية", "Invitation à la réunion de la commission provinciale"]),
    ("DGS", ["طلب الحصول على المعلومات طبقا للقانون 31.13", "Demande d'accès à l'information (loi 31-13)"]),
    ("EC", ["طلب تسجيل مولود خارج الأجل القانوني", "Demande de transcription d'un acte de mariage"]),
    ("ANX2", ["طلب تصحيح الإمضاء", "Demande de légalisation de signature pour un dossier"]),
]

BODIES = [
    "",
    "",
    "السيد الرئيس المحترم، سلام تام بوجود مولانا الإمام. وبعد، يشرفني أن أتقدم إلى سيادتكم بهذا الطلب "
    "راجيا منكم التفضل بدراسته والبت فيه داخل الأجل القانوني، وتجدون رفقته الوثائق المطلوبة حسب ما هو "
    "منشور في بوابة المساطر الإدارية. وفي انتظار ردكم، تقبلوا فائق التقدير والاحترام.",
    "Monsieur le Président, j'ai l'honneur de solliciter de votre haute bienveillance l'examen de la "
    "demande ci-jointe. Vous trouverez en pièces jointes les documents exigés par la procédure publiée "
    "sur le portail national des procédures. Je reste à votre disposition pour tout complément "
    "d'information et vous prie d'agréer l'expression de ma haute considération.",
    "أتشرف بإحاطتكم علما بأنني تقدمت بطلب سابق في نفس الموضوع دون أن أتوصل بأي جواب، لذا ألتمس منكم "
    "التدخل لتسوية وضعيتي في أقرب الآجال، علما أن القانون 55.19 المتعلق بتبسيط المساطر والإجراءات "
    "الإدارية يلزم الإدارة بالرد داخل الآجال المحددة. وتفضلوا بقبول أسمى عبارات التقدير.",
    "Suite à notre entretien au guichet de l'annexe administrative, je vous adresse la présente "
    "réclamation concernant la situation décrite en objet, qui perdure depuis plusieurs semaines et "
    "cause des désagréments aux habitants du quartier. Je vous remercie par avance de la suite que "
    "vous voudrez bien lui réserver.",
]

FIRST_NAMES = [
    "محمد", "فاطمة", "أحمد", "خديجة", "يوسف", "أمينة", "عبد الله", "سعاد", "Karim", "Salma", "Rachid",
    "Nadia", "Omar", "Hajar", "Youssef", "Meryem", "Hamza", "Imane", "Mehdi", "Zineb",
]  # fmt: skip
LAST_NAMES = [
    "العلوي", "بناني", "الإدريسي", "التازي", "الفاسي", "الشرايبي", "برادة", "العمراني", "Bennani", "El Fassi",
    "Tazi", "Alaoui", "Idrissi", "Chraibi", "Berrada", "Amrani", "Ouazzani", "Benjelloun", "Sqalli", "Kettani",
]  # fmt: skip
COMPANIES = [
    "Atlas Travaux SARL", "شركة النور للبناء", "Société Marocaine d'Équipement", "مقاولة الأمل",
    "Sahara Négoce SA", "Cabinet d'architecture Majorelle", "تعاونية الخير الفلاحية", "Rif Immobilier SARL",
]  # fmt: skip
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

RUNNING = ("registered", "assigned", "in_progress")
OPEN = (*RUNNING, "awaiting_completion")
