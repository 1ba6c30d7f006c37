"""Registration: numbers are consecutive per administration, register and year; bad input
changes nothing and consumes no number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from pytest_django import Settings

from core.testing import clock_at
from documents import storage
from documents.intake import FileRejected, bytes_upload, check_files
from documents.models import Blob
from documents.samples import image_bytes, pdf_bytes
from registry.models import Channel, Correspondence, Direction, Receipt, RegisterCounter, RegisterLogEntry
from registry.services import Party, Registration, RegistrationRefused, correspondence_register
from tenancy.models import Administration, User
from tenancy.testing import make_administration


def deposit(
    administration: Administration | None,
    citizen: User,
    subject: str = "طلب رخصة",
    files: Sequence[tuple[str, bytes]] = (),
    body: str | None = None,
) -> Registration:
    if body is None:
        body = "" if files else "أطلب رخصة"
    return correspondence_register(
        actor=citizen,
        administration=administration,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject=subject,
        body=body,
        files=check_files([bytes_upload(data, name) for name, data in files]),
    )


def test_numbers_are_consecutive_and_carry_the_year(commune: Administration, citizen: User) -> None:
    numbers = [deposit(commune, citizen).correspondence.number for _ in range(3)]
    year = datetime.now(UTC).year
    assert numbers == [f"A-{year}-000001", f"A-{year}-000002", f"A-{year}-000003"]


def test_each_administration_and_register_counts_on_its_own(
    commune: Administration, elsewhere: Administration, citizen: User, clerk: User
) -> None:
    deposit(commune, citizen)
    deposit(commune, citizen)
    other = deposit(elsewhere, citizen).correspondence
    outgoing = correspondence_register(
        actor=clerk,
        administration=commune,
        direction=Direction.OUTGOING,
        channel=Channel.COUNTER,
        addressee=Party(kind="administration", name=elsewhere.name_fr),
        subject="Réponse",
        body="Suite à votre demande…",
    ).correspondence
    assert other.sequence == 1
    assert outgoing.number.startswith("D-") and outgoing.sequence == 1


def test_a_new_year_starts_at_one(commune: Administration, citizen: User) -> None:
    with clock_at(datetime(2026, 12, 31, 22, 0, tzinfo=UTC)):
        last = deposit(commune, citizen).correspondence
    with clock_at(datetime(2027, 1, 1, 0, 30, tzinfo=UTC)):
        first = deposit(commune, citizen).correspondence
    # 22:00 UTC on 31 December is 23:00 in Casablanca (UTC+1): still 2026 there.
    assert last.number == "A-2026-000001"
    assert first.number == "A-2027-000001"


def test_the_year_turning_while_waiting_for_the_lock_numbers_in_the_new_years_register(
    commune: Administration, citizen: User
) -> None:
    """The year is chosen before the register's lock is taken and the time read after it: a
    registration that waited across midnight on 31 December gives the old year's number back
    and takes the new year's first one (its attempt rolled back, nothing of it left)."""
    with clock_at(datetime(2026, 12, 31, 22, 0, tzinfo=UTC)):
        deposit(commune, citizen)
    before_midnight = datetime(2026, 12, 31, 22, 59, 59, 900000, tzinfo=UTC)  # 23:59:59.9 in Casablanca
    after_midnight = datetime(2027, 1, 1, 0, 0, 0, 100000, tzinfo=UTC)
    readings = iter([before_midnight])
    with (
        clock_at(after_midnight),
        mock.patch("registry.services.now", side_effect=lambda: next(readings, after_midnight)),
    ):
        turned = deposit(commune, citizen).correspondence
    assert turned.number == "A-2027-000001"
    assert turned.registered_at == after_midnight
    assert RegisterCounter.objects.get(administration=commune, year=2026).last_number == 1
    assert RegisterCounter.objects.get(administration=commune, year=2027).last_number == 1
    assert list(RegisterLogEntry.objects.order_by("position").values_list("position", "correspondence_id")) == [
        (1, Correspondence.objects.get(year=2026).pk),
        (2, turned.pk),
    ]
    assert Correspondence.objects.count() == 2


