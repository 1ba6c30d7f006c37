"""Letter templates: named variables and nothing else, refused at save, filled without evaluation."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from django.apps import apps
from django.test import Client
from django.utils import translation

from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow import templating
from workflow.catalogue import letter_template_save
from workflow.letters import TemplateTextError, check_template_text, fill_template, template_variables
from workflow.models import LetterTemplate
from workflow.testing import deposit, make_procedure

# What attackers wrote, and what else str.format would have run: specifications, conversions,
# attributes, indexes, positions, unknown names, spaces, lone and nested braces.
HOSTILE = [
    "{number:d}",
    "{number:>60000000}",
    "Objet : {subject:>99999999}",
    "{number!r}",
    "{number!s:^50}",
    "{number.__class__}",
    "{number.real}",
    "{number[0]}",
    "{sender_name.__class__.__mro__}",
    "{}",
    "{0}",
    "{unknown}",
    "{ number }",
    "{Number}",
    "{number",
    "number}",
    "{{number}",
    "{number:{subject}}",
    "{number}}",
]
VALUES = {name: f"<{name}>" for name in template_variables()}


@pytest.mark.parametrize("text", HOSTILE)
def test_every_construct_but_a_plain_variable_is_refused(text: str) -> None:
    with pytest.raises(TemplateTextError) as refused:
        check_template_text(f"Madame, Monsieur,\n{text}\nSalutations.")
    message = str(refused.value)
    # The message lists every variable there is.
    assert all("{" + name + "}" in message for name in template_variables())


@pytest.mark.parametrize("text", HOSTILE)
def test_the_admin_page_refuses_them_and_saves_nothing(
    commune: Administration, commune_admin: User, text: str, signed_in: Callable[..., Client]
) -> None:
    response = signed_in(commune_admin).post(
        f"/desk/{commune.code}/letters/", {"code": "T", "name": "T", "body_ar": "", "body_fr": text}
    )
    assert response.status_code == 400
    assert not LetterTemplate.objects.exists()
    page = response.content.decode()
    assert "{sender_name}" in page and "{registered_on}" in page


def test_the_service_refuses_them_too(commune: Administration, commune_admin: User) -> None:
    for text in HOSTILE:
        with pytest.raises(TemplateTextError):
            letter_template_save(
                actor=commune_admin,
                administration=commune,
                template=None,
                values={"code": "T", "name": "T", "body_ar": "", "body_fr": text, "is_active": True},
            )
    assert not LetterTemplate.objects.exists()


def test_the_refusal_is_translated() -> None:
    with translation.override("ar"), pytest.raises(TemplateTextError) as arabic:
        check_template_text("{number:d}")
    with translation.override("fr"), pytest.raises(TemplateTextError) as french:
        check_template_text("{number:d}")
    assert "{number:d}" in str(arabic.value) and "{number:d}" in str(french.value)
    assert str(arabic.value) != str(french.value)
    assert any("\u0600" <= char <= "\u06ff" for char in str(arabic.value))


def test_plain_variables_and_doubled_braces_are_accepted(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    every = " ".join("{" + name + "}" for name in template_variables())
    text = "Réf. {number} du {registered_on} — {{accolades}} gardées — " + every
    check_template_text(text)
    response = signed_in(commune_admin).post(
        f"/desk/{commune.code}/letters/", {"code": "ok", "name": "OK", "body_ar": "", "body_fr": text}
    )
    assert response.status_code == 302
    assert LetterTemplate.objects.get(code="OK").body_fr == text


def test_a_template_is_bounded_in_length_and_in_variables() -> None:
    check_template_text("x" * templating.TEXT_MAX)
    with pytest.raises(TemplateTextError):
        check_template_text("x" * (templating.TEXT_MAX + 1))
    check_template_text("{subject} " * templating.MAX_PLACEHOLDERS)
    with pytest.raises(TemplateTextError):
        check_template_text("{subject} " * (templating.MAX_PLACEHOLDERS + 1))


def test_filling_substitutes_the_values_and_nothing_else() -> None:
    assert fill_template("N° {number}, {{number}} {{{subject}}}", VALUES) == "N° <number>, {number} {<subject>}"
    for text in HOSTILE:
        filled = fill_template(text, VALUES)
        # Never longer than the text with every value in it: nothing is padded, formatted, repeated.
        assert len(filled) <= len(text) + sum(len(v) for v in VALUES.values())
    # A hostile text kept from before the check is shown as it was typed.
    assert fill_template("{number:>60000000}", VALUES) == "{number:>60000000}"
    assert fill_template("{number.__class__}", VALUES) == "{number.__class__}"


def test_filling_a_template_from_the_database_never_exceeds_its_variables() -> None:
    # Written into the database by hand, beyond the limit a save enforces.
    text = "{subject}" * (templating.MAX_PLACEHOLDERS * 10)
    filled = fill_template(text, {"subject": "s" * 300})
    assert len(filled) <= len(text) + templating.MAX_PLACEHOLDERS * 300


def test_the_reply_page_shows_a_stored_hostile_template_as_typed(
    commune: Administration, citizen: User, agent: User, signed_in: Callable[..., Client]
) -> None:
    urb = make_service(commune, "URB", name_fr="Urbanisme")
    make_procedure(commune, service=urb)
    c = deposit(commune, citizen, procedure="URB-PC").correspondence
    from workflow.models import Case

    Case.objects.filter(pk=c.pk).update(service=urb, status="assigned")
    # Stored before templates were checked this way (the migration leaves unknown forms as they are).
    template = LetterTemplate.objects.create(
        administration=commune, code="OLD", name="Old", body_ar="", body_fr="{number:>60000000} {number.real} {number}"
    )
    response = signed_in(agent).get(f"/desk/{commune.code}/c/{c.pk}/reply/?template={template.pk}")
    assert response.status_code == 200
    assert len(response.content) < 200_000
    assert f"{{number:&gt;60000000}} {{number.real}} {c.number}" in response.content.decode()


def test_the_migration_makes_specified_variables_plain(commune: Administration) -> None:
    migration = importlib.import_module("workflow.migrations.0010_letter_templates_plain_variables")
    kept = "{{number:d}} {unknown:x} {number.real} {subject}"
    template = LetterTemplate.objects.create(
        administration=commune,
        code="OLD",
        name="Old",
        body_ar="عدد {number:d} {subject!r}",
        body_fr="N° {number:>60000000} du {registered_on!s:^30} " + kept,
    )
    migration.forwards(apps, None)
    template.refresh_from_db()
    assert template.body_ar == "عدد {number} {subject}"
    assert template.body_fr == "N° {number} du {registered_on} " + kept


def test_a_text_full_of_mistakes_gets_a_short_message() -> None:
    with pytest.raises(TemplateTextError) as refused:
        check_template_text(" ".join(f"{{x{i}}}" for i in range(2000)))
    assert "{x4}" in str(refused.value) and "{x5}" not in str(refused.value)
    assert len(str(refused.value)) < 1500
