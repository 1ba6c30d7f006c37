"""Backups: made while deposits keep registering, checked, restored elsewhere, verified there.

The backup, the restore and the checks run as the real commands in their own processes (what
cron runs); the deposits come from threads of this process, into the test database, with
this test's own file store and PKI.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from pytest_django import Settings

from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from operations.backup import database
from operations.backup.archive import BackupInvalid
from operations.backup.create import NOT_STORED, backup_create, redact, rotate
from operations.backup.database import Snapshot
from operations.backup.verify import backup_verify
from operations.supervisor import RunDirectory
from registry.anchors import anchor_file_append
from registry.models import Channel, Correspondence, Receipt
from registry.receipts import receipt_issue_registered
from registry.services import Party, correspondence_register
from tenancy.models import User
from tenancy.testing import make_administration, make_user
from trust.services import installation_pki

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
SECRET = "backup-test-secret-0123456789abcdef-never-in-an-archive"


def _database_url(config: Mapping[str, Any]) -> str:
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    credentials = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    return f"postgres://{credentials}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"


def _environment(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="wasl.settings",
        WASL_SECRET_KEY=SECRET,
        WASL_ALLOWED_HOSTS="localhost,wasl.example.ma",
        WASL_PUBLIC_URL="https://wasl.example.ma",
        WASL_DATA_DIR=str(data_dir),
        WASL_DATABASE_URL=database_url,
        WASL_CACHE_URL="locmem://",
        WASL_PKI_AUTOCREATE="false",
        WASL_LOG_LEVEL="WARNING",
        **extra,
    )
    return environment


def _manage(*arguments: str, environment: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MANAGE, *arguments], env=environment, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """This test's own file store and PKI, and the environment naming them and the test database."""
    settings.FILES_DIR = tmp_path / "live" / "files"
    settings.PKI_DIR = tmp_path / "live" / "pki"
    installation_pki()  # made once here, not by the first of the depositing threads
    return _environment(
        tmp_path / "live",
        _database_url(connection.settings_dict),
        WASL_FILES_DIR=str(settings.FILES_DIR),
        WASL_PKI_DIR=str(settings.PKI_DIR),
        WASL_BACKUP_DIR=str(tmp_path / "backups"),
        WASL_EMAIL_PASSWORD="smtp-password-never-in-an-archive",
    )


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Another data directory and an empty database of the same kind: where the backup is restored."""
    data_dir = tmp_path / "elsewhere"
    if connection.vendor == "sqlite":
        yield _environment(data_dir, f"sqlite:///{data_dir / 'wasl.sqlite3'}")
        return
    name = f"wasl_restored_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _environment(data_dir, _database_url({**connection.settings_dict, "NAME": name}))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _registered(environment: dict[str, str]) -> set[str]:
    script = (
        "import json; from registry.models import Correspondence; "
        "print(json.dumps([c.administration.code + ' ' + c.number "
        "for c in Correspondence.objects.select_related('administration')]))"
    )
    result = _manage("shell", "-c", script, environment=environment)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_backup_made_under_load_restores_elsewhere_with_every_acknowledged_deposit(
    live: dict[str, str], elsewhere: dict[str, str]
) -> None:
    administration = make_administration("COMMUNE-BACKUP")
    citizens = [make_user(f"load{i}@example.ma") for i in range(3)]
    acknowledged: list[tuple[str, float]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def deposits(citizen: User) -> None:
        try:
            n = 0
            while not stop.is_set():
                n += 1
                registration = correspondence_register(
                    actor=citizen,
                    administration=administration,
                    channel=Channel.ONLINE,
                    sender=Party.of_account(citizen),
                    subject=f"طلب أثناء النسخ {n}",
                    # A PDF of its own each time: a new stored file, written while the backup copies.
                    files=check_files([bytes_upload(pdf_bytes(pad_to=8_000, text=f"{citizen.pk}-{n}"), "a.pdf")]),
                )
                receipt_issue_registered(registration)  # as the portal does before it answers
                acknowledged.append((f"COMMUNE-BACKUP {registration.correspondence.number}", time.time()))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deposits, args=(c,)) for c in citizens]
    for thread in threads:
        thread.start()
    try:
        while len(acknowledged) < 6 and not failures:
            time.sleep(0.05)
        made = _manage("backup", environment=live)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert made.returncode == 0, made.stdout + made.stderr
    archive = Path(made.stdout.split("SHA-256")[0].strip().splitlines()[-1])
    manifest = backup_verify(archive).manifest
    snapshot_began = datetime.fromisoformat(manifest["snapshot_started_at"]).timestamp()
    snapshot_ended = datetime.fromisoformat(manifest["snapshot_finished_at"]).timestamp()
    before = {number for number, at in acknowledged if at < snapshot_began}
    after = {number for number, at in acknowledged if at > snapshot_ended}
    assert len(before) >= 6 and after, "the deposits did not go on while the backup ran"

    restored = _manage("restore", str(archive), environment=elsewhere)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "every check passes" in restored.stdout and SECRET not in restored.stdout
    assert "WASL_SECRET_KEY was set where the backup was made: set it here too" not in restored.stdout
    verified = _manage("verify_register", environment=elsewhere)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "All register logs verify." in verified.stdout
    present = _registered(elsewhere)
    assert before <= present, sorted(before - present)
    # The restored installation seals new receipts with the same PKI.
    assert (Path(elsewhere["WASL_DATA_DIR"]) / "pki" / "ca.key.pem").read_bytes() == (
        Path(live["WASL_PKI_DIR"]) / "ca.key.pem"
    ).read_bytes()

    # A restore never lands on an installation that holds data.
    again = _manage("restore", str(archive), environment=elsewhere)
    assert again.returncode == 1 and "Nothing was restored: Not empty: the database" in again.stderr
    # Unless told: then what it replaces is moved aside, not deleted.
    forced = _manage("restore", "--force", str(archive), environment=elsewhere)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    pki_aside = re.search(r"moved aside: (\S+/pki\.before-restore-\S+)", forced.stdout)
    assert pki_aside and (Path(pki_aside.group(1)) / "ca.key.pem").exists()
    assert before <= _registered(elsewhere)

    # No secret is in the archive: the configuration names them, without their values.
    with tarfile.open(archive) as tar:
        everything = b"".join(_read(tar, m) for m in tar if m.isfile() and not m.name.startswith("files/"))
        settings_json = json.loads(_read(tar, "config/settings.json"))
    assert SECRET.encode() not in everything and b"smtp-password-never-in-an-archive" not in everything
    assert settings_json["environment"]["WASL_SECRET_KEY"] == NOT_STORED
    assert settings_json["environment"]["WASL_EMAIL_PASSWORD"] == NOT_STORED


def test_settings_keep_their_values_but_not_their_secrets() -> None:
    assert redact("WASL_PUBLIC_URL", "https://wasl.commune.ma") == "https://wasl.commune.ma"
    assert redact("WASL_SECRET_KEY", "x" * 50) == NOT_STORED
    assert redact("WASL_EMAIL_PASSWORD", "hunter2hunter2") == NOT_STORED
    assert (
        redact("WASL_DATABASE_URL", "postgres://wasl:s3cret@db.local:5432/wasl")
        == "postgres://wasl:***@db.local:5432/wasl"
    )
    assert redact("WASL_CACHE_URL", "redis://cache:6379/0") == "redis://cache:6379/0"


@pytest.fixture
def archive(live: dict[str, str], tmp_path: Path) -> Path:
    """A small backup made in this process: one registered deposit, its file, the PKI."""
    administration = make_administration("COMMUNE-SMALL")
    citizen = make_user("small@example.ma")
    receipt_issue_registered(
        correspondence_register(
            actor=citizen,
            administration=administration,
            channel=Channel.ONLINE,
            sender=Party.of_account(citizen),
            subject="طلب",
            files=check_files([bytes_upload(pdf_bytes(pad_to=4_000, text="small"), "a.pdf")]),
        )
    )
    result = backup_create(output=tmp_path / "small.tar")
    assert result.problems == []
    return result.path


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_deposit_registered_between_the_snapshot_and_the_file_copy_is_left_out_whole(
    live: dict[str, str], elsewhere: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its attachment and its sealed receipt are stored after the snapshot, which does not hold
    its log entry: restored, the receipt would read as a log cut short."""
    administration = make_administration("COMMUNE-BETWEEN")
    citizen = make_user("between@example.ma")

    def deposit(subject: str) -> Correspondence:
        registration = correspondence_register(
            actor=citizen,
            administration=administration,
            channel=Channel.ONLINE,
            sender=Party.of_account(citizen),
            subject=subject,
            files=check_files([bytes_upload(pdf_bytes(pad_to=4_000, text=subject), "a.pdf")]),
        )
        receipt_issue_registered(registration)
        return registration.correspondence

    kept = deposit("before the backup")
    take_snapshot = database.snapshot
    late: list[Correspondence] = []

    def snapshot_then_a_deposit(directory: Path, **options: tuple[str, str]) -> Snapshot:
        taken = take_snapshot(directory, **options)
        late.append(deposit("between the snapshot and the files"))
        return taken

    monkeypatch.setattr(database, "snapshot", snapshot_then_a_deposit)
    result = backup_create(output=tmp_path / "between.tar")
    assert result.problems == []
    late_receipt = Receipt.objects.get(correspondence=late[0])
    assert late_receipt.blob_id is not None, "the late deposit's receipt was not issued"
    late_files = {late_receipt.blob_id, *late[0].attachments.values_list("blob_id", flat=True)}
    with tarfile.open(result.path) as tar:
        members = {Path(name).name for name in tar.getnames()}
    assert Receipt.objects.get(correspondence=kept).blob_id in members
    assert not late_files & members
    assert result.manifest["counts"]["younger_left_out"] >= 2

    restored = _manage("restore", str(result.path), environment=elsewhere)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _registered(elsewhere) == {f"COMMUNE-BETWEEN {kept.number}"}


