"""Nothing slow under a lock in the parapheur: signatures are made before the act's transaction,
the seal of a seal step, the registration of a reply and the proof slip after its commit; a
folder left finishing by a crash is finished by the worker, once; a folder that moved while a
signature was being made refuses it; pages, the API and the public verification say a folder
is being finished instead of failing."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from pyhanko.sign.validation.dss import DocumentSecurityStore

from api.testing import bearer
from core.testing import Clock
from documents import rendering, storage
from parapheur import services
from parapheur.models import Folder, FolderEvent, StepKind
from parapheur.services import FolderRefused, StepSpec, acts, finishing
from parapheur.testing import PASSPHRASE, document, enrolled, person
from registry.models import Correspondence, Direction
from tenancy.models import Administration, Membership, User
from trust import sealing
from trust.cms import SigningIdentity
from trust.sealing import add_validation_data, sign_pdf
from trust.services import ca_certificate_pem, installation_pki
from trust.testing import assert_pdfsig_trusted, pdfsig_available
from trust.verification import verify_pdf
from workflow import services as desk
from workflow.models import Case, Reply
from workflow.services import LetterText

Role = Membership.Role
needs_pdfsig = pytest.mark.skipif(not pdfsig_available(), reason="poppler-utils / libnss3-tools not installed")


@pytest.fixture
def people(commune: Administration, case: Case) -> dict[str, User]:
    return {
        "agent": person(commune, Role.AGENT, "agent2@commune.ma", service=case.service, name="Salma Agent"),
        "chief": enrolled(person(commune, Role.HEAD, "chief@commune.ma", name="Omar Chef"), commune),
        "mayor": enrolled(
            person(commune, Role.SIGNATORY, "mayor@commune.ma", name="Nadia Amrani"), commune, title_fr="Présidente"
        ),
    }


def answer_in_circuit(case: Case, people: dict[str, User]) -> Folder:
    """A visa signed into the letter, then the signature: the circuit completes."""
    folder = services.reply_submit(
        actor=people["agent"],
        case_id=case.pk,
        text=LetterText(body_fr="Nous accordons l'autorisation demandée.", body_ar="نوافق على الطلب."),
        steps=[
            StepSpec(kind=StepKind.VISA, people=(people["chief"].pk,)),
            StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,)),
        ],
    )
    services.folder_approve(
        actor=people["chief"], folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE
    )
    folder.refresh_from_db()
    return services.folder_sign(
        actor=people["mayor"], folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE
    )


def submitted_to_the_mayor(
    commune: Administration, people: dict[str, User], title: str, *, sealed: bool = False
) -> Folder:
    """A decree the agent submits for the mayor's signature (then the seal, when ``sealed``)."""
    steps = [StepSpec(kind=StepKind.SIGNATURE, people=(people["mayor"].pk,))]
    return services.folder_submit(
        actor=people["agent"],
        administration=commune,
        title=title,
        document=document(),
        document_name="arrete.pdf",
        steps=[*steps, StepSpec(kind=StepKind.SEAL)] if sealed else steps,
    )


@contextmanager
def crashed_after_commit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process stops right after an act's commit: its finisher never runs."""
    with monkeypatch.context() as patched:
        patched.setattr(finishing, "folder_finish_safely", lambda *, folder_id: None)
        yield


# ---------------------------------------------------------------- nothing slow in a transaction