def test_registration_records_the_sender_and_attachments(commune: Administration, citizen: User) -> None:
    pdf = pdf_bytes(pages=3)
    registration = deposit(commune, citizen, files=[("lettre.pdf", pdf), ("scan.png", image_bytes("PNG"))])
    c = registration.correspondence
    assert (c.sender_name, c.sender_identifier, c.sender_email) == (
        "فاطمة الزهراء بنعلي",
        "AB123456",
        "citizen@example.ma",
    )
    attachments = list(c.attachments.select_related("blob"))
    assert [a.filename for a in attachments] == ["lettre.pdf", "scan.png"]
    assert attachments[0].blob.pages == 3 and attachments[0].blob.content_type == "application/pdf"
    assert storage.read_bytes(attachments[0].blob_id) == pdf  # original bytes, unaltered
    assert Receipt.objects.get(correspondence=c).token
    assert RegisterLogEntry.objects.filter(correspondence=c, action="registered").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"subject": "   "}, "subject_required"),
        ({"subject": "x" * 301}, "subject_too_long"),
        ({"administration": None}, "unknown_recipient"),
    ],
)
def test_refused_requests_consume_no_number(
    commune: Administration, citizen: User, kwargs: dict[str, Any], code: str
) -> None:
    deposit(commune, citizen)
    arguments: dict[str, Any] = {"administration": commune, "subject": "طلب"}
    arguments.update(kwargs)
    with pytest.raises(RegistrationRefused) as refused:
        deposit(arguments.pop("administration"), citizen, **arguments)
    assert refused.value.code == code
    assert deposit(commune, citizen).correspondence.sequence == 2
    assert Correspondence.objects.count() == 2


def test_an_inactive_administration_is_unknown(commune: Administration, citizen: User) -> None:
    commune.is_active = False
    commune.save()
    with pytest.raises(RegistrationRefused) as refused:
        deposit(commune, citizen)
    assert refused.value.status == 404


def test_a_failure_inside_the_transaction_gives_the_number_back_and_keeps_no_file(
    commune: Administration, citizen: User
) -> None:
    deposit(commune, citizen)
    pdf = pdf_bytes(pad_to=5000, text="unique-content-for-this-test")
    with (
        mock.patch("registry.services.log_append_prepared", side_effect=RuntimeError("crash")),
        pytest.raises(RuntimeError),
    ):
        deposit(commune, citizen, files=[("a.pdf", pdf)])
    assert Correspondence.objects.count() == 1
    assert not Blob.objects.exists()
    sha = check_files([bytes_upload(pdf, "a.pdf")])[0].sha256
    assert not storage.exists(sha)
    assert deposit(commune, citizen).correspondence.sequence == 2


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.pdf", b"", "empty_file"),
        ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 500, "file_type_not_allowed"),
        ("script.pdf", b"#!/bin/sh\nrm -rf /\n", "file_type_not_allowed"),
        ("truncated.pdf", pdf_bytes(pages=2)[:-300], "file_unreadable"),
        ("broken.png", image_bytes("PNG")[:60], "file_unreadable"),
    ],
)
def test_bad_files_are_refused_before_anything_is_stored(name: str, data: bytes, code: str) -> None:
    with pytest.raises(FileRejected) as rejected:
        check_files([bytes_upload(data, name)])
    assert rejected.value.code == code
    assert rejected.value.filename == name


def test_file_count_and_size_limits(settings: Settings) -> None:
    settings.MAX_FILES = 2
    settings.MAX_FILE_SIZE = 1000
    settings.MAX_DEPOSIT_SIZE = 100_000
    small = pdf_bytes()
    with pytest.raises(FileRejected) as too_many:
        check_files([bytes_upload(small, f"{i}.pdf") for i in range(3)])
    assert too_many.value.code == "too_many_files"
    with pytest.raises(FileRejected) as too_large:
        check_files([bytes_upload(pdf_bytes(pad_to=5000), "big.pdf")])
    assert too_large.value.code == "file_too_large"


def test_all_allowed_types_are_sniffed_from_content_not_name() -> None:
    files = check_files(
        [
            bytes_upload(pdf_bytes(pages=2), "named.png"),
            bytes_upload(image_bytes("JPEG"), "photo"),
            bytes_upload(image_bytes("PNG"), "x.pdf"),
            bytes_upload(image_bytes("TIFF", frames=3), "scan.tiff"),
        ]
    )
    assert [(f.content_type, f.pages) for f in files] == [
        ("application/pdf", 2),
        ("image/jpeg", 1),
        ("image/png", 1),
        ("image/tiff", 3),
    ]


def test_administration_codes_are_validated(db: None) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_administration("lower case").full_clean()
