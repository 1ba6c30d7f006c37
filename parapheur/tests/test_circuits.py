"""Circuits end to end at the service level: visas, signatures (checked by pyHanko and pdfsig),
the seal, parallel steps, opinions, rejection, return, delegation, and every refusal changing
nothing."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from audit.models import AuditEvent
from core.clock import now
from core.errors import NotFound
from documents import storage
from parapheur import services
from parapheur.certificates import CertificateRefused, certificate_revoke, current_certificate
from parapheur.models import ActorKind, Circuit, Delegation, Folder, FolderEvent, FolderStep, StepKind
from parapheur.services import FolderRefused, StepSpec, acts
from parapheur.testing import PASSPHRASE, document, enrolled, person
from tenancy.models import Administration, Membership, User
from trust.sealing import sign_pdf
from trust.services import ca_certificate_pem, installation_pki
from trust.testing import assert_pdfsig_trusted, pdfsig_available
from trust.verification import verify_pdf, verify_pdf_signatures
from workflow.calendar import local_date

Role = Membership.Role
needs_pdfsig = pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")


@pytest.fixture
def people(commune: Administration) -> dict[str, User]:
    return {
        "writer": person(commune, Role.AGENT, "writer@commune.ma", name="Salma Writer"),
        "chief": person(commune, Role.HEAD, "chief@commune.ma", name="Omar Chef"),
        "sg": person(commune, Role.HEAD, "sg@commune.ma", name="Hind Secrétaire"),
        "mayor": enrolled(
            person(commune, Role.SIGNATORY, "mayor@commune.ma", name="نادية العمراني"),
            commune,
            title_fr="Présidente du conseil",
            title_ar="رئيسة المجلس",
        ),
        "deputy": enrolled(
            person(commune, Role.SIGNATORY, "deputy@commune.ma", name="Karim Idrissi"),
            commune,
            title_fr="Vice-président",
        ),
    }


def visa(user: User) -> StepSpec:
    return StepSpec(kind=StepKind.VISA, people=(user.pk,))


def signature(user: User, *, x_mm: int = StepSpec.x_mm) -> StepSpec:
    return StepSpec(kind=StepKind.SIGNATURE, people=(user.pk,), x_mm=x_mm)


def submit(
    commune: Administration,
    people: dict[str, User],
    steps: list[StepSpec] | None,
    *,
    pdf: bytes | None = None,
    circuit: Circuit | None = None,
) -> Folder:
    return services.folder_submit(
        actor=people["writer"],
        administration=commune,
        title="Arrêté d'alignement n° 12",
        document=pdf or document(),
        document_name="arrete.pdf",
        steps=steps,
        circuit=circuit,
    )


def approve(folder: Folder, user: User) -> Folder:
    folder.refresh_from_db()
    return services.folder_approve(actor=user, folder_id=folder.pk, fingerprint=folder.document)


def sign(folder: Folder, user: User, passphrase: str = PASSPHRASE) -> Folder:
    folder.refresh_from_db()
    return services.folder_sign(actor=user, folder_id=folder.pk, fingerprint=folder.document, passphrase=passphrase)


@needs_pdfsig
def test_visa_visa_signature_seal_gives_a_document_every_validator_accepts(
    commune: Administration, people: dict[str, User]
) -> None:
    folder = submit(
        commune,
        people,
        [visa(people["chief"]), visa(people["sg"]), signature(people["mayor"]), StepSpec(kind=StepKind.SEAL)],
    )
    assert (folder.status, folder.current) == (Folder.Status.IN_PROGRESS, 1)
    # Each actor sees only their own step, in turn.
    with pytest.raises(FolderRefused) as early:
        sign(folder, people["mayor"])
    assert early.value.code == "not_your_turn"
    approve(folder, people["chief"])
    approve(folder, people["sg"])
    folder.refresh_from_db()
    shown = folder.document
    assert folder.current == 3 and shown == folder.original  # visas change nothing in the PDF
    sign(folder, people["mayor"])
    folder.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED and folder.current == 0 and folder.proof
    final = storage.read_bytes(folder.document)
    original = storage.read_bytes(folder.original)
    assert final.startswith(original)  # incremental: the submitted bytes are untouched
    report = assert_pdfsig_trusted(final, ca_certificate_pem())
    assert report.count("Signature #") == 2 and "نادية العمراني" in report
    verdict = verify_pdf(final, pki=installation_pki())
    assert verdict.valid and verdict.signer_code == commune.code  # the last one: the seal
    # The signature is visible: its widget has a box and an appearance on the last page.
    reader = PdfFileReader(BytesIO(final))
    widgets = [
        annot.get_object()
        for page in reader.root["/Pages"]["/Kids"]
        for annot in page.get_object().get("/Annots", [])
        if annot.get_object().get("/FT") == "/Sig"
    ]
    visible = [w for w in widgets if float(w["/Rect"][2]) > float(w["/Rect"][0])]
    assert len(widgets) == 2 and len(visible) == 1 and "/AP" in visible[0]
    # B-LT: the chains and the installation's CRL travel with the document.
    assert len(reader.root["/DSS"]["/CRLs"]) == 1 and len(reader.root["/DSS"]["/Certs"]) >= 4
    # The proof slip lists every act with the fingerprint, and is sealed.
    proof = storage.read_bytes(folder.proof)
    assert verify_pdf(proof, pki=installation_pki()).valid
    kinds = list(folder.events.values_list("kind", flat=True))
    assert kinds == ["submitted", "approved", "approved", "signed", "sealed", "completed"]
    signed_event = folder.events.get(kind="signed")
    assert signed_event.data["signed"] == shown and signed_event.document != shown


def test_all_of_several_people_act_in_any_order_before_the_circuit_moves_on(
    commune: Administration, people: dict[str, User]
) -> None:
    both = StepSpec(kind=StepKind.VISA, actor_kind=ActorKind.ALL, people=(people["chief"].pk, people["sg"].pk))
    folder = submit(commune, people, [both, signature(people["mayor"])])
    approve(folder, people["sg"])
    folder.refresh_from_db()
    assert folder.current == 1
    with pytest.raises(FolderRefused):  # once is enough
        approve(folder, people["sg"])
    approve(folder, people["chief"])
    folder.refresh_from_db()
    assert folder.current == 2


def test_any_member_of_a_role_acts_and_opinions_are_never_waited_for(
    commune: Administration, people: dict[str, User]
) -> None:
    steps = [
        StepSpec(kind=StepKind.OPINION, people=(people["sg"].pk,)),
        StepSpec(kind=StepKind.VISA, actor_kind=ActorKind.ROLE, role=Role.HEAD),
        signature(people["mayor"]),
    ]
    folder = submit(commune, people, steps)
    assert folder.current == 2  # the opinion was asked, and the folder went on
    with pytest.raises(FolderRefused):
        approve(folder, people["writer"])  # an agent, not a head
    approve(folder, people["chief"])
    services.folder_give_opinion(actor=people["sg"], folder_id=folder.pk, text="Avis favorable.")
    folder.refresh_from_db()
    assert folder.current == 3
    sign(folder, people["mayor"])
    folder.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED
    assert folder.events.filter(kind="opinion", text="Avis favorable.").exists()


def test_a_rejection_goes_back_to_the_submitter_with_its_reason(
    commune: Administration, people: dict[str, User]
) -> None:
    folder = submit(commune, people, [visa(people["chief"]), signature(people["mayor"])])
    with pytest.raises(FolderRefused):
        services.folder_reject(actor=people["chief"], folder_id=folder.pk, reason=" ")
    services.folder_reject(actor=people["chief"], folder_id=folder.pk, reason="Visa du service juridique manquant")
    folder.refresh_from_db()
    assert folder.status == Folder.Status.REJECTED
    assert folder.events.get(kind="rejected").text == "Visa du service juridique manquant"
    with pytest.raises(FolderRefused):
        approve(folder, people["chief"])


def test_a_folder_returned_to_an_earlier_step_goes_through_it_again(
    commune: Administration, people: dict[str, User]
) -> None:
    folder = submit(commune, people, [visa(people["chief"]), visa(people["sg"]), signature(people["mayor"])])
    approve(folder, people["chief"])
    approve(folder, people["sg"])
    with pytest.raises(FolderRefused):
        services.folder_return(actor=people["mayor"], folder_id=folder.pk, to_position=3, reason="x")
    services.folder_return(actor=people["mayor"], folder_id=folder.pk, to_position=1, reason="Corriger l'article 2")
    folder.refresh_from_db()
    assert folder.current == 1
    states = dict(folder.steps.values_list("position", "state"))
    assert states == {1: "active", 2: "waiting", 3: "waiting"}
    approve(folder, people["chief"])
    approve(folder, people["sg"])
    sign(folder, people["mayor"])
    folder.refresh_from_db()
    assert folder.status == Folder.Status.COMPLETED


def test_the_document_signed_must_be_the_one_shown(commune: Administration, people: dict[str, User]) -> None:
    folder = submit(commune, people, [signature(people["mayor"]), signature(people["deputy"])])
    sign(folder, people["mayor"])
    folder.refresh_from_db()
    with pytest.raises(FolderRefused) as stale:
        services.folder_sign(
            actor=people["deputy"], folder_id=folder.pk, fingerprint=folder.original, passphrase=PASSPHRASE
        )
    assert stale.value.code == "document_changed"
    before = folder.document
    folder.refresh_from_db()
    assert folder.document == before and folder.current == 2


@needs_pdfsig
def test_two_signatures_stay_valid_one_after_the_other(commune: Administration, people: dict[str, User]) -> None:
    folder = submit(commune, people, [signature(people["mayor"]), signature(people["deputy"], x_mm=20)])
    sign(folder, people["mayor"])
    sign(folder, people["deputy"])
    folder.refresh_from_db()
    report = assert_pdfsig_trusted(storage.read_bytes(folder.document), ca_certificate_pem())
    assert report.count("Signature #") == 2 and "Karim Idrissi" in report


def test_a_wrong_passphrase_or_a_revoked_certificate_signs_nothing(
    commune: Administration, people: dict[str, User]
) -> None:
    folder = submit(commune, people, [signature(people["mayor"])])
    with pytest.raises(CertificateRefused) as wrong:
        sign(folder, people["mayor"], passphrase="not the passphrase")
    assert wrong.value.code == "wrong_passphrase"
    certificate = current_certificate(people["mayor"], commune)
    assert certificate is not None
    certificate_revoke(actor=people["mayor"], certificate=certificate)
    with pytest.raises(CertificateRefused) as revoked:
        sign(folder, people["mayor"])
    assert revoked.value.code == "no_certificate"  # none left in use
    folder.refresh_from_db()
    assert folder.document == folder.original and folder.current == 1
    assert not folder.events.filter(kind="signed").exists()


def test_a_revoked_certificate_on_the_crl_is_refused_even_if_still_on_file(
    commune: Administration, people: dict[str, User]
) -> None:
    certificate = current_certificate(people["mayor"], commune)
    assert certificate is not None
    from parapheur.certificates import chain_of

    installation_pki().revoke(chain_of(certificate)[0])
    folder = submit(commune, people, [signature(people["mayor"])])
    with pytest.raises(CertificateRefused) as revoked:
        sign(folder, people["mayor"])
    assert revoked.value.code == "revoked"


def test_a_delegate_acts_only_within_the_delegation_and_says_so(
    commune: Administration, people: dict[str, User]
) -> None:
    today = local_date(now())
    Delegation.objects.create(
        administration=commune,
        delegator=people["mayor"],
        delegate=people["deputy"],
        starts_on=today + timedelta(days=1),
        ends_on=today + timedelta(days=5),
        created_at=now(),
    )
    folder = submit(commune, people, [signature(people["mayor"])])
    with pytest.raises(FolderRefused):  # not yet
        sign(folder, people["deputy"])
    Delegation.objects.update(starts_on=today - timedelta(days=1))
    sign(folder, people["deputy"])
    folder.refresh_from_db()
    event = folder.events.get(kind="signed")
    assert event.actor == people["deputy"] and event.on_behalf_of == people["mayor"]
    assert AuditEvent.objects.filter(action="folder.signed_by_delegation", subject_user=people["mayor"]).exists()
    assert folder.status == Folder.Status.COMPLETED


def test_bad_documents_and_bad_circuits_are_refused_and_keep_nothing(
    commune: Administration, people: dict[str, User]
) -> None:
    count = Folder.objects.count()
    for bad, code in [(b"PK\x03\x04 a word file", "not_pdf"), (b"%PDF-1.7 broken", "unreadable_pdf")]:
        with pytest.raises(FolderRefused) as refused:
            submit(commune, people, [visa(people["chief"])], pdf=bad)
        assert refused.value.code == code
    with pytest.raises(FolderRefused) as nobody:
        submit(commune, people, [StepSpec(kind=StepKind.SEAL)])
    assert nobody.value.code == "no_steps"
    outsider = person(commune, Role.AUDITOR, "auditor2@commune.ma")
    with pytest.raises(FolderRefused) as stranger:
        submit(commune, people, [visa(outsider)])
    assert stranger.value.code == "not_a_member"
    assert Folder.objects.count() == count and not FolderStep.objects.exists()


def test_an_encrypted_pdf_is_refused(commune: Administration, people: dict[str, User]) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(BytesIO(document())))
    writer.encrypt("secret")
    out = BytesIO()
    writer.write(out)
    with pytest.raises(FolderRefused) as refused:
        submit(commune, people, [visa(people["chief"])], pdf=out.getvalue())
    assert refused.value.code == "encrypted_pdf"


def test_people_of_another_administration_cannot_submit_or_act(
    commune: Administration, elsewhere: Administration, outsider: User, people: dict[str, User]
) -> None:
    with pytest.raises(NotFound):
        services.folder_submit(
            actor=outsider,
            administration=commune,
            title="x",
            document=document(),
            document_name="x.pdf",
            steps=[visa(people["chief"])],
        )
    folder = submit(commune, people, [StepSpec(kind=StepKind.VISA, actor_kind=ActorKind.ROLE, role=Role.HEAD)])
    with pytest.raises(FolderRefused):
        approve(folder, outsider)  # a head elsewhere is not a head here
    assert FolderEvent.objects.filter(folder=folder).count() == 1


def test_a_step_waiting_too_long_reminds_its_people_once_per_period(
    commune: Administration,
    people: dict[str, User],
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    from django.core import mail

    from core.testing import clock_at
    from parapheur.reminders import folders_remind
    from workflow.models import Notification

    settings.FOLDER_REMIND_DAYS = 2
    with clock_at("2026-03-02 10:00"):
        folder = submit(commune, people, [visa(people["chief"]), signature(people["mayor"])])
    with clock_at("2026-03-03 10:00"):
        assert folders_remind() == 0  # one day: not yet
    with clock_at("2026-03-04 10:30"), django_capture_on_commit_callbacks(execute=True):
        assert folders_remind() == 1
        assert folders_remind() == 0  # the same period: once
    assert [m.to for m in mail.outbox] == [["chief@commune.ma"]]
    assert (
        Notification.objects.filter(user=people["chief"], url=f"/desk/{commune.code}/parapheur/{folder.pk}/").count()
        == 1
    )
    assert not Notification.objects.filter(user=people["mayor"]).exists()  # not their turn yet
    assert folder.events.filter(kind="reminded", step=1).count() == 1
    with clock_at("2026-03-06 11:00"):
        assert folders_remind() == 1  # a period later: again
    # Once the visa is given, the signatory's step starts its own period.
    with clock_at("2026-03-06 12:00"):
        approve(folder, people["chief"])
    with clock_at("2026-03-07 12:00"):
        assert folders_remind() == 0
    with clock_at("2026-03-08 12:30"):
        assert folders_remind() == 1
    assert Notification.objects.filter(user=people["mayor"]).count() == 1


def test_a_visa_can_be_signed_into_the_document_with_a_certificate(
    commune: Administration, people: dict[str, User]
) -> None:
    chief = enrolled(people["chief"], commune)
    folder = submit(commune, people, [visa(chief), signature(people["mayor"])])
    with pytest.raises(CertificateRefused):
        services.folder_approve(actor=chief, folder_id=folder.pk, fingerprint=folder.document, passphrase="wrong one")
    folder.refresh_from_db()
    assert folder.current == 1 and folder.document == folder.original  # nothing happened
    services.folder_approve(actor=chief, folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE)
    folder.refresh_from_db()
    assert folder.current == 2 and folder.document != folder.original
    verdicts = verify_pdf_signatures(storage.read_bytes(folder.document), pki=installation_pki())
    assert [(v.signer, v.valid) for v in verdicts] == [("Omar Chef", True)]
    assert folder.events.get(kind="approved").data["level"] == "advanced"


def test_a_crash_in_the_middle_of_a_batch_leaves_that_folder_as_it_was_and_signs_the_others(
    commune: Administration, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = [submit(commune, people, [signature(people["mayor"])], pdf=document(f"Décision {n}")) for n in range(3)]
    real = sign_pdf
    broken = folders[1].document

    def crashing(pdf: bytes, **kwargs: Any) -> bytes:
        if storage.read_bytes(broken) == pdf:
            raise RuntimeError("the disk is full")
        return real(pdf, **kwargs)

    monkeypatch.setattr(acts, "sign_pdf", crashing)
    results = services.folders_sign(
        actor=people["mayor"], administration=commune, folder_ids=[f.pk for f in folders], passphrase=PASSPHRASE
    )
    assert [r.ok for r in results] == [True, False, True]
    middle = Folder.objects.get(pk=folders[1].pk)
    assert (middle.status, middle.current, middle.document) == ("in_progress", 1, middle.original)
    assert not middle.events.filter(kind="signed").exists()
    assert [Folder.objects.get(pk=f.pk).status for f in (folders[0], folders[2])] == ["completed", "completed"]


def test_the_signatory_may_place_the_block_elsewhere_but_inside_the_document(
    commune: Administration, people: dict[str, User]
) -> None:
    folder = submit(commune, people, [signature(people["mayor"])])
    with pytest.raises(FolderRefused) as nowhere:
        services.folder_sign(
            actor=people["mayor"],
            folder_id=folder.pk,
            fingerprint=folder.document,
            passphrase=PASSPHRASE,
            placement=(7, 10, 10),
        )
    assert nowhere.value.code == "bad_placement"
    folder.refresh_from_db()
    assert folder.document == folder.original and folder.current == 1
    services.folder_sign(
        actor=people["mayor"],
        folder_id=folder.pk,
        fingerprint=folder.document,
        passphrase=PASSPHRASE,
        placement=(1, 20, 200),
    )
    folder.refresh_from_db()
    reader = PdfFileReader(BytesIO(storage.read_bytes(folder.document)))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    rects = [a.get_object()["/Rect"] for a in page.get("/Annots", []) if a.get_object().get("/FT") == "/Sig"]
    visible = [r for r in rects if float(r[2]) > float(r[0])]
    assert len(visible) == 1 and round(float(visible[0][0]) / (72 / 25.4)) == 20
    assert round(float(visible[0][1]) / (72 / 25.4)) == 200


def test_an_expired_certificate_cannot_sign(commune: Administration, people: dict[str, User]) -> None:
    from parapheur.models import SigningCertificate

    SigningCertificate.objects.filter(user=people["mayor"]).update(not_after=now() - timedelta(days=1))
    folder = submit(commune, people, [signature(people["mayor"])])
    with pytest.raises(CertificateRefused) as expired:
        sign(folder, people["mayor"])
    assert expired.value.code == "expired"
    folder.refresh_from_db()
    assert folder.document == folder.original and not folder.events.filter(kind="signed").exists()


def test_the_circuit_is_chosen_by_type_then_by_service_and_adjusted_where_it_allows(
    commune: Administration, people: dict[str, User]
) -> None:
    from tenancy.testing import make_service

    direction = make_service(commune, "DIR", name_fr="Direction")
    urb = make_service(commune, "URB", name_fr="Urbanisme", parent=direction)
    by_type = services.circuit_save(
        actor=people["chief"],
        administration=commune,
        circuit=None,
        values={"code": "CONTRAT", "name": "Contrats", "document_type": "contract", "is_active": True},
        steps=[signature(people["mayor"])],
    )
    by_service = services.circuit_save(
        actor=people["chief"],
        administration=commune,
        circuit=None,
        values={"code": "DIR", "name": "Direction", "service": direction, "adjustable": True, "is_active": True},
        steps=[
            visa(people["chief"]),
            StepSpec(kind=StepKind.SIGNATURE, actor_kind=ActorKind.ROLE, role=Role.SIGNATORY),
        ],
    )
    assert services.circuit_for(commune, service=urb, document_type="contract") == by_type
    assert services.circuit_for(commune, service=urb) == by_service  # the service above it
    assert services.circuit_for(commune, service=None) is None
    steps = services.adjusted(by_service, extra_visas=[people["sg"].pk], signatory=people["deputy"].pk)
    assert [(s.kind, s.people) for s in steps] == [
        ("visa", (people["sg"].pk,)),
        ("visa", (people["chief"].pk,)),
        ("signature", (people["deputy"].pk,)),
    ]
    with pytest.raises(FolderRefused) as fixed:
        services.adjusted(by_type, extra_visas=[people["sg"].pk])
    assert fixed.value.code == "fixed_circuit"
    folder = submit(commune, people, steps, circuit=by_service)
    assert [a.user for s in folder.steps.all() for a in s.actors.all()] == [
        people["sg"],
        people["chief"],
        people["deputy"],
    ]
