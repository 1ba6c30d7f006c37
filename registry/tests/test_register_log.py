"""The register log catches every kind of tampering done directly in the database."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from registry.checkpoints import checkpoint_make, checkpoints_periodic
from registry.log import chain_hash
from registry.models import Channel, Correspondence, RegisterCheckpoint, RegisterLogEntry, RegisterLogHead
from registry.services import Party, correspondence_register
from tenancy.models import Administration, User


@pytest.fixture
def registered(commune: Administration, citizen: User) -> Administration:
    for i in range(5):
        correspondence_register(
            actor=citizen,
            administration=commune,
            channel=Channel.ONLINE,
            sender=Party.of_account(citizen),
            subject=f"طلب رقم {i + 1}",
            body="نص الطلب",
        )
    return commune


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_register", stdout=out)
    return out.getvalue()


def broken() -> str:
    with pytest.raises(CommandError) as error:
        verify()
    return str(error.value)


def sql(statement: str, *params: str | int | datetime | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def entry(position: int) -> RegisterLogEntry:
    return RegisterLogEntry.objects.get(position=position)


def test_an_untouched_register_verifies(registered: Administration) -> None:
    checkpoint_make(actor=None, administration=registered)
    assert "ok COMMUNE-TEST: 5 entries" in verify()


def test_editing_a_registered_fact_is_caught(registered: Administration) -> None:
    target = Correspondence.objects.get(sequence=3)
    sql("UPDATE registry_correspondence SET subject = %s WHERE id = %s", "موضوع مزور", target.pk)
    assert "entry #3" in broken() and "no longer matches" in broken()


def test_editing_the_registration_time_is_caught(registered: Administration) -> None:
    target = Correspondence.objects.get(sequence=2)
    sql("UPDATE registry_correspondence SET registered_at = %s WHERE id = %s", "2020-01-01 10:00:00", target.pk)
    assert "entry #2" in broken()


def test_editing_a_log_payload_is_caught(registered: Administration) -> None:
    e = entry(4)
    sql("UPDATE registry_registerlogentry SET payload = %s WHERE id = %s", e.payload.replace("طلب", "شكاية"), e.pk)
    assert "entry #4" in broken() and "hash mismatch" in broken()


def test_deleting_an_entry_is_caught(registered: Administration) -> None:
    sql("DELETE FROM registry_registerlogentry WHERE id = %s", entry(2).pk)
    assert "entry #2" in broken()


def test_deleting_the_last_entry_is_caught(registered: Administration) -> None:
    sql("DELETE FROM registry_registerlogentry WHERE id = %s", entry(5).pk)
    assert "COMMUNE-TEST" in broken()


def test_inserting_an_entry_is_caught(registered: Administration) -> None:
    # Make room at position 3 and insert a forged entry that links to entry 2.
    for position in (5, 4, 3):
        sql("UPDATE registry_registerlogentry SET position = position + 1 WHERE id = %s", entry(position).pk)
    previous = entry(2)
    payload = '{"action":"registered","facts":{},"position":3}'
    sql(
        "INSERT INTO registry_registerlogentry (administration_id, position, action, recorded_at, payload, previous_hash,"
        " entry_hash) VALUES (%s, 3, 'note', %s, %s, %s, %s)",
        registered.pk,
        previous.recorded_at,
        payload,
        previous.entry_hash,
        chain_hash(previous.entry_hash, payload),
    )
    assert "entry #4" in broken()


def test_reordering_entries_is_caught(registered: Administration) -> None:
    a, b = entry(2), entry(3)
    sql("UPDATE registry_registerlogentry SET position = 99 WHERE id = %s", a.pk)
    sql("UPDATE registry_registerlogentry SET position = 2 WHERE id = %s", b.pk)
    sql("UPDATE registry_registerlogentry SET position = 3 WHERE id = %s", a.pk)
    assert "entry #2" in broken()


def test_a_fully_rewritten_chain_is_caught_by_the_sealed_checkpoint(registered: Administration) -> None:
    checkpoint_make(actor=None, administration=registered)
    # Rewrite history consistently from entry 3 on: edit the fact, recompute every hash.
    target = Correspondence.objects.get(sequence=3)
    sql("UPDATE registry_correspondence SET subject = %s WHERE id = %s", "موضوع مزور", target.pk)
    previous = entry(2).entry_hash
    for position in range(3, 6):
        e = entry(position)
        payload = e.payload.replace("طلب رقم 3", "موضوع مزور")
        new_hash = chain_hash(previous, payload)
        sql(
            "UPDATE registry_registerlogentry SET payload = %s, previous_hash = %s, entry_hash = %s WHERE id = %s",
            payload,
            previous,
            new_hash,
            e.pk,
        )
        previous = new_hash
    sql("UPDATE registry_registerloghead SET last_hash = %s", previous)
    assert "checkpoint" in broken()


def test_a_forged_checkpoint_seal_is_caught(registered: Administration) -> None:
    checkpoint = checkpoint_make(actor=None, administration=registered)
    sql("UPDATE registry_registercheckpoint SET head_hash = %s WHERE id = %s", "0" * 64, checkpoint.pk)
    assert "checkpoint" in broken()


def test_a_correspondence_without_log_entry_is_caught(registered: Administration) -> None:
    target = Correspondence.objects.get(sequence=5)
    sql("DELETE FROM registry_registerlogentry WHERE correspondence_id = %s", target.pk)
    sql("UPDATE registry_registerloghead SET last_position = 4, last_hash = %s", entry(4).entry_hash)
    assert "A-" in broken()


def test_daily_checkpoints_seal_moved_logs_once(registered: Administration) -> None:
    assert checkpoints_periodic() == 1
    assert checkpoints_periodic() == 0
    checkpoint = RegisterCheckpoint.objects.get()
    head = RegisterLogHead.objects.get(administration=registered)
    assert (checkpoint.position, checkpoint.head_hash) == (head.last_position, head.last_hash)