@contextmanager
def watched_slow_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Every signature (a private key's operation), timestamp, rendering and validation data
    added to a PDF, each with whether it ran inside a transaction."""
    calls: list[tuple[str, bool]] = []

    def watch(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, connection.in_atomic_block))
            return real(*args, **kwargs)

        return watched

    supply_dss = DocumentSecurityStore.supply_dss_in_writer
    with monkeypatch.context() as patched:
        patched.setattr(SigningIdentity, "sign", watch("sign", SigningIdentity.sign))
        patched.setattr(sealing, "timestamp_token", watch("timestamp", sealing.timestamp_token))
        patched.setattr(rendering, "_payload", watch("render", rendering._payload))
        dss = watch("validation data", supply_dss)
        patched.setattr(DocumentSecurityStore, "supply_dss_in_writer", classmethod(lambda cls, *a, **k: dss(*a, **k)))
        yield calls


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_signature_seal_timestamp_or_rendering_runs_inside_a_transaction(
    commune: Administration, case: Case, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transactional test: ``in_atomic_block`` is true only inside the code's own transactions
    (on SQLite the database's write lock, on PostgreSQL the folder's and the register's locks)."""
    with watched_slow_work(monkeypatch) as reply_calls:
        # A visa signed into the letter, the signature, the registration of the reply with its
        # letter sealed, the proof slip.
        replied = answer_in_circuit(case, people)
    with watched_slow_work(monkeypatch) as seal_calls:
        # A signature, the seal step, the proof slip.
        sealed = submitted_to_the_mayor(commune, people, "Arrêté n° 12", sealed=True)
        sealed = services.folder_sign(
            actor=people["mayor"], folder_id=sealed.pk, fingerprint=sealed.document, passphrase=PASSPHRASE
        )
    for folder, calls in ((replied, reply_calls), (sealed, seal_calls)):
        assert folder.status == Folder.Status.COMPLETED and not folder.finishing and folder.proof
        assert {name for name, _inside in calls} == {"sign", "timestamp", "render", "validation data"}
        assert [name for name, inside in calls if inside] == []
    assert Reply.objects.filter(case=case).count() == 1
    assert [e.kind for e in sealed.events.all()] == ["submitted", "signed", "sealed", "completed"]


# ---------------------------------------------------------------- a crash after commit


def test_a_completion_left_by_a_crash_is_finished_by_the_worker_once(
    commune: Administration, case: Case, people: dict[str, User], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with crashed_after_commit(monkeypatch):
        folder = answer_in_circuit(case, people)
    # Committed: the circuit is complete, the signed letter kept; nothing registered yet.
    signed = folder.document
    assert (folder.status, folder.finishing, folder.proof, folder.letter_id) == ("completed", True, "", None)
    assert not Correspondence.objects.filter(direction=Direction.OUTGOING).exists()
    assert not folder.events.filter(kind=FolderEvent.Kind.COMPLETED).exists()
    assert finishing.folders_finish_pending() == 0  # too recent: a request may still be finishing it
    # Meanwhile the desk and the API say the same: the document and the proof slip are coming.
    api, base = bearer(people["agent"]), f"/api/v1/administrations/{commune.code}/folders/{folder.pk}"
    desk = Client()
    desk.force_login(people["agent"])
    page = f"/desk/{commune.code}/parapheur/{folder.pk}"
    for which in ("document", "proof"):
        assert api.get(f"{base}/{which}").status_code == 202 == desk.get(f"{page}/{which}.pdf").status_code
    clock.advance(minutes=1)
    assert finishing.folders_finish_pending() == 1
    assert finishing.folders_finish_pending() == 0
    folder.refresh_from_db()
    reply = Reply.objects.get(case=case)
    assert Correspondence.objects.filter(direction=Direction.OUTGOING).count() == 1
    assert Case.objects.get(pk=case.pk).status == "answered"
    letter = reply.outgoing.sealed_documents.get()
    assert folder.letter_id == letter.pk and folder.document == letter.blob_id != signed
    assert not folder.finishing and folder.proof
    completed = folder.events.get(kind=FolderEvent.Kind.COMPLETED)
    assert (completed.at, completed.document) == (folder.finished_at, folder.document)
    assert api.get(base).json()["finishing"] is False
    assert api.get(f"{base}/document").status_code == 200 and api.get(f"{base}/proof").status_code == 200
    # Run again, the finisher does nothing more.
    services.folder_finish(folder_id=folder.pk)
    assert Reply.objects.filter(case=case).count() == 1
    assert Folder.objects.get(pk=folder.pk).proof == folder.proof
    assert folder.events.filter(kind=FolderEvent.Kind.COMPLETED).count() == 1
    # A seal step under way in a circuit not complete: the document is coming, no proof slip is.
    Folder.objects.filter(pk=folder.pk).update(status=Folder.Status.IN_PROGRESS, finishing=True, proof="")
    assert api.get(f"{base}/document").status_code == 202 == desk.get(f"{page}/document.pdf").status_code
    assert api.get(f"{base}/proof").status_code == 404 == desk.get(f"{page}/proof.pdf").status_code


@needs_pdfsig
def test_the_letter_and_the_proof_made_after_commit_verify_with_pdfsig(
    commune: Administration, case: Case, people: dict[str, User]
) -> None:
    folder = answer_in_circuit(case, people)
    letter = storage.read_bytes(folder.document)
    report = assert_pdfsig_trusted(letter, ca_certificate_pem())
    assert report.count("Signature #") == 3  # the visa, the signature, the seal of registration
    proof = storage.read_bytes(folder.proof)
    assert_pdfsig_trusted(proof, ca_certificate_pem())
    assert verify_pdf(proof, pki=installation_pki()).valid


def test_a_failing_finisher_is_counted_and_the_worker_tries_again(
    commune: Administration, people: dict[str, User], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = submitted_to_the_mayor(commune, people, "Arrêté n° 13", sealed=True)
    with monkeypatch.context() as patched:
        patched.setattr(finishing, "seal_pdf", lambda *a, **k: (_ for _ in ()).throw(OSError("TSA unreachable")))
        folder = services.folder_sign(
            actor=people["mayor"], folder_id=submitted.pk, fingerprint=submitted.document, passphrase=PASSPHRASE
        )
    # The signature is recorded; the seal waits, its failure counted where operators see it.
    assert (folder.status, folder.finishing, folder.finish_attempts) == ("in_progress", True, 1)
    assert folder.finish_error == "OSError: TSA unreachable"
    assert list(folder.steps.values_list("kind", "state")) == [("signature", "done"), ("seal", "active")]
    clock.advance(minutes=1)
    assert finishing.folders_finish_pending() == 1
    folder.refresh_from_db()
    assert (folder.status, folder.finishing, folder.finish_error) == ("completed", False, "")
    assert [e.kind for e in folder.events.all()] == ["submitted", "signed", "sealed", "completed"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_finishers_at_once_register_the_reply_once(
    commune: Administration, case: Case, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    with crashed_after_commit(monkeypatch):
        folder = answer_in_circuit(case, people)
    # Both finishers have read the folder without a letter before either registers it.
    both_read = threading.Barrier(2, timeout=30)
    real = desk.case_reply
    outcomes: list[str] = []

    def case_reply(**kwargs: Any) -> Reply:
        both_read.wait()
        try:
            reply = real(**kwargs)
        except Exception:
            outcomes.append("refused")
            raise
        outcomes.append("registered")
        return reply

    monkeypatch.setattr(finishing, "case_reply", case_reply)
    failures: list[BaseException] = []

    def finisher() -> None:
        try:
            services.folder_finish(folder_id=folder.pk)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sorted(outcomes) == ["refused", "registered"]  # both tried; the second was refused
    services.folder_finish(folder_id=folder.pk)  # whichever stopped at the letter being sealed
    assert Reply.objects.filter(case=case).count() == 1
    assert Correspondence.objects.filter(direction=Direction.OUTGOING).count() == 1
    folder.refresh_from_db()
    assert not folder.finishing and folder.proof and folder.finish_attempts == 0
    assert folder.events.filter(kind=FolderEvent.Kind.COMPLETED).count() == 1


# ---------------------------------------------------------------- a folder that moved meanwhile


def test_a_signature_made_while_the_folder_moved_is_refused_and_nothing_is_kept(
    commune: Administration, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = submitted_to_the_mayor(commune, people, "Arrêté n° 14")
    made: list[str] = []
    real_sign, real_validation = sign_pdf, add_validation_data

    def sign_while_withdrawn(pdf: bytes, **kwargs: Any) -> bytes:
        # While the signature is being made, its submitter withdraws the folder.
        services.folder_withdraw(actor=people["agent"], folder_id=folder.pk)
        return real_sign(pdf, **kwargs)

    def validation_data(pdf: bytes, **kwargs: Any) -> bytes:
        signed = real_validation(pdf, **kwargs)
        made.append(hashlib.sha256(signed).hexdigest())
        return signed

    monkeypatch.setattr(acts, "sign_pdf", sign_while_withdrawn)
    monkeypatch.setattr(acts, "add_validation_data", validation_data)
    with pytest.raises(FolderRefused) as refused:
        services.folder_sign(
            actor=people["mayor"], folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE
        )
    assert (refused.value.code, refused.value.status) == ("folder_changed", 409)
    folder.refresh_from_db()
    assert folder.status == Folder.Status.CANCELLED and folder.document == folder.original
    assert not folder.events.filter(kind=FolderEvent.Kind.SIGNED).exists()
    assert not folder.steps.get().actors.filter(acted_at__isnull=False).exists()
    assert len(made) == 1 and not storage.exists(made[0])  # the signed file is not kept


def test_a_withdrawn_folder_shows_no_step_under_way(
    commune: Administration, people: dict[str, User], signed_in: Callable[..., Client]
) -> None:
    folder = submitted_to_the_mayor(commune, people, "Arrêté n° 15")
    services.folder_withdraw(actor=people["agent"], folder_id=folder.pk)
    assert list(folder.steps.values_list("state", "started_at")) == [("waiting", None)]
    page = signed_in(people["agent"], "fr").get(f"/desk/{commune.code}/parapheur/{folder.pk}/")
    assert page.status_code == 200
    assert 'aria-current="step"' not in page.content.decode() and "· En cours" not in page.content.decode()


# ---------------------------------------------------------------- what people see meanwhile


def test_while_a_folder_is_being_finished_pages_the_api_and_the_verification_say_so(
    commune: Administration,
    case: Case,
    people: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
    signed_in: Callable[..., Client],
) -> None:
    with crashed_after_commit(monkeypatch):
        folder = answer_in_circuit(case, people)
    code, agent = commune.code, people["agent"]
    page_address = f"/desk/{code}/parapheur/{folder.pk}/"
    files = f"/desk/{code}/parapheur/{folder.pk}/"
    for language, sentence in (
        ("fr", "est en cours de finalisation"),
        ("ar", "جارٍ إتمام هذا الحامل"),
        ("zgh", "ⴰⵙⵎⴷ ⵏ ⵓⵙⴷⴰⵡ ⴰⴷ"),
    ):
        page = signed_in(agent, language).get(page_address)
        assert page.status_code == 200 and sentence in page.content.decode(), language
    shown = signed_in(agent, "fr").get(page_address).content.decode()
    assert f'href="{files}document.pdf"' not in shown and f'href="{files}proof.pdf"' not in shown
    desk_client = signed_in(agent, "fr")
    for which in ("document", "proof"):
        pending = desk_client.get(f"{files}{which}.pdf")
        assert pending.status_code == 202 and pending["Retry-After"] == "5", which
    api = bearer(agent)
    base = f"/api/v1/administrations/{code}/folders/{folder.pk}"
    assert api.get(base).json()["finishing"] is True
    for which in ("document", "proof"):
        pending = api.get(f"{base}/{which}")
        assert pending.status_code == 202 and pending["Retry-After"] == "5", which
    assert api.get(f"{base}/document?version=original").status_code == 200
    # The public verification of the document shown meanwhile: being finished, not confirmed.
    signed = storage.read_bytes(folder.document)
    checked = Client().post("/api/v1/verify", {"file": SimpleUploadedFile("d.pdf", signed)}).json()
    assert (checked["valid"], checked["code"], checked["folder"]) == (False, "folder_being_finished", f"P-{folder.pk}")
    public = Client(headers={"Accept-Language": "fr"}).post("/verify/", {"file": SimpleUploadedFile("d.pdf", signed)})
    assert public.status_code == 202 and "en cours de finalisation" in public.content.decode()


def test_a_seal_step_under_way_is_said_being_sealed(
    commune: Administration,
    people: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
    signed_in: Callable[..., Client],
) -> None:
    submitted = submitted_to_the_mayor(commune, people, "Arrêté n° 16", sealed=True)
    with crashed_after_commit(monkeypatch):
        folder = services.folder_sign(
            actor=people["mayor"], folder_id=submitted.pk, fingerprint=submitted.document, passphrase=PASSPHRASE
        )
    assert (folder.status, folder.finishing, folder.current) == ("in_progress", True, 2)
    page = signed_in(people["agent"], "fr").get(f"/desk/{commune.code}/parapheur/{folder.pk}/")
    assert "en cours de scellement" in page.content.decode()
    # Nobody may act meanwhile: the seal's turn is the installation's.
    with pytest.raises(FolderRefused) as early:
        services.folder_reject(actor=people["mayor"], folder_id=folder.pk, reason="Trop tard")
    assert early.value.code == "not_your_turn"
