"""Migrations 0008–0010: the addressee of every outgoing letter moves from its sender fields to
its addressee fields, forwards and back, and a register logged before still verifies.

The rows are written as the code before the change wrote them (the historical models of
``registry.0007``), with their register log entries chained and hashed as it did."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import translation

from core.canonical import canonical_json, sha256_hex
from registry.integrity import register_verify
from registry.log import chain_hash, genesis_hash
from registry.models import Correspondence
from tenancy.testing import make_administration, make_user

BEFORE = [("registry", "0007_idempotency_answers")]
PARTY = ("kind", "name", "identifier", "email", "address")


class _Originals(MigrationLoader):
    """The migrations as they were written, without the squashed ones that replace them on a new
    database: the test database was made by the squashed ones, which record every migration they
    replace as applied, so the originals find it where they left it."""

    def load_disk(self) -> None:
        super().load_disk()
        assert self.disk_migrations is not None
        self.disk_migrations = {key: m for key, m in self.disk_migrations.items() if not m.replaces}


class _Executor(MigrationExecutor):
    """Django's executor, on the originals (without building the usual graph first)."""

    def __init__(self) -> None:
        self.connection = connection
        self.loader = _Originals(connection)
        self.recorder = MigrationRecorder(connection)
        self.progress_callback = None


