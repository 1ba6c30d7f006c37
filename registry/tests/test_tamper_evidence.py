"""Someone who can write the database rewrites the register: every way of doing it is caught,
by `verify_register` and, where a receipt holder can see it, by the public verification.

The witnesses that a database rewrite cannot reach: the anchor file of sealed checkpoints, and
the sealed receipts and letters, which state the log entry they belong to (registry.anchors)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import translation
from pytest_django import DjangoDbBlocker, Settings

from api.testing import bearer
from audit.models import AuditEvent
from core.canonical import canonical_json
from documents import storage
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from documents.testing import pdf_text
from registry.anchors import Anchor, anchor_file_append, anchor_file_read, anchor_in_pdf, anchor_path
from registry.checkpoints import checkpoint_make, checkpoints_anchor
from registry.integrity import files_verify, register_verify
from registry.log import chain_hash
from registry.models import (
    Channel,
    Correspondence,
    Receipt,
    RegisterCheckpoint,
    RegisterCounter,
    RegisterLogEntry,
    RegisterLogHead,
)
from registry.receipts import receipt_issue
from registry.services import Party, RegistrationRefused, correspondence_register
from tenancy.models import Administration, User
from tenancy.testing import make_citizen, make_commune
from tests.once import built_for_the_module
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


# -- the register and the ways of rewriting it -----------------------------------------------------


def deposit(commune: Administration, citizen: User, subject: str) -> Receipt:
    registration = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject=subject,
        files=check_files([bytes_upload(pdf_bytes(text=subject), "lettre.pdf")]),
    )
    assert registration.receipt is not None
    return receipt_issue(receipt_id=registration.receipt.pk)


@dataclass(frozen=True)
class Built:
    commune: int
    citizen: int
    receipts: list[int]
    files: Path


@pytest.fixture(scope="module")
def built(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    """The register every test here starts from, built once for the module in a transaction
    rolled back at its end (each test runs in a savepoint of it, and on a copy of its files):
    six deposits with their sealed receipts, a checkpoint sealed after the fourth."""
    files = tmp_path_factory.mktemp("register-files")
    with built_for_the_module(django_db_blocker), override_settings(FILES_DIR=str(files)):
        commune, citizen = make_commune(), make_citizen()
        receipts = [deposit(commune, citizen, f"طلب رقم {i}") for i in range(1, 5)]
        checkpoint_make(actor=None, administration=commune)
        receipts += [deposit(commune, citizen, f"طلب رقم {i}") for i in range(5, 7)]
        yield Built(commune.pk, citizen.pk, [receipt.pk for receipt in receipts], files)


@pytest.fixture
def commune(built: Built, db: None, settings: Settings) -> Administration:
    """The commune of the register built for the module, its files copied for this test."""
    shutil.copytree(built.files, settings.FILES_DIR, dirs_exist_ok=True)
    return Administration.objects.get(pk=built.commune)


@pytest.fixture
def citizen(built: Built, db: None) -> User:
    return User.objects.get(pk=built.citizen)


@pytest.fixture
def register(built: Built, commune: Administration) -> tuple[Administration, list[Receipt]]:
    """Six deposits with their sealed receipts; a checkpoint sealed after the fourth."""
    receipts = {receipt.pk: receipt for receipt in Receipt.objects.filter(pk__in=built.receipts)}
    return commune, [receipts[pk] for pk in built.receipts]


def sql(statement: str, *params: str | int | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def rewrite_from(
    administration: Administration, position: int, edit: Callable[[str], str] = lambda payload: payload
) -> None:
    """Rewrite the log from ``position`` on as a forger would: edit the payloads, recompute
    every hash after it and the head, so that the chain is consistent again."""
    previous = RegisterLogEntry.objects.get(administration=administration, position=position - 1).entry_hash
    for entry in RegisterLogEntry.objects.filter(administration=administration, position__gte=position).order_by(
        "position"
    ):
        payload = edit(entry.payload) if entry.position == position else entry.payload
        new_hash = chain_hash(previous, payload)
        sql(
            "UPDATE registry_registerlogentry SET payload = %s, previous_hash = %s, entry_hash = %s WHERE id = %s",
            payload,
            previous,
            new_hash,
            entry.pk,
        )
        previous = new_hash
    sql("UPDATE registry_registerloghead SET last_hash = %s WHERE administration_id = %s", previous, administration.pk)


def forge_subject(administration: Administration, sequence: int, subject: str) -> None:
    """Change a registered subject in the row and in its log entry, and rewrite the chain."""
    target = Correspondence.objects.get(administration=administration, sequence=sequence)
    entry = RegisterLogEntry.objects.get(correspondence=target, action="registered")
    sql("UPDATE registry_correspondence SET subject = %s WHERE id = %s", subject, target.pk)

    def edit(payload: str) -> str:
        data = json.loads(payload)
        data["facts"]["subject"] = subject
        return canonical_json(data)

    rewrite_from(administration, entry.position, edit)


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_register", *args, stdout=out)
    return out.getvalue()


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as error:
        verify(*args)
    return str(error.value)


def receipt_pdf(receipt: Receipt) -> bytes:
    return storage.read_bytes(str(receipt.blob_id))


def upload_verdict(client: Client, pdf: bytes) -> dict[str, Any]:
    return client.post("/api/v1/verify", {"file": SimpleUploadedFile("r.pdf", pdf)}).json()


# -- what the receipts and the anchor file hold ------------------------------------------------------


def test_a_receipt_states_its_log_entry_printed_and_in_its_seal(register: tuple[Administration, list[Receipt]]) -> None:
    _commune, receipts = register
    receipt = receipts[0]
    entry = RegisterLogEntry.objects.get(correspondence=receipt.correspondence, action="registered")
    pdf = receipt_pdf(receipt)
    assert anchor_in_pdf(pdf) == Anchor("COMMUNE-TEST", entry.position, entry.entry_hash, receipt.correspondence.number)
    text = "".join(pdf_text(pdf).split())
    assert f"entréen°{entry.position}" in text and entry.entry_hash in text
    assert "Signature is Valid." in assert_pdfsig_trusted(pdf, ca_certificate_pem())  # the anchor is inside the seal


def test_checkpoints_are_chained_and_written_to_the_anchor_file(register: tuple[Administration, list[Receipt]]) -> None:
    commune, _receipts = register
    second = checkpoint_make(actor=None, administration=commune)
    first = RegisterCheckpoint.objects.exclude(pk=second.pk).get()
    assert json.loads(second.statement)["previous"] == second.previous_hash != ""
    kept = list(anchor_file_read("COMMUNE-TEST"))
    assert [k.statement for k in kept] == [first.statement, second.statement]
    assert RegisterCheckpoint.objects.filter(anchored_at=None).count() == 0
    assert "ok COMMUNE-TEST: 6 entries" in verify()


def test_a_checkpoint_the_anchor_file_missed_is_written_by_the_worker(
    register: tuple[Administration, list[Receipt]],
) -> None:
    _commune, _receipts = register
    anchor_path("COMMUNE-TEST").unlink()
    RegisterCheckpoint.objects.update(anchored_at=None)  # as if the file could not be written
    assert "not yet written to the anchor file" in verify("--quick")
    assert checkpoints_anchor() == 1
    assert len(list(anchor_file_read("COMMUNE-TEST"))) == 1
    assert "not yet written" not in verify("--quick")


# -- rewrites caught ------------------------------------------------------------------------------


def test_checkpoints_deleted_then_history_rewritten_is_caught_by_the_anchor_file(
    register: tuple[Administration, list[Receipt]], client: Client
) -> None:
    commune, receipts = register
    sql("DELETE FROM registry_registercheckpoint")
    forge_subject(commune, 2, "موضوع مزور")
    # The database alone is consistent again: chain, head, facts.
    assert register_verify(commune, seals=False, witnesses=False).breaks[0].problem.startswith("the checkpoint of")
    report = broken()
    assert "kept by the anchor file is missing from the database" in report
    assert "history rewritten" in report
    # And the holder of the second receipt sees it too.
    assert upload_verdict(client, receipt_pdf(receipts[1]))["code"] == "register_altered"


def test_a_new_checkpoint_of_a_rewritten_log_does_not_hide_it(register: tuple[Administration, list[Receipt]]) -> None:
    commune, _receipts = register
    sql("DELETE FROM registry_registercheckpoint")
    forge_subject(commune, 3, "موضوع مزور")
    checkpoint_make(actor=None, administration=commune)  # Wasl seals the forged head in good faith
    report = broken("--quick")
    assert "missing from the database" in report and "history rewritten" in report


def test_the_tail_after_the_last_checkpoint_rewritten_is_caught_by_its_receipts(
    register: tuple[Administration, list[Receipt]], client: Client
) -> None:
    commune, receipts = register
    forge_subject(commune, 5, "موضوع مزور")  # entries 5 and 6: after the checkpoint at #4
    report = broken()
    assert "the receipt of A-" in report and "history rewritten" in report
    # Public verification: by upload, and by the token of the QR code.
    verdict = upload_verdict(client, receipt_pdf(receipts[4]))
    assert (verdict["valid"], verdict["code"]) == (False, "register_altered")
    assert upload_verdict(client, receipt_pdf(receipts[5]))["code"] == "register_altered"
    assert upload_verdict(client, receipt_pdf(receipts[3]))["valid"] is True  # before the rewrite
    page = client.get(f"/v/{receipts[4].token}", headers={"Accept-Language": "fr"})
    assert page.status_code == 409 and "registre a été modifié" in page.content.decode()
    assert client.get(f"/api/v1/verify/{receipts[4].token}").json()["code"] == "register_altered"
    assert AuditEvent.objects.filter(action="register.altered").exists()


def test_a_deleted_checkpoint_breaks_the_chain_of_checkpoints(register: tuple[Administration, list[Receipt]]) -> None:
    commune, _receipts = register
    checkpoint_make(actor=None, administration=commune)
    checkpoint_make(actor=None, administration=commune)
    middle = RegisterCheckpoint.objects.order_by("created_at")[1]
    sql("DELETE FROM registry_registercheckpoint WHERE id = %s", middle.pk)
    report = broken("--quick")
    assert "does not follow the one before it" in report
    assert "missing from the database" in report


def test_the_last_registration_deleted_with_its_receipt_is_caught(
    register: tuple[Administration, list[Receipt]], client: Client
) -> None:
    commune, receipts = register
    last = receipts[-1]
    pdf = receipt_pdf(last)
    c = last.correspondence
    # A careful forger: the rows, the log entry, the head and the counter, all put back.
    entry = RegisterLogEntry.objects.get(correspondence=c)
    before = RegisterLogEntry.objects.get(administration=commune, position=entry.position - 1)
    sql("DELETE FROM registry_registerlogentry WHERE id = %s", entry.pk)
    sql("DELETE FROM registry_receipt WHERE id = %s", last.pk)
    sql("DELETE FROM registry_attachment WHERE correspondence_id = %s", c.pk)
    sql("DELETE FROM registry_idempotencykey WHERE object_id = %s", c.pk)
    sql("DELETE FROM registry_correspondence WHERE id = %s", c.pk)
    sql("DELETE FROM documents_blob WHERE sha256 = %s", str(last.blob_id))
    sql("UPDATE registry_registerloghead SET last_position = %s, last_hash = %s", before.position, before.entry_hash)
    sql("UPDATE registry_registercounter SET last_number = last_number - 1")
    assert register_verify(commune, seals=False, witnesses=False).ok  # the database alone looks sound
    # The receipt's file is kept by the orphan sweep (it states the register) and verified.
    assert storage.sweep_orphans(older_than_seconds=-1) == 0 and storage.exists(str(last.blob_id))
    assert any("the log no longer holds" in problem for problem in files_verify().problems)
    assert "the log no longer holds" in broken()
    # The depositor's copy says it too.
    assert upload_verdict(client, pdf)["code"] == "register_altered"


def test_a_receipt_issued_again_on_a_rewritten_log_does_not_hide_the_first(
    register: tuple[Administration, list[Receipt]],
) -> None:
    commune, receipts = register
    forge_subject(commune, 6, "موضوع مزور")
    sql("UPDATE registry_receipt SET blob_id = NULL, issued_at = NULL WHERE id = %s", receipts[5].pk)
    reissued = receipt_issue(receipt_id=receipts[5].pk)  # the worker would do it
    assert reissued.blob_id != receipts[5].blob_id
    assert register_verify(commune, seals=True, witnesses=False).ok  # the database and the new receipt agree
    problems = files_verify().problems
    rewritten = receipts[5].blob_id
    assert rewritten is not None
    assert any(rewritten in p and "rewritten" in p for p in problems)


def test_a_forged_line_in_the_anchor_file_is_refused(register: tuple[Administration, list[Receipt]]) -> None:
    _commune, _receipts = register
    (kept,) = anchor_file_read("COMMUNE-TEST")
    facts = kept.facts | {"head_hash": "0" * 64, "created_at": "2026-01-01T00:00:00.000000+00:00"}
    anchor_file_append("COMMUNE-TEST", [(canonical_json(facts), kept.seal)])
    assert "has a seal that does not verify" in broken("--quick")


# -- numbering and counters -----------------------------------------------------------------------


def test_a_counter_moved_ahead_is_caught_before_and_after_the_gap_it_makes(
    register: tuple[Administration, list[Receipt]], citizen: User
) -> None:
    commune, _receipts = register
    sql("UPDATE registry_registercounter SET last_number = last_number + 5")
    assert "above its highest number 6" in broken("--quick")
    deposit(commune, citizen, "طلب بعد القفزة")
    report = broken("--quick")
    assert "numbers are missing before A-" in report and "000007 to " in report


def test_a_counter_moved_back_refuses_registration_cleanly_and_the_command_repairs_it(
    register: tuple[Administration, list[Receipt]], citizen: User
) -> None:
    commune, _receipts = register
    sql("UPDATE registry_registercounter SET last_number = last_number - 3")
    assert "below its highest number 6" in broken("--quick")
    count = Correspondence.objects.count()
    with pytest.raises(RegistrationRefused) as refused:
        deposit(commune, citizen, "طلب")
    assert (refused.value.code, refused.value.status) == ("register_needs_repair", 503)
    # Through the API: a translated 503, no 500; nothing registered, no file kept.
    response = bearer(citizen).post(
        "/api/v1/deposits",
        {"recipient": "COMMUNE-TEST", "subject": "طلب", "body": "نص"},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "register_needs_repair"
    assert "registre" in response.json()["error"]["message"]
    assert Correspondence.objects.count() == count
    out = StringIO()
    call_command("repair_register_counters", stdout=out)
    assert "counter 3, would set to 6" in out.getvalue()
    assert RegisterCounter.objects.get().last_number == 3  # a dry run by default
    call_command("repair_register_counters", "--apply", stdout=out)
    assert RegisterCounter.objects.get().last_number == 6
    assert deposit(commune, citizen, "طلب").correspondence.number.endswith("000007")
    assert "ok COMMUNE-TEST" in verify("--quick")


def test_gaps_are_allowed_only_where_a_former_register_was_imported(
    register: tuple[Administration, list[Receipt]], commune_admin: User
) -> None:
    _commune, _receipts = register
    sql("DELETE FROM registry_registercounter")
    report = broken("--quick")
    assert "has numbers up to 6 but no counter" in report
    call_command("repair_register_counters", "--apply", stdout=StringIO())
    assert "ok COMMUNE-TEST" in verify("--quick")


# -- documents and files --------------------------------------------------------------------------


def test_a_receipt_file_changed_or_swapped_is_caught(register: tuple[Administration, list[Receipt]]) -> None:
    _commune, receipts = register
    path = storage.path_for(str(receipts[0].blob_id))
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    sql("UPDATE registry_receipt SET blob_id = %s WHERE id = %s", str(receipts[2].blob_id), receipts[1].pk)
    report = broken()
    assert "does not match its fingerprint" in report  # the changed file
    assert "names another registration" in report  # the swapped receipt
    assert "does not hash to its name" in report  # the file pass


def test_a_deleted_receipt_is_caught(register: tuple[Administration, list[Receipt]]) -> None:
    _commune, receipts = register
    sql("DELETE FROM registry_receipt WHERE id = %s", receipts[2].pk)
    assert "A-" in broken("--quick") and "has no receipt" in broken("--quick")


def test_verify_register_lists_every_break_not_only_the_first(register: tuple[Administration, list[Receipt]]) -> None:
    _commune, receipts = register
    sql("UPDATE registry_registercounter SET last_number = last_number + 1")
    sql("DELETE FROM registry_receipt WHERE id = %s", receipts[0].pk)
    report = broken("--quick")
    assert "has no receipt" in report and "above its highest number" in report


def test_an_untouched_register_verifies_with_every_check(register: tuple[Administration, list[Receipt]]) -> None:
    out = verify()
    assert "ok COMMUNE-TEST: 6 entries" in out
    assert "ok files:" in out and "6 sealed documents" in out


def test_the_anchor_file_is_only_appended_to(
    register: tuple[Administration, list[Receipt]], commune: Administration
) -> None:
    path: Path = anchor_path("COMMUNE-TEST")
    before = path.read_bytes()
    checkpoint_make(actor=None, administration=commune)
    after = path.read_bytes()
    assert after.startswith(before) and len(after.splitlines()) == 2
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert RegisterLogHead.objects.get(administration=commune).last_position == 6
