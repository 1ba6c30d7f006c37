"""Many simultaneous deposits to one administration get unique, consecutive numbers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.models import Channel, Correspondence, RegisterLogEntry
from registry.services import Party, correspondence_register
from tenancy.models import User
from tenancy.testing import make_administration, make_user

CLIENTS = 24
EACH = 3


@pytest.mark.django_db(transaction=True)
def test_simultaneous_deposits_get_unique_consecutive_numbers() -> None:
    administration = make_administration("COMMUNE-RUSH")
    citizens = [make_user(f"rush{i}@example.ma") for i in range(CLIENTS)]
    pdf = pdf_bytes(pad_to=20_000)
    start = threading.Barrier(CLIENTS)
    failures: list[BaseException] = []

    def client(citizen: User) -> None:
        try:
            start.wait()
            for _ in range(EACH):
                correspondence_register(
                    actor=citizen,
                    administration=administration,
                    channel=Channel.ONLINE,
                    sender=Party.of_account(citizen),
                    subject="طلب متزامن",
                    files=check_files([bytes_upload(pdf, "a.pdf")]),
                )
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in citizens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    sequences = sorted(Correspondence.objects.filter(administration=administration).values_list("sequence", flat=True))
    assert sequences == list(range(1, CLIENTS * EACH + 1))
    positions = list(
        RegisterLogEntry.objects.filter(administration=administration)
        .order_by("position")
        .values_list("position", flat=True)
    )
    assert positions == list(range(1, CLIENTS * EACH + 1))
