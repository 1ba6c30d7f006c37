"""An answer drafted on the processing desk goes through a circuit before it is registered:
the signatories sign the letter, its registration adds the number with the seal, the depositor
receives the signed letter."""

from __future__ import annotations

import pytest

from documents import storage
from documents.testing import pdf_text
from parapheur import services
from parapheur.models import Folder, StepKind
from parapheur.services import FolderRefused, StepSpec
from parapheur.testing import PASSPHRASE, enrolled, person
from registry.models import Correspondence, SealedDocument
from tenancy.models import Administration, Membership, User
from trust.services import ca_certificate_pem, installation_pki
from trust.testing import assert_pdfsig_trusted, pdfsig_available
from trust.verification import verify_pdf, verify_pdf_signatures
from workflow.models import Case, Reply
from workflow.services import LetterText

Role = Membership.Role


@pytest.fixture
def people(commune: Administration, case: Case) -> dict[str, User]:
    agent = person(commune, Role.AGENT, "agent2@commune.ma", service=case.service, name="Salma Agent")
    return {
        "agent": agent,
        "chief": person(commune, Role.HEAD, "chief@commune.ma", service=case.service, name="Omar Chef"),
        "mayor": enrolled(
            person(commune, Role.SIGNATORY, "mayor@commune.ma", name="Nadia Amrani"), commune, title_fr="Présidente"
        ),
    }


@pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")
def test_an_answer_signed_in_a_circuit_is_registered_with_its_signatures(
    commune: Administration, case: Case, people: dict[str, User]
) -> None:
    text = LetterText(body_fr="Nous accordons l'autorisation demandée.", body_ar="نوافق على الطلب.")
    folder = services.reply_submit(
        actor=people["agent"],
        case_id=case.pk,
        text=text,
        steps=[
            StepSpec(kind=StepKind.VISA, people=(people["chief"].pk,)),
            StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,)),
            StepSpec(kind=StepKind.SEAL),  # replaced by the seal of registration
        ],
    )
    assert [s.kind for s in folder.steps.all()] == ["visa", "signature"]
    assert not Correspondence.objects.filter(direction="outgoing").exists()  # nothing registered yet
    draft = storage.read_bytes(folder.document)
    assert "Nadia Amrani" in pdf_text(draft)  # the letter names its signatory
    with pytest.raises(FolderRefused) as twice:
        services.reply_submit(actor=people["agent"], case_id=case.pk, text=text, steps=[])
    assert twice.value.code == "reply_in_circuit"
    services.folder_approve(actor=people["chief"], folder_id=folder.pk, fingerprint=folder.document)
    folder.refresh_from_db()
    services.folder_sign(actor=people["mayor"], folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE)
    folder.refresh_from_db()
    case.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED and case.status == "answered"
    reply = Reply.objects.get(case=case)
    outgoing = reply.outgoing
    assert outgoing.number.startswith("D-")
    letter = storage.read_bytes(folder.document)
    assert letter.startswith(draft)  # what was signed is untouched
    report = assert_pdfsig_trusted(letter, ca_certificate_pem())
    assert report.count("Signature #") == 2 and "Nadia Amrani" in report
    verdicts = verify_pdf_signatures(letter, pki=installation_pki())
    assert [v.level for v in verdicts] == ["advanced", "seal"] and all(v.valid for v in verdicts)
    assert outgoing.number in pdf_text(letter)  # the seal of registration shows the number
    # It is the registered letter: verifiable as such, and delivered with the case.
    document = SealedDocument.objects.get(correspondence=outgoing)
    assert document.blob_id == folder.document
    assert verify_pdf(letter, pki=installation_pki()).valid


def test_a_rejected_circuit_registers_nothing_and_the_answer_can_be_drafted_again(
    commune: Administration, case: Case, people: dict[str, User]
) -> None:
    text = LetterText(body_fr="Réponse.")
    folder = services.reply_submit(
        actor=people["agent"],
        case_id=case.pk,
        text=text,
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
    )
    services.folder_reject(actor=people["mayor"], folder_id=folder.pk, reason="Reformuler")
    assert not Correspondence.objects.filter(direction="outgoing").exists()
    assert Case.objects.get(pk=case.pk).status == "assigned"
    again = services.reply_submit(
        actor=people["agent"],
        case_id=case.pk,
        text=text,
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
    )
    assert again.status == Folder.Status.IN_PROGRESS


def test_only_who_handles_the_case_drafts_its_answer(
    commune: Administration, case: Case, people: dict[str, User], outsider: User, auditor: User
) -> None:
    for user in (outsider, auditor):
        with pytest.raises(Exception):
            services.reply_submit(
                actor=user,
                case_id=case.pk,
                text=LetterText(body_fr="x"),
                steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
            )
    assert not Folder.objects.exists()


@pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")
def test_done_when_an_answer_goes_visa_visa_signature_seal_to_the_citizen(
    commune: Administration, case: Case, people: dict[str, User], citizen: User
) -> None:
    """The issue's end: a reply goes visa → visa → signature → seal, each actor sees only their
    step, the citizen receives a document whose three signatures and seal pdfsig lists as valid,
    and the proof slip verifies."""
    from django.test import Client

    from parapheur.selectors import pending_steps
    from workflow.calendar import local_date

    chief = enrolled(people["chief"], commune, title_fr="Chef du service de l'urbanisme")
    sg = enrolled(person(commune, Role.HEAD, "sg@commune.ma", name="Hind Secrétaire"), commune)
    mayor = people["mayor"]
    folder = services.reply_submit(
        actor=people["agent"],
        case_id=case.pk,
        text=LetterText(body_fr="Nous accordons l'autorisation.", body_ar="نوافق على الطلب."),
        steps=[
            StepSpec(kind=StepKind.VISA, people=(chief.pk,)),
            StepSpec(kind=StepKind.VISA, people=(sg.pk,)),
            StepSpec(kind=StepKind.SIGNATURE, people=(mayor.pk,)),
            StepSpec(kind=StepKind.SEAL),
        ],
    )
    today = local_date(folder.submitted_at)
    for actor in (chief, sg, mayor):
        folder.refresh_from_db()
        # Each actor sees only their own step, and only when it comes.
        waiting = {user: list(pending_steps(user, commune, today)) for user in (chief, sg, mayor)}
        assert [s.folder_id for s in waiting[actor]] == [folder.pk]
        assert all(not steps for user, steps in waiting.items() if user != actor)
        if actor is mayor:
            services.folder_sign(actor=actor, folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE)
        else:
            services.folder_approve(
                actor=actor, folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE
            )
    folder.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED
    reply = Reply.objects.get(case=case)
    # The citizen downloads the answer from their deposit page.
    client = Client()
    client.force_login(citizen)
    response = client.get(f"/deposits/{case.pk}/letters/{reply.pk}.pdf")
    assert response.status_code == 200
    letter = response.getvalue()
    report = assert_pdfsig_trusted(letter, ca_certificate_pem())
    assert report.count("Signature #") == 4  # two visas, the signature, the seal
    for name in ("Omar Chef", "Hind Secrétaire", "Nadia Amrani", f"{commune.code} seal"):
        assert name in report, name
    levels = [v.level for v in verify_pdf_signatures(letter, pki=installation_pki())]
    assert levels == ["advanced", "advanced", "advanced", "seal"]
    assert reply.outgoing.number in pdf_text(letter)
    assert verify_pdf(storage.read_bytes(folder.proof), pki=installation_pki()).valid
