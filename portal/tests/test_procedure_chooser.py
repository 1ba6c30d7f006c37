"""The deposit form's procedure chooser: the procedures the chosen administration publishes,
named in the reader's language; reloaded without the script by "List its procedures"; anything
else refused with a translated error and nothing registered."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from documents.samples import pdf_bytes
from registry.models import Correspondence
from tenancy.models import Administration, User
from tenancy.testing import make_administration
from workflow.models import Case, Procedure
from workflow.testing import make_procedure

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


@pytest.fixture
def catalogue(commune: Administration) -> Administration:
    make_procedure(commune)  # URB-PC, "رخصة البناء" / "Autorisation de construire"
    closed = make_procedure(commune, "URB-OLD")
    Procedure.objects.filter(pk=closed.pk).update(is_active=False)  # no longer published
    make_procedure(make_administration("PROVINCE-TEST"), "PRV-AUT")
    return commune


def procedure_options(page: str) -> dict[str, str]:
    chooser = re.search(r'<select name="procedure".*?</select>', page, re.DOTALL)
    assert chooser is not None, "the procedure is chosen from a list"
    return {
        value: html.unescape(label).replace("\u00a0", " ")
        for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)', chooser.group(0))
    }


def text(response: Response) -> str:
    return html.unescape(response.content.decode()).replace("\u00a0", " ")


def test_the_chooser_lists_the_chosen_administrations_published_procedures_in_the_readers_language(
    citizen: User, catalogue: Administration, signed_in: Callable[..., Client]
) -> None:
    french = procedure_options(signed_in(citizen, "fr").get(f"/deposit/?to={catalogue.code}").content.decode())
    assert french == {
        "": "Aucune : délai général de 60 jours",
        "URB-PC": "URB-PC — Autorisation de construire (30 jours)",
    }
    arabic = procedure_options(signed_in(citizen, "ar").get(f"/deposit/?to={catalogue.code}").content.decode())
    assert set(arabic) == {"", "URB-PC"} and "رخصة البناء" in arabic["URB-PC"]
    # No administration chosen yet: no procedure to choose, and no free text box either.
    assert set(procedure_options(signed_in(citizen, "fr").get("/deposit/").content.decode())) == {""}


def test_the_script_reads_the_same_list_as_json(client: Client, catalogue: Administration) -> None:
    answer = client.get(f"/deposit/procedures/?to={catalogue.code}", HTTP_ACCEPT_LANGUAGE="ar").json()
    assert [p["code"] for p in answer["procedures"]] == ["URB-PC"]
    assert "رخصة البناء" in answer["procedures"][0]["label"]
    for unknown in ("NOPE", "a\x00b", "x" * 500, ""):
        assert client.get("/deposit/procedures/", {"to": unknown}).json() == {"procedures": []}


def test_without_the_script_list_its_procedures_reloads_the_form_and_registers_nothing(
    citizen: User, catalogue: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(citizen, "fr")
    first = client.get("/deposit/").content.decode()
    assert 'name="list_procedures"' in first and "<noscript>" in first
    response = client.post(
        "/deposit/",
        {
            "recipient": catalogue.code,
            "procedure": "",
            "subject": "Permis",
            "body": "Mon texte",
            "list_procedures": "1",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert set(procedure_options(page)) == {"", "URB-PC"}
    assert 'value="Permis"' in page and "Mon texte" in page and 'class="error"' not in page
    assert not Correspondence.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Choisissez l'une des procédures que publie cette administration, ou aucune."),
        ("ar", "اختاروا إحدى المساطر التي تنشرها هذه الإدارة، أو لا شيء."),
    ],
)
def test_a_procedure_not_in_the_list_is_refused_with_a_translated_error(
    citizen: User, catalogue: Administration, language: str, message: str, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(citizen, language)
    for typed in ("Autorisation de construire", "URB-OLD", "PRV-AUT"):  # a name, a closed one, another's
        response = client.post(
            "/deposit/",
            {
                "recipient": catalogue.code,
                "procedure": typed,
                "subject": "Permis",
                "attachments": SimpleUploadedFile("plan.pdf", pdf_bytes()),
            },
        )
        assert response.status_code == 400
        assert message in text(response)
        assert "Select a valid choice" not in text(response)
    assert not Correspondence.objects.exists()


def test_a_procedure_chosen_from_the_list_sets_the_case(
    citizen: User, catalogue: Administration, signed_in: Callable[..., Client]
) -> None:
    response = signed_in(citizen, "fr").post(
        "/deposit/",
        {
            "recipient": catalogue.code,
            "procedure": "URB-PC",
            "subject": "Permis",
            "attachments": SimpleUploadedFile("plan.pdf", pdf_bytes()),
        },
    )
    assert response.status_code == 302
    procedure = Case.objects.get().procedure
    assert procedure is not None and procedure.code == "URB-PC"
