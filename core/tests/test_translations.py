"""The translation catalogs under locale/: complete, compiled, faithful to their placeholders, and used.

After adding or changing UI strings: run makemessages, translate every new or fuzzy entry in
each locale/<lang>/LC_MESSAGES/django.po, then run ``scripts/compile-messages`` (``make messages``
does the first and last steps).
"""

from __future__ import annotations

import gettext
import io
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
LANGUAGES = [code for code, _name in settings.LANGUAGES]

PLURAL_FORMS = {
    "ar": (6, "n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5"),
    "fr": (2, "(n > 1)"),
    "zgh": (2, "(n != 1)"),
}

# A python-format directive, %% included: (name or None, conversion).
PYTHON_FORMAT = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)
TEMPLATE_VARIABLE = re.compile(r"\{\{\s*([\w.]+)[^}]*\}\}")
HTML_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>")


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def strings(message: Message) -> list[str]:
    if message.pluralizable:
        assert isinstance(message.string, (tuple, list))
        return list(message.string)
    assert isinstance(message.string, str)
    return [message.string]


def directives(text: str) -> Counter[tuple[str | None, str]]:
    return Counter((match["name"], match["type"]) for match in PYTHON_FORMAT.finditer(text))


def plural_function(catalog: Catalog) -> Callable[[int], int]:
    return gettext.c2py(catalog.plural_expr)


def plural_rule(translations: gettext.GNUTranslations) -> Callable[[int], int]:
    """The plural rule gettext compiled from a catalog's header (set when it is read; typeshed
    does not list it)."""
    rule: Callable[[int], int] = getattr(translations, "plural")
    return rule


def gnu_catalog(data: bytes) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(data))


def without_header(translations: gettext.GNUTranslations) -> dict[object, str]:
    """The messages of a catalog, its header left out (gettext keeps them in ``_catalog``, which
    typeshed does not list): msgid, or (msgid, plural form), to msgstr."""
    catalog: dict[object, str] = getattr(translations, "_catalog")
    return {key: value for key, value in catalog.items() if key != ""}


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def catalog(language: str) -> Catalog:
    assert po_path(language).exists(), f"{po_path(language)} is missing: run makemessages -l {language}"
    return load(language)


def test_every_configured_language_has_a_catalog(language: str) -> None:
    assert po_path(language).exists()
    assert po_path(language).with_suffix(".mo").exists(), "run scripts/compile-messages"


def test_header(language: str, catalog: Catalog) -> None:
    assert not catalog.fuzzy, "the header is still marked fuzzy"
    assert catalog.charset.lower() == "utf-8"
    header = re.search(r'^"Language: ([^\\"]*)\\n"$', po_path(language).read_text(encoding="utf-8"), re.MULTILINE)
    assert header is not None and header[1] == language
    assert (catalog.num_plurals, catalog.plural_expr) == PLURAL_FORMS[language]


