"""locale_django/: the Django strings the admin shows, translated where Django has no translation
(all of them in Amazigh, a few in Arabic). Kept by hand, not by makemessages: each catalogue must
be complete, compiled, faithful to its placeholders, written in its language's script, and hold
only msgids Django still has (a Django upgrade that renames one shows here)."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import django
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

from core.tests.test_translations import (
    HTML_TAG,
    NOT_TRANSLATED_TEXT,
    SCRIPTS,
    directives,
    gnu_catalog,
    strings,
    without_header,
)

ROOT = Path(settings.LOCALE_PATHS[1])
DJANGO = Path(django.__file__).parent
SOURCES = {
    "django": ["contrib/admin", "contrib/auth", "conf"],
    "djangojs": ["contrib/admin"],
}
CATALOGUES = sorted(ROOT.glob("*/LC_MESSAGES/*.po"))
BRACES = re.compile(r"\{\w*\}")
# Keys and names the admin's help texts name as they are.
NAMES = re.compile(r"\b(?:Control|Command|Mac|OK|Django|JSON|UUID|SMTP)\b")


def load(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name)


def django_msgids(domain: str) -> set[tuple[str | None, object]]:
    ids: set[tuple[str | None, object]] = set()
    for source in SOURCES[domain]:
        with (DJANGO / source / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
            ids.update((m.context, m.id) for m in read_po(handle) if m.id)
    return ids


def test_the_catalogues_are_configured_after_ours() -> None:
    assert [Path(p).name for p in settings.LOCALE_PATHS] == ["locale", "locale_django"]
    assert {(p.parent.parent.name, p.stem) for p in CATALOGUES} >= {
        ("zgh", "django"),
        ("zgh", "djangojs"),
        ("ar", "django"),
    }


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: f"{p.parent.parent.name}-{p.stem}")
def test_each_catalogue_is_complete_compiled_and_faithful(path: Path) -> None:
    catalog = load(path)
    messages = [m for m in catalog if m.id]
    assert messages
    assert not [m.id for m in messages if m.fuzzy or not all(strings(m))]
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    compiled = gnu_catalog(path.with_suffix(".mo").read_bytes())
    assert without_header(compiled) == without_header(gnu_catalog(buffer.getvalue())), "run scripts/compile-messages"

    unknown = {(m.context, m.id) for m in messages} - django_msgids(path.stem)
    assert not unknown, f"not a msgid of Django any more: {sorted(map(str, unknown))[:5]}"

    problems = []
    for message in messages:
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        for text in strings(message):
            if directives(text) != directives(ids[-1]) and not (
                message.pluralizable and set(directives(text)) <= set(directives(ids[-1]))
            ):
                problems.append(f"{ids[0]!r}: placeholders")
            if Counter(BRACES.findall(text)) != Counter(BRACES.findall(ids[0])):
                problems.append(f"{ids[0]!r}: braces")
            if Counter(HTML_TAG.findall(text)) != Counter(HTML_TAG.findall(ids[0])):
                problems.append(f"{ids[0]!r}: HTML tags")
            low, high = SCRIPTS[path.parent.parent.name]
            rest = NAMES.sub("", NOT_TRANSLATED_TEXT.sub("", BRACES.sub("", text)))
            if any(ch.isalpha() and not low <= ord(ch) <= high for ch in rest):
                problems.append(f"{ids[0]!r}: not in the language's script: {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_amazigh_has_every_string_of_the_admin(domain: str) -> None:
    ours = {(m.context, m.id) for m in load(ROOT / "zgh" / "LC_MESSAGES" / f"{domain}.po") if m.id}
    with (DJANGO / "contrib" / "admin" / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
        admin = {(m.context, m.id) for m in read_po(handle) if m.id}
    assert not admin - ours, sorted(map(str, admin - ours))[:10]


# Passed through variables so that makemessages does not take them for strings of ours.
ADMIN_STRINGS = ["Site administration", "This field is required.", "Run"]
MONTH = ("abbrev. month", "Dec.")


def test_django_speaks_amazigh_arabic_and_french_in_the_admin() -> None:
    said = {}
    for language in ("zgh", "ar", "fr"):
        with translation.override(language):
            said[language] = [translation.gettext(text) for text in ADMIN_STRINGS]
            said[language].append(translation.pgettext(*MONTH))
    assert all(re.search(r"[\u2d30-\u2d7f]", text) for text in said["zgh"]), said["zgh"]
    assert all(re.search(r"[\u0600-\u06ff]", text) for text in said["ar"]), said["ar"]
    assert said["fr"][:2] == ["Site d’administration", "Ce champ est obligatoire."]


def test_the_arabic_add_another_reads_with_any_name() -> None:
    """Django's Arabic "أضِف %(verbose_name)s آخر" gives "أضِف المصلحة آخر" with Wasl's names
    (a definite or feminine noun before a masculine adjective): the name comes after a colon."""
    add_another = "Add another %(verbose_name)s"
    with translation.override("ar"):
        text = translation.gettext(add_another) % {"verbose_name": "المصلحة"}
    assert text == "أضِف عنصرًا آخر: المصلحة"


def test_the_admins_history_is_not_a_requests_stages() -> None:
    """Our catalogue comes first: a plain "History" of ours (a request's stages, "مراحل الطلب")
    would name the admin's history of any object. Ours have contexts; the admin's keeps Django's."""
    history = "History"
    with translation.override("ar"):
        assert translation.gettext(history) == "تاريخ"
        assert translation.pgettext("request", history) == "مراحل الطلب"
        assert translation.pgettext("parapheur folder", history) == "مراحل الملف"
