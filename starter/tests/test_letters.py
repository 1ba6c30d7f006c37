"""The starter catalogue's letter templates make real letters: each one, filled with a request's
values, is registered, sealed and rendered like any letter, and says what it is meant to say."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from documents import storage
from documents.testing import pdf_text
from registry.models import SealedDocument
from starter.services import starter_catalogue_load
from tenancy.models import Administration, User
from workflow import services
from workflow.calendar import local_date
from workflow.letters import template_prefill
from workflow.models import Case, LetterTemplate, Reply
from workflow.services import LetterText
from workflow.testing import deposit


@pytest.fixture
def loaded(commune: Administration, commune_admin: User) -> Administration:
    starter_catalogue_load(actor=commune_admin, administration=commune)
    return commune


def flat(text: str) -> str:
    """pdftotext's text with its runs of white space as single spaces (lines break where the PDF does)."""
    return re.sub(r"\s+", " ", text)


def letter_text(reply: Reply) -> str:
    sealed = SealedDocument.objects.get(correspondence=reply.outgoing, kind=SealedDocument.Kind.LETTER)
    assert sealed.blob_id is not None
    return flat(pdf_text(storage.read_bytes(sealed.blob_id)))


def started(commune: Administration, citizen: User, agent: User, procedure: str, subject: str) -> Case:
    request = deposit(commune, citizen, procedure=procedure, subject=subject).correspondence
    services.case_start(actor=agent, case_id=request.pk)
    return Case.objects.select_related("correspondence", "service", "procedure").get(pk=request.pk)


def filled(loaded: Administration, code: str, case: Case) -> dict[str, str]:
    template = LetterTemplate.objects.get(administration=loaded, code=code)
    return template_prefill(template, case.correspondence, service=case.service, procedure=case.procedure)


def test_the_acceptance_letter(loaded: Administration, citizen: User, agent: User) -> None:
    case = started(loaded, citizen, agent, "URB-PC-PP", "Construction d'une maison")
    reply = services.case_reply(actor=agent, case_id=case.pk, text=LetterText(**filled(loaded, "ACCORD", case)))
    text = letter_text(reply)
    assert "RÉPONSE" in text and "une suite favorable lui est réservée" in text
    assert case.correspondence.number in text and citizen.full_name in text
    assert "بالموافقة على طلبكم" in text


def test_the_acknowledgement_letter(loaded: Administration, citizen: User, agent: User, clerk: User) -> None:
    request = deposit(loaded, citizen, subject="Invitation à la journée portes ouvertes").correspondence
    services.case_assign(actor=clerk, case_id=request.pk, service=loaded.services.get(code="BO"))
    services.case_start(actor=agent, case_id=request.pk)
    case = Case.objects.select_related("correspondence", "service", "procedure").get(pk=request.pk)
    reply = services.case_reply(actor=agent, case_id=case.pk, text=LetterText(**filled(loaded, "ACCUSE", case)))
    text = letter_text(reply)
    assert "Nous accusons réception de votre courrier" in text and "nous avons pris bonne note" in text
    assert "Invitation à la journée portes ouvertes" in text and "نشعركم بتوصلنا برسالتكم" in text


def test_the_refusal_states_the_route_of_recourse(loaded: Administration, citizen: User, agent: User) -> None:
    case = started(loaded, citizen, agent, "ECO-ODP", "Terrasse de café")
    texts = filled(loaded, "REFUS", case)
    texts["body_fr"] = texts["body_fr"].replace("……", "L'emplacement gêne le passage des piétons.")
    reply = services.case_reply(actor=agent, case_id=case.pk, text=LetterText(**texts), reject=True)
    text = letter_text(reply)
    assert "DÉCISION DE REFUS" in text and "gêne le passage des piétons" in text
    assert "Voies de recours" in text and "tribunal administratif compétent" in text
    assert f"adressé à {loaded.name_fr}" in text  # {administration} filled in
    assert "المحكمة الإدارية المختصة" in text