def test_everything_is_translated_and_nothing_is_fuzzy(language: str, catalog: Catalog) -> None:
    untranslated = [message.id for message in messages(catalog) if not all(strings(message))]
    fuzzy = [message.id for message in messages(catalog) if message.fuzzy]
    wrong_plurals = [
        message.id
        for message in messages(catalog)
        if message.pluralizable and len(strings(message)) != catalog.num_plurals
    ]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated: {untranslated[:10]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy: {fuzzy[:10]}"
    assert not wrong_plurals, f"{language}: wrong number of plural forms: {wrong_plurals[:10]}"
    assert not catalog.obsolete, f"{language}: obsolete entries left; run makemessages with --no-obsolete"


def test_compiled_catalog_is_up_to_date(language: str, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    expected = gnu_catalog(buffer.getvalue())
    compiled = gnu_catalog(po_path(language).with_suffix(".mo").read_bytes())
    assert without_header(compiled) == without_header(expected), f"{language}: run scripts/compile-messages"
    assert [plural_rule(compiled)(n) for n in range(300)] == [plural_rule(expected)(n) for n in range(300)]


def test_placeholders_match(language: str, catalog: Catalog) -> None:
    def forms_for_one_number_only() -> set[int]:
        # A plural form used for a single n (Arabic 0, 1 and 2; Amazigh 1) may spell the
        # number out and leave the placeholder out, as msgfmt allows.
        counts = Counter(plural_function(catalog)(n) for n in range(1000))
        return {form for form, count in counts.items() if count == 1}

    single = forms_for_one_number_only()
    problems: list[str] = []
    for message in messages(catalog):
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        python_format = "python-format" in message.flags
        expected = directives(ids[-1]) if python_format else Counter()
        known = set().union(*(directives(i) for i in ids)) if python_format else set()
        for index, text in enumerate(strings(message)):
            found = (
                directives(text)
                if python_format
                else Counter((m["name"], m["type"]) for m in PYTHON_FORMAT.finditer(text) if m["name"] is not None)
            )
            if message.pluralizable:
                unknown = set(found) - known
                missing = set(expected) - set(found) if index not in single else set()
                ok = not unknown and not missing
            else:
                ok = found == expected
            if not ok:
                problems.append(f"{ids[0]!r} [{index}]: {dict(found)} != {dict(expected)}")
            if Counter(TEMPLATE_VARIABLE.findall(text)) != Counter(TEMPLATE_VARIABLE.findall(ids[0])):
                problems.append(f"{ids[0]!r} [{index}]: template variables differ")
            if Counter(HTML_TAG.findall(text)) != Counter(HTML_TAG.findall(ids[0])):
                problems.append(f"{ids[0]!r} [{index}]: HTML tags differ")
            if text.endswith("\n") != ids[0].endswith("\n") or text.startswith("\n") != ids[0].startswith("\n"):
                problems.append(f"{ids[0]!r} [{index}]: leading/trailing newlines differ")
    assert not problems, f"{language}:\n" + "\n".join(problems)


SCRIPTS = {"ar": (0x0600, 0x06FF), "zgh": (0x2D30, 0x2D7F)}
# What may stay in Latin letters: placeholders (also "{percent}", which wasl.js fills in), HTML tags, and names, acronyms and codes written with an initial
# capital (PDF, CIN, ICE, QR, API, Idempotency-Key, AB123456...).
NOT_TRANSLATED_TEXT = re.compile(
    r"\{[a-z_]+\}|" + PYTHON_FORMAT.pattern + r"|" + HTML_TAG.pattern + r"|\b[A-Z][A-Za-z0-9-]*"
)


@pytest.mark.parametrize("code", sorted(SCRIPTS))
def test_translations_are_written_in_the_language_script(code: str) -> None:
    low, high = SCRIPTS[code]
    stray = []
    for message in messages(load(code)):
        for text in strings(message):
            rest = NOT_TRANSLATED_TEXT.sub("", text)
            if any(ch.isalpha() and not low <= ord(ch) <= high for ch in rest):
                stray.append(text)
    assert not stray, f"{code}: text outside the expected script (left in English?): {stray[:10]}"


# A number whose parts a hyphen joins (law 55-19, a date 2019-03-31), not already between U+2066
# LEFT-TO-RIGHT ISOLATE and U+2069 POP DIRECTIONAL ISOLATE.
HYPHENATED_NUMBER = re.compile(r"(?<![\u2066\d.-])\d+(?:-\d+)+(?![\d\u2069])")


def test_arabic_translations_isolate_hyphenated_numbers() -> None:
    """In Arabic text the bidi algorithm turns "القانون 55-19" into "القانون 19-55" on screen (digits
    after Arabic letters are Arabic numbers, and the hyphen between them takes the right-to-left
    order): each such number stands in a left-to-right isolate."""
    reversed_on_screen = [
        number
        for message in messages(load("ar"))
        for text in strings(message)
        for number in HYPHENATED_NUMBER.findall(text)
    ]
    assert not reversed_on_screen, f"ar: hyphenated numbers not isolated: {reversed_on_screen}"


def is_in(text: str, low: int, high: int) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and all(low <= ord(ch) <= high for ch in letters)


# Passed through a variable so that makemessages does not list this file as a source of the string.
SIGN_IN = "Sign in"


def test_sign_in_is_translated_by_django() -> None:
    with translation.override("zgh"):
        amazigh = translation.gettext(SIGN_IN)
    with translation.override("ar"):
        arabic = translation.gettext(SIGN_IN)
    with translation.override("fr"):
        french = translation.gettext(SIGN_IN)
    assert is_in(amazigh, 0x2D30, 0x2D7F), amazigh  # Tifinagh
    assert is_in(arabic, 0x0600, 0x06FF), arabic
    assert french != SIGN_IN and is_in(french, 0x41, 0x24F), french  # Latin script
    entry = load("fr").get(SIGN_IN)
    assert entry is not None and french == entry.string


def test_templates_render_translations() -> None:
    template = Template("{% load i18n %}{% translate 'Sign in' %}|{% get_current_language_bidi as rtl %}{{ rtl }}")
    for code in LANGUAGES:
        with translation.override(code):
            text, rtl = template.render(Context()).split("|")
        entry = load(code).get(SIGN_IN)
        assert entry is not None and text == entry.string
        assert rtl == str(code in settings.LANGUAGES_BIDI)


def test_plural_forms_are_used_by_django(language: str, catalog: Catalog) -> None:
    plurals = [message for message in messages(catalog) if message.pluralizable]
    assert plurals
    choose = plural_function(catalog)
    with translation.override(language):
        for message in plurals:
            assert isinstance(message.id, (tuple, list)) and isinstance(message.string, (tuple, list))
            singular, plural = message.id
            for n in (0, 1, 2, 3, 10, 11, 99, 100, 101, 102, 111, 1000):
                expected = message.string[choose(n)]
                assert translation.ngettext(singular, plural, n) == expected, (language, singular, n)
