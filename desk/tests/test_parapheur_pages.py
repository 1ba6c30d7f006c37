"""The parapheur's pages as its users go through them: a new folder, a visa, a signature with the
passphrase, batch signing, enrolment, delegation; and outsiders denied every page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django import Settings

from audit.models import AuditEvent
from documents import storage
from parapheur import services
from parapheur.models import Delegation, Folder, FolderEvent, SigningCertificate, StepKind
from parapheur.services import StepSpec
from parapheur.testing import PASSPHRASE, document, enrolled, person
from tenancy.models import Administration, Membership, User
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_available

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

Role = Membership.Role


@pytest.fixture
def people(commune: Administration) -> dict[str, User]:
    return {
        "writer": person(commune, Role.AGENT, "writer@commune.ma", name="Salma Writer"),
        "chief": person(commune, Role.HEAD, "chief@commune.ma", name="Omar Chef"),
        "mayor": enrolled(person(commune, Role.SIGNATORY, "mayor@commune.ma", name="Nadia Amrani"), commune),
    }


def pdf_upload(name: str = "arrete.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data or document(), content_type="application/pdf")


@pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")
def test_a_folder_goes_from_the_new_page_through_a_visa_and_a_signature(
    commune: Administration, people: dict[str, User], signed_in: Callable[..., Client]
) -> None:
    code = commune.code
    writer = signed_in(people["writer"], "fr")
    response = writer.post(
        f"/desk/{code}/parapheur/new/",
        {
            "title": "Arrêté n° 12",
            "document": pdf_upload(),
            "visa1": people["chief"].pk,
            "signatory": people["mayor"].pk,
            "seal": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    folder = Folder.objects.get()
    assert response["Location"] == f"/desk/{code}/parapheur/{folder.pk}/"
    # The chief finds it waiting, sees the fingerprint, gives the visa.
    chief = signed_in(people["chief"], "fr")
    assert "Arrêté n° 12" in chief.get(f"/desk/{code}/parapheur/").content.decode()
    page = chief.get(f"/desk/{code}/parapheur/{folder.pk}/").content.decode()
    assert folder.document in page and "Donner mon visa" in page
    chief.post(f"/desk/{code}/parapheur/{folder.pk}/act/approve/", {"fingerprint": folder.document})
    # The mayor cannot sign with a wrong passphrase; then signs.
    mayor = signed_in(people["mayor"], "fr")
    wrong = mayor.post(
        f"/desk/{code}/parapheur/{folder.pk}/act/sign/",
        {"fingerprint": folder.document, "passphrase": "nope nope"},
        follow=True,
    )
    assert "Phrase secrète incorrecte" in wrong.content.decode()
    mayor.post(
        f"/desk/{code}/parapheur/{folder.pk}/act/sign/", {"fingerprint": folder.document, "passphrase": PASSPHRASE}
    )
    folder.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED
    signed = writer.get(f"/desk/{code}/parapheur/{folder.pk}/document.pdf")
    assert signed.status_code == 200
    report = assert_pdfsig_trusted(signed.getvalue(), ca_certificate_pem())
    assert report.count("Signature #") == 2
    assert writer.get(f"/desk/{code}/parapheur/{folder.pk}/proof.pdf").status_code == 200


def test_a_word_file_is_refused_with_a_clear_message_and_nothing_is_kept(
    commune: Administration, people: dict[str, User], signed_in: Callable[..., Client]
) -> None:
    response = signed_in(people["writer"], "fr").post(
        f"/desk/{commune.code}/parapheur/new/",
        {
            "title": "Contrat",
            "document": SimpleUploadedFile("contrat.docx", b"PK\x03\x04 word", content_type="application/msword"),
            "signatory": people["mayor"].pk,
        },
    )
    assert response.status_code == 400
    assert not Folder.objects.exists()


def test_batch_signing_signs_each_folder_and_reports_the_others(
    commune: Administration, people: dict[str, User], signed_in: Callable[..., Client]
) -> None:
    folders = [
        services.folder_submit(
            actor=people["writer"],
            administration=commune,
            title=f"Décision {n}",
            document=document(f"Décision {n}"),
            document_name=f"d{n}.pdf",
            steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
        )
        for n in range(3)
    ]
    # One of them is withdrawn meanwhile: it is reported, the others are signed.
    services.folder_withdraw(actor=people["writer"], folder_id=folders[1].pk)
    mayor = signed_in(people["mayor"], "fr")
    page = mayor.get(f"/desk/{commune.code}/parapheur/").content.decode()
    assert page.count('name="folders"') == 2
    response = mayor.post(
        f"/desk/{commune.code}/parapheur/sign/",
        {"folders": [f.pk for f in folders], "passphrase": PASSPHRASE},
        follow=True,
    )
    html = response.content.decode()
    assert "2 parapheurs signés sur 3." in html and "Décision 1" in html  # the one refused, named
    statuses = [Folder.objects.get(pk=f.pk).status for f in folders]
    assert statuses == ["completed", "cancelled", "completed"]
    # A wrong passphrase signs nothing at all.
    extra = services.folder_submit(
        actor=people["writer"],
        administration=commune,
        title="Décision 4",
        document=document(),
        document_name="d4.pdf",
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
    )
    mayor.post(f"/desk/{commune.code}/parapheur/sign/", {"folders": [extra.pk], "passphrase": "wrong passphrase"})
    assert Folder.objects.get(pk=extra.pk).status == "in_progress"


def test_enrolment_and_delegation_pages(
    commune: Administration, people: dict[str, User], signed_in: Callable[..., Client]
) -> None:
    chief = signed_in(people["chief"], "fr")
    short = chief.post(
        f"/desk/{commune.code}/parapheur/certificate/enrol/",
        {"enrol-passphrase": "short", "enrol-passphrase_again": "short"},
    )
    assert short.status_code == 400 and not SigningCertificate.objects.filter(user=people["chief"]).exists()
    done = chief.post(
        f"/desk/{commune.code}/parapheur/certificate/enrol/",
        {
            "enrol-title_fr": "Chef de service",
            "enrol-passphrase": "a long passphrase",
            "enrol-passphrase_again": "a long passphrase",
        },
    )
    assert done.status_code == 302
    certificate = SigningCertificate.objects.get(user=people["chief"])
    assert "Omar Chef" in certificate.subject and certificate.title_fr == "Chef de service"
    assert bytes(certificate.locked_key).startswith(b"WK1")
    # The mayor delegates to the chief for a week.
    mayor = signed_in(people["mayor"], "fr")
    response = mayor.post(
        f"/desk/{commune.code}/parapheur/delegations/",
        {"delegate": people["chief"].pk, "starts_on": "2026-01-01", "ends_on": "2099-12-31"},
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert AuditEvent.objects.filter(action="delegation.created", subject_user=people["chief"]).exists()
    folder = services.folder_submit(
        actor=people["writer"],
        administration=commune,
        title="Pendant l'absence",
        document=document(),
        document_name="x.pdf",
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
    )
    assert "Pendant l&#x27;absence" in chief.get(f"/desk/{commune.code}/parapheur/").content.decode()
    chief.post(
        f"/desk/{commune.code}/parapheur/{folder.pk}/act/sign/",
        {"fingerprint": folder.document, "passphrase": "a long passphrase"},
    )
    event = FolderEvent.objects.get(folder=folder, kind="signed")
    assert event.actor == people["chief"] and event.on_behalf_of == people["mayor"]
    mayor.post(f"/desk/{commune.code}/parapheur/delegations/{delegation.pk}/end/")
    assert Delegation.objects.get().ended_at is not None


def test_the_public_verification_page_lists_every_signature_of_a_signed_document(
    commune: Administration, people: dict[str, User], client: Client
) -> None:
    folder = services.folder_submit(
        actor=people["writer"],
        administration=commune,
        title="Arrêté vérifiable",
        document=document(),
        document_name="a.pdf",
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,)), StepSpec(kind=StepKind.SEAL)],
    )
    folder.refresh_from_db()
    services.folder_sign(actor=people["mayor"], folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE)
    folder.refresh_from_db()
    signed = storage.read_bytes(folder.document)

    def check(data: bytes, name: str = "doc.pdf") -> Response:
        return client.post(
            "/verify/",
            {"file": SimpleUploadedFile(name, data, content_type="application/pdf")},
            headers={"Accept-Language": "fr"},
        )

    response = check(signed)
    html = response.content.decode()
    assert response.status_code == 200, html[:3000]
    assert "Document signé authentique" in html and f"P-{folder.pk}" in html
    assert html.count('data-valid="true"') == 3  # the verdict and both signatures
    assert "Nadia Amrani" in html and "Signature électronique avancée" in html and "Cachet de l'administration" in html
    proof = check(storage.read_bytes(folder.proof), "proof.pdf")
    assert proof.status_code == 200 and "Bordereau de preuve authentique" in proof.content.decode()
    # One byte changed inside the signed part: not confirmed, and the signatures say so.
    at = signed.index(b"/Contents") - 200
    tampered = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1 :]
    bad = check(tampered)
    assert bad.status_code == 422 and 'data-valid="true"' not in bad.content.decode()
    # The document as submitted carries no signature: not confirmed.
    assert check(storage.read_bytes(folder.original)).status_code == 422


def test_the_admin_builds_a_circuit_that_folders_then_follow(
    commune: Administration, people: dict[str, User], commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    from tenancy.testing import make_service

    urb = make_service(commune, "URB", name_fr="Urbanisme")
    Membership.objects.filter(user=people["chief"]).update(service=urb)
    admin = signed_in(commune_admin, "fr")
    url = f"/desk/{commune.code}/parapheur/circuits/"
    assert signed_in(people["chief"], "fr").get(url).status_code == 404  # only admins edit circuits
    refused = admin.post(url, {"code": "vide", "name": "Sans étape", "is_active": "on"})
    assert refused.status_code == 400  # a circuit needs a visa or a signature
    response = admin.post(
        url,
        {
            "code": "arrete",
            "name": "Arrêtés",
            "document_type": "decision",
            "is_active": "on",
            "step1_kind": "visa",
            "step1_role": "head",
            "step1_service": urb.pk,
            "step2_kind": "signature",
            "step2_person": people["mayor"].pk,
            "step3_kind": "seal",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from parapheur.models import Circuit

    circuit = Circuit.objects.get(code="ARRETE")
    assert [(s.kind, s.actor_kind, s.role) for s in circuit.steps.all()] == [
        ("visa", "role", "head"),
        ("signature", "person", ""),
        ("seal", "person", ""),
    ]
    writer = signed_in(people["writer"], "fr")
    created = writer.post(
        f"/desk/{commune.code}/parapheur/new/", {"title": "Arrêté 3", "document": pdf_upload(), "circuit": circuit.pk}
    )
    assert created.status_code == 302
    folder = Folder.objects.get(title="Arrêté 3")
    assert folder.circuit == circuit and folder.document_type == "decision"
    # Any head of the urbanism service gives the visa.
    services.folder_approve(actor=people["chief"], folder_id=folder.pk, fingerprint=folder.document)
    folder.refresh_from_db()
    assert folder.current == 2
    page = admin.get(f"/desk/{commune.code}/parapheur/circuits/{circuit.pk}/").content.decode()
    assert 'value="ARRETE"' in page


def test_an_answer_goes_through_a_circuit_from_the_reply_page(
    commune: Administration, people: dict[str, User], citizen: User, clerk: User, signed_in: Callable[..., Client]
) -> None:
    from parapheur.models import Circuit
    from parapheur.services import circuit_save
    from tenancy.testing import make_service
    from workflow import services as desk
    from workflow.models import Case
    from workflow.testing import deposit

    urb = make_service(commune, "URB", name_fr="Urbanisme")
    Membership.objects.filter(user=people["writer"]).update(service=urb)
    c = deposit(commune, citizen, subject="طلب").correspondence
    desk.case_assign(actor=clerk, case_id=c.pk, service=urb)
    circuit = circuit_save(
        actor=clerk,
        administration=commune,
        circuit=None,
        values={"code": "REP", "name": "Réponses", "is_active": True},
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))],
    )
    writer = signed_in(people["writer"], "fr")
    page = writer.get(f"/desk/{commune.code}/c/{c.pk}/reply/").content.decode()
    assert f'<option value="{circuit.pk}">' in page
    response = writer.post(
        f"/desk/{commune.code}/c/{c.pk}/reply/",
        {"body_fr": "Accord.", "decision": "answer", "circuit": circuit.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    folder = Folder.objects.get(case_id=c.pk)
    assert response["Location"] == f"/desk/{commune.code}/parapheur/{folder.pk}/"
    assert Case.objects.get(pk=c.pk).status == "assigned"  # not answered until signed
    signed_in(people["mayor"], "fr").post(
        f"/desk/{commune.code}/parapheur/{folder.pk}/act/sign/",
        {"fingerprint": folder.document, "passphrase": PASSPHRASE},
    )
    assert Case.objects.get(pk=c.pk).status == "answered"
    assert Circuit.objects.count() == 1


def test_an_office_document_is_converted_when_a_converter_is_installed(
    commune: Administration,
    people: dict[str, User],
    settings: Settings,
    tmp_path: Path,
    signed_in: Callable[..., Client],
) -> None:
    """A stand-in for LibreOffice (same command line): it writes a PDF where soffice would."""
    import stat
    import sys

    pdf = tmp_path / "made.pdf"
    pdf.write_bytes(document("Converti depuis Word"))
    fake = tmp_path / "soffice"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys, pathlib\n"
        "args = sys.argv[1:]\n"
        "assert args[:3] == ['--headless', '--convert-to', 'pdf'] and args[3] == '--outdir'\n"
        "source = pathlib.Path(args[5])\n"
        f"shutil.copy({str(pdf)!r}, pathlib.Path(args[4]) / (source.stem + '.pdf'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    word = SimpleUploadedFile("contrat.docx", b"PK\x03\x04 a word document", content_type="application/msword")
    form = {"title": "Contrat", "document": word, "signatory": people["mayor"].pk}
    settings.OFFICE_CONVERTER = str(fake)
    response = signed_in(people["writer"], "fr").post(f"/desk/{commune.code}/parapheur/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    folder = Folder.objects.get()
    assert folder.document_name == "contrat.pdf"
    assert storage.read_bytes(folder.document) == pdf.read_bytes()
    # No converter: a clear message, nothing kept.
    settings.OFFICE_CONVERTER = str(tmp_path / "missing")
    word.seek(0)
    refused = signed_in(people["writer"], "fr").post(f"/desk/{commune.code}/parapheur/new/", form)
    assert refused.status_code == 400 and "aucun convertisseur" in refused.content.decode()
    assert Folder.objects.count() == 1


def test_a_folder_with_annexes_opens_and_each_annex_comes_with_its_own_type(
    commune: Administration, people: dict[str, User], outsider: User, signed_in: Callable[..., Client]
) -> None:
    from documents.samples import image_bytes

    scan = image_bytes("PNG")
    folder = services.folder_submit(
        actor=people["writer"],
        administration=commune,
        title="Marché n° 7",
        document=document("Marché n° 7"),
        document_name="marche.pdf",
        steps=[StepSpec(kind=StepKind.VISA, people=(people["chief"].pk,))],
        annexes=[("devis.pdf", document("Devis"), "application/pdf"), ("plan.png", scan, "image/png")],
    )
    pdf_annex, png_annex = folder.annexes.order_by("pk")
    chief = signed_in(people["chief"], "fr")
    page = chief.get(f"/desk/{commune.code}/parapheur/{folder.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for annex in (pdf_annex, png_annex):
        url = f"/desk/{commune.code}/parapheur/{folder.pk}/annexes/{annex.pk}"
        assert f'href="{url}"' in html
    image = chief.get(f"/desk/{commune.code}/parapheur/{folder.pk}/annexes/{png_annex.pk}")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.getvalue() == scan
    assert "plan.png" in image["Content-Disposition"]
    pdf = chief.get(f"/desk/{commune.code}/parapheur/{folder.pk}/annexes/{pdf_annex.pk}")
    assert pdf["Content-Type"] == "application/pdf"
    # Another folder's annex id, a huge id and an outsider: not found.
    assert chief.get(f"/desk/{commune.code}/parapheur/{folder.pk}/annexes/{2**63}").status_code == 404
    assert chief.get(f"/desk/{commune.code}/parapheur/{folder.pk}/annexes/{10**20}").status_code == 404
    assert (
        signed_in(outsider, "fr").get(f"/desk/{commune.code}/parapheur/{folder.pk}/annexes/{png_annex.pk}").status_code
        == 404
    )


def test_the_address_of_a_refused_certificate_form_leads_back_to_the_certificate_page(
    commune: Administration, people: dict[str, User], signed_in: Callable[..., Client]
) -> None:
    """An invalid form is shown at the address it was posted to; opening that address again (the
    language switch does) shows the certificate page rather than an error."""
    chief = signed_in(people["chief"], "fr")
    page = f"/desk/{commune.code}/parapheur/certificate/"
    for operation in ("enrol", "import"):
        refused = chief.post(f"{page}{operation}/", {})
        assert refused.status_code == 400
        again = chief.get(f"{page}{operation}/")
        assert (again.status_code, again["Location"]) == (302, page)


def test_the_auditor_reads_a_folder_but_writes_nothing_in_its_history(
    commune: Administration, people: dict[str, User], auditor: User, signed_in: Callable[..., Client]
) -> None:
    """The auditor is read-only: the folder's page offers no comment form, and a comment posted
    anyway (page or API) is not found and leaves no event; a person of the circuit comments."""
    from api.testing import bearer

    folder = services.folder_submit(
        actor=people["writer"],
        administration=commune,
        title="Arrêté n° 9",
        document=document("Arrêté n° 9"),
        document_name="arrete.pdf",
        steps=[StepSpec(kind=StepKind.VISA, people=(people["chief"].pk,))],
    )
    url = f"/desk/{commune.code}/parapheur/{folder.pk}/"
    reader = signed_in(auditor, "fr")
    page = reader.get(url)
    assert page.status_code == 200 and "act/comment/" not in page.content.decode()
    assert reader.post(f"{url}act/comment/", {"comment-text": "Vu"}).status_code == 404
    act = f"/api/v1/administrations/{commune.code}/folders/{folder.pk}/act"
    assert (
        bearer(auditor).post(act, {"action": "comment", "text": "Vu"}, content_type="application/json").status_code
        == 404
    )
    assert not FolderEvent.objects.filter(folder=folder, kind=FolderEvent.Kind.ANNOTATED).exists()
    chief = signed_in(people["chief"], "fr")
    assert "act/comment/" in chief.get(url).content.decode()
    chief.post(f"{url}act/comment/", {"comment-text": "Vu"})
    assert FolderEvent.objects.filter(folder=folder, kind=FolderEvent.Kind.ANNOTATED, actor=people["chief"]).exists()