def executor() -> MigrationExecutor:
    return _Executor()


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the historical models there. Backwards one migration at a time:
    unapplying several in one go, Django's executor replays on its rendered models every
    migration of the project's plan between the first and the last of them (most of the
    project's, re-rendering related models at each step: seconds); one at a time, it renders
    only the state before that migration."""
    plan = executor().migration_plan(targets)
    if plan and plan[0][1]:
        for step in plan:
            executor().migrate(targets, plan=[step])
    else:
        executor().migrate(targets, plan=plan)
    return executor().loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    """Every app's last migration: going back to ``BEFORE`` also unapplies other apps'
    migrations that depend on the registry's later ones (exchange's)."""
    return executor().loader.graph.leaf_nodes()


def old_facts(c: Any) -> dict[str, Any]:
    """The facts the code before the change recorded: the party under "sender" whatever the direction."""
    facts: dict[str, Any] = {
        "number": c.number,
        "direction": c.direction,
        "year": c.year,
        "sequence": c.sequence,
        "channel": c.channel,
        "registered_at": c.registered_at.isoformat(timespec="microseconds"),
        "administration_id": c.administration_id,
        "sender": {
            "account_id": c.sender_account_id,
            **{field: getattr(c, f"sender_{field}") for field in PARTY},
        },
        "recipient_service_id": c.recipient_service_id,
        "subject": c.subject,
        "body_sha256": sha256_hex(c.body),
        "confidential": c.confidential,
        "attachments": [],
    }
    if c.in_reply_to_id is not None:
        facts["in_reply_to_id"] = c.in_reply_to_id
    return facts


def old_register(apps: Any, administration: Any, citizen: Any) -> list[int]:
    """A request of the citizen and the reply to it, and a letter to an administration, as the
    code before the change registered them: logged, the request with its receipt."""
    Row = apps.get_model("registry", "Correspondence")
    Entry = apps.get_model("registry", "RegisterLogEntry")
    Head = apps.get_model("registry", "RegisterLogHead")
    Counter = apps.get_model("registry", "RegisterCounter")
    Receipt = apps.get_model("registry", "Receipt")
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    common = {"administration_id": administration.pk, "year": 2026, "registered_at": at, "body": "نص"}
    request = Row.objects.create(
        direction="incoming", sequence=1, number="A-2026-000001", channel="online", subject="طلب رخصة",
        sender_account_id=citizen.pk, sender_kind="person", sender_name=citizen.full_name,
        sender_identifier="AB123456", sender_email=citizen.email, **common,
    )  # fmt: skip
    reply = Row.objects.create(
        direction="outgoing", sequence=1, number="D-2026-000001", channel="online", subject="طلب رخصة",
        sender_account_id=citizen.pk, sender_kind="person", sender_name=citizen.full_name,
        sender_identifier="AB123456", sender_email=citizen.email, sender_address="12 زنقة الورد",
        in_reply_to_id=request.pk, **common,
    )  # fmt: skip
    letter = Row.objects.create(
        direction="outgoing", sequence=2, number="D-2026-000002", channel="exchange", subject="Avis",
        sender_kind="administration", sender_name="Province de Test", sender_identifier="PROVINCE-TEST", **common,
    )  # fmt: skip
    Counter.objects.create(administration_id=administration.pk, direction="incoming", year=2026, last_number=1)
    Counter.objects.create(administration_id=administration.pk, direction="outgoing", year=2026, last_number=2)
    Receipt.objects.create(correspondence_id=request.pk, token="receipt-of-the-request")
    Receipt.objects.create(correspondence_id=reply.pk, token="receipt-the-reply-got")  # the defect, pending
    previous = genesis_hash(administration)
    for position, row in enumerate([request, reply, letter], start=1):
        payload = canonical_json({"action": "registered", "position": position, "facts": old_facts(row)})
        entry_hash = chain_hash(previous, payload)
        Entry.objects.create(
            administration_id=administration.pk, position=position, action="registered", correspondence_id=row.pk,
            recorded_at=at, payload=payload, previous_hash=previous, entry_hash=entry_hash,
        )  # fmt: skip
        previous = entry_hash
    Head.objects.create(administration_id=administration.pk, last_position=3, last_hash=previous)
    return [request.pk, reply.pk, letter.pk]


def parties(apps: Any) -> dict[str, tuple[Any, ...]]:
    """Every correspondence's sender and addressee columns, as the database holds them."""
    Row = apps.get_model("registry", "Correspondence")
    names = [f"{role}_{f}" for role in ("sender", "addressee") for f in ("account_id", *PARTY)]
    names = [n for n in names if any(field.attname == n for field in Row._meta.concrete_fields)]
    return {row["number"]: tuple(row[n] for n in names) for row in Row.objects.values("number", *names)}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_outgoing_letters_addressees_move_forwards_and_back_and_the_log_verifies() -> None:
    administration = make_administration("COMMUNE-MIG")
    citizen = make_user("citizen.mig@example.ma", full_name="فاطمة الزهراء بنعلي")
    try:
        old_apps = migrate(BEFORE)
        request_id, reply_id, letter_id = old_register(old_apps, administration, citizen)
        before = parties(old_apps)

        migrate(latest())
        reply = Correspondence.objects.get(pk=reply_id)
        assert (reply.addressee_account_id, reply.addressee_name, reply.addressee_identifier) == (
            citizen.pk,
            citizen.full_name,
            "AB123456",
        )
        assert (reply.addressee_email, reply.addressee_address) == (citizen.email, "12 زنقة الورد")
        assert (reply.sender_account_id, reply.sender_kind, reply.sender_name, reply.sender_email) == (None, "", "", "")
        letter = Correspondence.objects.get(pk=letter_id)
        assert (letter.addressee_kind, letter.addressee_identifier, letter.sender_name) == (
            "administration",
            "PROVINCE-TEST",
            "",
        )
        request = Correspondence.objects.get(pk=request_id)
        assert (request.sender_account_id, request.addressee_name) == (citizen.pk, "")
        with translation.override("en"):
            report = register_verify(administration, seals=False, witnesses=False)
        assert report.ok, report.breaks
        assert report.entries == 3
        assert report.notes == ["1 receipt(s) waiting to be issued"]  # the request's; the reply's never will
        Correspondence.objects.filter(pk=reply_id).update(addressee_identifier="ZZ999999")
        assert [b.position for b in register_verify(administration, seals=False, witnesses=False).breaks] == [2]
        Correspondence.objects.filter(pk=reply_id).update(addressee_identifier="AB123456")

        old_apps = migrate(BEFORE)
        assert parties(old_apps) == before  # back exactly as it was
    finally:
        migrate(latest())