@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_anchored_while_the_snapshot_is_taken_waits_for_it(
    live: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Else the snapshot could mark anchored a checkpoint the copied anchor file lacks."""
    anchor_file_append("COMMUNE-ANCHOR", [("first statement", b"seal")])
    take_snapshot = database.snapshot
    times: dict[str, float] = {}
    appender = threading.Thread(
        target=lambda: (
            anchor_file_append("COMMUNE-ANCHOR", [("second statement", b"seal")]),
            times.setdefault("appended", time.monotonic()),
        )
    )

    def snapshot_while_appending(directory: Path, **options: tuple[str, str]) -> Snapshot:
        appender.start()
        time.sleep(0.5)  # the appender is waiting for the lock by now
        taken = take_snapshot(directory, **options)
        times["snapshot"] = time.monotonic()
        return taken

    monkeypatch.setattr(database, "snapshot", snapshot_while_appending)
    result = backup_create(output=tmp_path / "anchors.tar")
    appender.join()
    assert times["appended"] > times["snapshot"]
    with tarfile.open(result.path) as tar:
        archived = _read(tar, "files/anchors/COMMUNE-ANCHOR.jsonl").decode()
    assert "first statement" in archived and "second statement" not in archived
    assert "second statement" in (Path(live["WASL_FILES_DIR"]) / "anchors" / "COMMUNE-ANCHOR.jsonl").read_text()


def _read(tar: tarfile.TarFile, member: str | tarfile.TarInfo) -> bytes:
    """A regular file of the archive, whole."""
    file = tar.extractfile(member)
    assert file is not None, member
    return file.read()


def _flip_byte_of(archive: Path, member_prefix: str) -> str:
    with tarfile.open(archive) as tar:
        member = next(m for m in tar if m.name.startswith(member_prefix))
    with open(archive, "r+b") as f:
        f.seek(member.offset_data + member.size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))
    return member.name


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_verify_names_a_member_whose_bytes_changed_and_restore_then_writes_nothing(
    archive: Path, elsewhere: dict[str, str]
) -> None:
    assert backup_verify(archive).members >= 5
    changed = _flip_byte_of(archive, "files/")
    with pytest.raises(BackupInvalid, match=f"differ from the manifest's SHA-256: {changed}"):
        backup_verify(archive)
    checked = _manage("backup", "--verify", str(archive), environment=elsewhere)
    assert checked.returncode == 1 and "INVALID Members whose bytes differ" in checked.stderr
    restored = _manage("restore", str(archive), environment=elsewhere)
    assert restored.returncode == 1 and "Nothing was restored, the archive is not intact" in restored.stderr
    data_dir = Path(elsewhere["WASL_DATA_DIR"])
    assert not (data_dir / "pki").exists()
    assert not [p for p in (data_dir / "files").rglob("*") if p.is_file()]
    if connection.vendor == "sqlite":  # the file a management command's start opens, with no table
        with closing(sqlite3.connect(data_dir / "wasl.sqlite3")) as db:
            assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_verify_refuses_a_truncated_archive_and_one_that_is_not_the_copy_its_checksum_names(
    archive: Path, tmp_path: Path
) -> None:
    assert "intact" not in str(backup_verify(archive).notes)
    sidecar = archive.with_name(archive.name + ".sha256")
    good = sidecar.read_text()
    sidecar.write_text("0" * 64 + "  small.tar\n")
    with pytest.raises(BackupInvalid, match=r"is not the one in small\.tar\.sha256"):
        backup_verify(archive)
    sidecar.write_text(good)
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupInvalid, match=r"not a complete archive|has no MANIFEST\.json"):
        backup_verify(truncated)


@pytest.mark.django_db(transaction=True)
def test_a_changed_database_snapshot_is_refused(archive: Path) -> None:
    _flip_byte_of(archive, "database/")
    with pytest.raises(BackupInvalid, match="differ from the manifest's SHA-256: database/"):
        backup_verify(archive)


@pytest.mark.slow
def test_a_restore_waits_for_the_service_to_stop(tmp_path: Path) -> None:
    environment = _environment(tmp_path, f"sqlite:///{tmp_path / 'wasl.sqlite3'}")
    serving = RunDirectory(tmp_path / "run")
    assert serving.acquire()
    try:
        result = _manage("restore", str(tmp_path / "any.tar"), environment=environment)
    finally:
        serving.release()
    assert result.returncode == 1
    assert f"Wasl is being served from {tmp_path} (serve pid {os.getpid()}): stop it first" in result.stderr


def test_keep_removes_only_the_oldest_backups_of_the_directory(tmp_path: Path) -> None:
    names = [f"wasl-backup-2026120{d}T020000Z.tar" for d in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / f"{name}.sha256").write_text("x")
    (tmp_path / "notes.tar").write_bytes(b"mine")
    removed = rotate(tmp_path, 2)
    assert [p.name for p in removed] == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.tar", *names[3:], *(f"{n}.sha256" for n in names[3:])]
    )


def test_a_restore_tells_which_settings_differ_without_showing_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from operations.backup.restore import _configuration_differences

    monkeypatch.delenv("WASL_EMAIL_PASSWORD", raising=False)
    monkeypatch.setenv("WASL_SECRET_KEY", "a-secret-of-this-machine")
    monkeypatch.setenv("WASL_PUBLIC_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("WASL_DATA_DIR", "/elsewhere")
    archived = {
        "environment": {
            "WASL_SECRET_KEY": NOT_STORED,
            "WASL_EMAIL_PASSWORD": NOT_STORED,
            "WASL_PUBLIC_URL": "https://wasl.commune.ma",
            "WASL_DATA_DIR": "/var/lib/wasl",
        }
    }
    notes = _configuration_differences(archived)
    assert notes == [
        "WASL_EMAIL_PASSWORD was set where the backup was made: set it here too (it is not in the backup).",
        "WASL_PUBLIC_URL was 'https://wasl.commune.ma' where the backup was made, here it is 'http://127.0.0.1:8000'.",
    ]