def test_the_completion_request_lists_the_missing_documents(loaded: Administration, citizen: User, agent: User) -> None:
    case = started(loaded, citizen, agent, "URB-PH", "Permis d'habiter, villa 12")
    assert case.procedure is not None
    plans = case.procedure.documents.get(name_fr__startswith="Déclaration d'achèvement")
    texts = filled(loaded, "COMPLEMENT", case)
    reply = services.case_request_completion(
        actor=agent,
        case_id=case.pk,
        document_ids=[plans.pk],
        text=LetterText(body_ar=texts["body_ar"], body_fr=texts["body_fr"]),
    )
    text = letter_text(reply)
    assert "DEMANDE DE COMPLÉMENT DE DOSSIER" in text and "votre dossier est incomplet" in text
    assert "Permis d'habiter" in text  # {procedure}
    assert "Pièces à fournir" in text and "Déclaration d'achèvement des travaux" in text
    assert "loi n° 55-19" in text and "ملفكم غير مكتمل" in text


def test_the_desk_starts_a_completion_request_from_the_template(
    loaded: Administration, citizen: User, agent: User
) -> None:
    case = started(loaded, citizen, agent, "URB-CC", "Certificat de conformité")
    template = LetterTemplate.objects.get(administration=loaded, code="COMPLEMENT")
    assert case.procedure is not None
    document = case.procedure.documents.first()
    assert document is not None
    client = Client()
    client.force_login(agent)
    page = client.get(f"/desk/{loaded.code}/c/{case.pk}/").content.decode()
    assert 'name="completion-template"' in page
    client.post(
        f"/desk/{loaded.code}/c/{case.pk}/act/request_completion/",
        {"completion-documents": [document.pk], "completion-template": template.pk},
    )
    reply = Reply.objects.get(case=case, kind=Reply.Kind.COMPLETION)
    assert reply.template == template
    assert "votre dossier est incomplet" in letter_text(reply)


def test_the_refusal_template_prefills_the_reply_page_as_a_rejection_with_its_recourse(
    loaded: Administration, citizen: User, agent: User
) -> None:
    case = started(loaded, citizen, agent, "ECO-LOCAL", "Ouverture d'une épicerie")
    template = LetterTemplate.objects.get(administration=loaded, code="REFUS")
    client = Client()
    client.force_login(agent)
    page = client.get(f"/desk/{loaded.code}/c/{case.pk}/reply/?template={template.pk}").content.decode()
    assert "tribunal administratif compétent" in page
    assert re.search(r'<input[^>]*value="reject"[^>]*checked', page), "the decision is a rejection"


def test_numbers_and_dates_in_an_arabic_letter_keep_their_order(
    loaded: Administration, citizen: User, agent: User
) -> None:
    """Inside Arabic text the bidi algorithm would show 2026-03-05 as 05-03-2026: the values a
    template fills in are left-to-right isolates there, and only there."""
    case = started(loaded, citizen, agent, "URB-PC-GP", "Immeuble R+4")
    texts = filled(loaded, "ACCORD", case)
    number = case.correspondence.number
    assert f"\u2066{number}\u2069" in texts["body_ar"]
    assert f" {number} " in texts["body_fr"] and "\u2066" not in texts["body_fr"]
    reply = services.case_reply(actor=agent, case_id=case.pk, text=LetterText(**texts))
    sealed = SealedDocument.objects.get(correspondence=reply.outgoing, kind=SealedDocument.Kind.LETTER)
    registered_on = local_date(case.correspondence.registered_at).isoformat()  # the administration's day
    # Laid out as printed, the Arabic sentence shows the date as written (not reordered).
    assert sealed.blob_id is not None
    printed = pdf_text(storage.read_bytes(sealed.blob_id), layout=True).splitlines()
    arabic = next(line for line in printed if "جوابا على طلبكم" in line)
    assert registered_on in arabic and number in arabic
