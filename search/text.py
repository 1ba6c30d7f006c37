"""Index terms from Arabic and French text: the one normaliser for documents and queries.

A clerk types a word the way it comes: an Arabic word with or without hamza on its alef,
taa marbuta written as haa, alef maqsura as yaa, diacritics or tatweel, with the article or a
prefix glued on (``والرخصة``, ``بالإدارة``, ``للمدرسة``); a French word with or without its
accents, in any case. Documents are written every way too. Both sides go through
:func:`terms` so that the same word gives the same terms whatever its spelling:

1. Clean: Arabic presentation forms (the joined shapes U+FBxx, U+FExx) become letters (NFKC);
   bidi controls and zero-width characters, tashkeel (harakat, tanwin, shadda, sukun, dagger
   alef, Quranic marks) and tatweel are removed; Arabic-Indic digits become ASCII.
2. Split into words (letters and digits).
3. Arabic words: alef forms (أ إ آ ٱ) fold to ا, ؤ to و, ئ and ى to ي, ة to ه (a hamza on
   its seat, ؤ or ئ, also gives a form with a bare ء: مسؤول = مسئول); stop words go;
   the article and its combinations (ال وال فال بال كال لل ولل وبال …) are removed; a word
   that may carry a one-letter prefix (و ف ب ك ل, and و/ف then ب/ك/ل) gives the word as
   written *and* the word without it, since ``وزارة`` (ministry) starts with a و that is
   not a prefix: a query matches when any of its forms is among the document's forms. The
   sound feminine plural ات comes off, then Snowball's Arabic stemmer (the one PostgreSQL
   has) reduces each form.
4. French words: case and accents fold (œ → oe), elisions (l', d', qu'…) and stop words go,
   then Snowball's French stemmer. Numbers lose their leading zeros (``000123`` → ``123``).

Each word gives a *group* of terms (its forms); a document is indexed with every term of every
group, and a query asks for every group, any term of each.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterator

import Stemmer

# Removed before anything else: they are not part of words.
_INVISIBLE = re.compile(
    "["
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2066-\u2069"  # bidi isolates
    "\u061c"  # Arabic letter mark
    "\ufeff"  # byte order mark
    "\u00ad"  # soft hyphen
    "\u0610-\u061a"  # Arabic honorific and small signs
    "\u064b-\u065f"  # harakat, tanwin, shadda, sukun, and other combining marks
    "\u0670"  # dagger alef
    "\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"  # Quranic annotation marks
    "\u0640"  # tatweel
    "]+"
)
# A word: letters and digits (after the marks above are gone).
_WORD = re.compile(r"[^\W_]+")
# A word as written in the original text, marks included: for highlighting snippets.
_WRITTEN_WORD = re.compile(
    r"[^\W_][^\W_\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c\u200d]*"
    r"(?:[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c\u200d]+[^\W_]*)*"
)
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]+")

_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ؤ": "و",
        "ئ": "ي",
        "ى": "ي",
        "ی": "ي",  # Persian yeh
        "ي": "ي",
        "ة": "ه",
        "ۀ": "ه",
        "ھ": "ه",
        "ک": "ك",  # Persian kaf
    }
)
_HAMZA_ON_SEAT = str.maketrans({"ؤ": "ء", "ئ": "ء"})
_DIGITS = str.maketrans(
    {**{chr(0x0660 + n): str(n) for n in range(10)}, **{chr(0x06F0 + n): str(n) for n in range(10)}}
)
_LATIN_FOLD = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})

# The article and what may come before it, longest first.
_ARTICLES = ("وبال", "فبال", "وكال", "فكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال")
_CONJUNCTIONS = "وف"
_PREPOSITIONS = "بكل"
_MIN_STEM = 2  # letters left after removing the article
_MIN_AFTER_PREFIX = 3  # letters left after removing a one-letter prefix

_ARABIC_STOP = (
    "في من على إلى الى عن مع و ف ب ك ل أو او ثم أن ان إن لا ما لم لن قد هذا هذه ذلك تلك "
    "هو هي هم هن نحن أنا انت التي الذي الذين اللذان اللتان اللواتي كان كانت يكون تكون "
    "كل بعض غير بين عند لدى حتى إذا اذا لكن بل أي اي منذ ضد حول خلال دون فيه فيها منه منها "
    "عليه عليها إليه اليه به بها له لها لهم كما مما عما إلا الا ايضا أيضا يا قبل بعد"
)
_FRENCH_STOP = (
    "a à au aux avec ce ces cet cette c d de des du dans elle elles en est et été être il ils "
    "j je l la le les leur leurs lui m ma mais me mes moi mon n ne ni nos notre nous on ont ou "
    "où par pas pour qu que qui s sa se ses si son sont sur t ta te tes toi ton tu un une vos "
    "votre vous y"
)
# Folded as the words are (step 3 and 4 above), so that the lists need not spell every variant.
ARABIC_STOP_WORDS = frozenset(word.translate(_ARABIC_FOLD) for word in _ARABIC_STOP.split())
FRENCH_STOP_WORDS = frozenset(
    unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode() for word in _FRENCH_STOP.split()
)

_stemmers = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer's stemmers keep a cache and are not safe to share between threads.
    stemmers: dict[str, Stemmer.Stemmer] | None = getattr(_stemmers, "by_language", None)
    if stemmers is None:
        stemmers = _stemmers.by_language = {}
    stemmer = stemmers.get(language)
    if stemmer is None:
        stemmer = stemmers[language] = Stemmer.Stemmer(language)
    return stemmer


def clean(text: str) -> str:
    """``text`` without invisible characters, tashkeel and tatweel, with ASCII digits, and
    Arabic letters written as presentation forms (U+FBxx, U+FExx: the joined shapes some
    programs store instead of letters, ``ﺍﻟﺤﺴﻦ``) as the letters (``الحسن``)."""
    text = _PRESENTATION_FORMS.sub(_letters, unicodedata.normalize("NFC", text))
    return _INVISIBLE.sub("", text).translate(_DIGITS)


def _letters(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def _arabic_forms(written: str) -> set[str]:
    word = written.translate(_ARABIC_FOLD)
    if word in ARABIC_STOP_WORDS:
        return set()
    terms = _arabic_terms(word)
    if "ؤ" in written or "ئ" in written:
        # مسؤول and مسئول are both right: a hamza on its seat also gives the bare hamza form.
        terms |= _arabic_terms(written.translate(_HAMZA_ON_SEAT).translate(_ARABIC_FOLD))
    return terms


def _arabic_terms(word: str) -> set[str]:
    forms = {word}
    for article in _ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= _MIN_STEM:
            forms = {word[len(article) :]}
            break
    else:
        # A one-letter conjunction and/or preposition may be glued on: keep both readings.
        if word[0] in _CONJUNCTIONS and len(word) - 1 >= _MIN_AFTER_PREFIX:
            forms.add(word[1:])
        for form in list(forms):
            if form[0] in _PREPOSITIONS and len(form) - 1 >= _MIN_AFTER_PREFIX:
                forms.add(form[1:])
    stemmer = _stemmer("arabic")
    terms = set()
    for form in forms:
        if form.endswith("ات") and len(form) - 2 >= _MIN_AFTER_PREFIX:
            form = form[:-2]
        terms.add(stemmer.stemWord(form))
    return terms


def _latin_forms(word: str) -> set[str]:
    word = word.casefold().translate(_LATIN_FOLD)
    word = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode() if not word.isascii() else word
    if not word:
        return set()
    if word.isdigit():
        return {word.lstrip("0") or "0"}
    if word in FRENCH_STOP_WORDS:
        return set()
    return {_stemmer("french").stemWord(word)}


@functools.lru_cache(maxsize=100_000)
def word_terms(word: str) -> frozenset[str]:
    """The terms of one word (already cleaned): none for a stop word. Cached: the same words
    come back all the time (indexing, snippets of every page of results)."""
    if _ARABIC_LETTER.search(word):
        # A word mixing scripts ("PDFالملف") is rare: it is read as Arabic letters only.
        letters = "".join(_ARABIC_LETTER.findall(word))
        return frozenset(_arabic_forms(letters)) if letters else frozenset()
    return frozenset(_latin_forms(word))


def groups(text: str) -> Iterator[frozenset[str]]:
    """The term groups of ``text``, one per word that is not a stop word, in order."""
    for word in _WORD.findall(clean(text)):
        found = word_terms(word)
        if found:
            yield found


def terms(text: str) -> list[str]:
    """Every term of ``text``, in order (a word's forms next to each other): what is indexed."""
    return [term for group in groups(text) for term in sorted(group)]


def query_groups(query: str) -> list[frozenset[str]]:
    """The groups a query asks for, each once, in order: every group must match, any of its
    terms."""
    seen: list[frozenset[str]] = []
    for group in groups(query):
        if group not in seen:
            seen.append(group)
    return seen


def written_words(text: str) -> Iterator[tuple[int, int, frozenset[str]]]:
    """The words of ``text`` as written (marks included), with their span and their terms."""
    for match in _WRITTEN_WORD.finditer(text):
        yield match.start(), match.end(), _written_terms(match.group())


@functools.lru_cache(maxsize=100_000)
def _written_terms(written: str) -> frozenset[str]:
    words = _WORD.findall(clean(written))
    return word_terms(words[0]) if len(words) == 1 else frozenset().union(*map(word_terms, words))
