"""What a registration does while it holds its register's lock, pinned: every registration into
one register waits for it, so a statement added there slows all of them (issue #16).

The lock is taken by the counter's UPDATE and held until the commit; everything else (the
files' rows, the primary keys, the routing rule, the idempotency key) comes before it."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Correspondence, RegisterLogEntry
from registry.services import Registration
from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow.models import Case, CaseEvent
from workflow.testing import deposit

COUNTER = "last_number = last_number + 1"


def _statement(sql: str) -> str:
    """``UPDATE registry_registercounter``: what a statement does, to which table; for one made
    of several (``WITH … UPDATE … SELECT``), each part joined by ``+``."""
    sql = sql.replace('"', "")
    if sql.startswith("WITH "):
        parts = re.findall(r"\b(UPDATE|FROM)\s+(\w+)", sql)
        return " + ".join(
            f"{'SELECT' if verb == 'FROM' else verb} {table}" for verb, table in parts if table != "taken"
        )
    table = re.search(r"\b(?:INTO|UPDATE|FROM)\s+(\w+)", sql)
    assert table is not None, sql
    return f"{sql.split()[0]} {table.group(1)}"


def _under_the_lock(register: Callable[[], Registration]) -> tuple[list[str], int, Registration]:
    """The statements of a registration from the counter's UPDATE on (all of them inside its
    transaction), and how many round trips to the database they took."""
    with CaptureQueriesContext(connection) as queries:
        registration = register()
    executed = [q["sql"] for q in queries.captured_queries]
    taken = [i for i, sql in enumerate(executed) if COUNTER in sql]
    assert len(taken) == 1
    # The end of the transaction (its commit; in a test, a savepoint released) is not counted.
    locked = [sql for sql in executed[taken[0] :] if "SAVEPOINT" not in sql]
    statements = [_statement(part) for sql in locked for part in sql.split(";\n")]
    return statements, len(locked), registration


def test_a_deposit_writes_everything_in_one_round_trip_under_the_register_lock(
    commune: Administration, citizen: User
) -> None:
    deposit(commune, citizen)  # the register's counter and log head exist from now on
    statements, round_trips, registration = _under_the_lock(lambda: deposit(commune, citizen))

    number_and_head = (
        ["UPDATE registry_registercounter + SELECT registry_registerloghead"]
        if connection.vendor == "postgresql"
        else ["UPDATE registry_registercounter", "SELECT registry_registerloghead"]
    )
    assert statements == [
        *number_and_head,
        "INSERT registry_correspondence",
        "INSERT registry_attachment",
        "INSERT registry_receipt",
        "INSERT registry_registerlogentry",
        "UPDATE registry_registerloghead",
        "INSERT audit_auditevent",
        "INSERT workflow_case",
        "INSERT workflow_caseevent",
    ]
    # The number and the log head, then the rest at once (PostgreSQL); SQLite takes its write
    # lock for the whole transaction anyway, and runs them one by one.
    assert round_trips == (2 if connection.vendor == "postgresql" else len(statements))
    correspondence = registration.correspondence
    assert Correspondence.objects.get(pk=correspondence.pk).sequence == 2
    assert RegisterLogEntry.objects.get(correspondence=correspondence).position == 2
    assert Case.objects.filter(pk=correspondence.pk).exists()


def test_a_deposit_assigned_at_once_adds_only_its_rows_to_the_same_round_trip(
    commune: Administration, citizen: User
) -> None:
    service = make_service(commune, "URB")
    deposit(commune, citizen)
    statements, round_trips, registration = _under_the_lock(
        lambda: deposit(commune, citizen, recipient_service=service)
    )

    assert statements[-3:] == ["INSERT workflow_case", "INSERT workflow_caseevent", "INSERT audit_auditevent"]
    assert len(statements) == (10 if connection.vendor == "postgresql" else 11)
    assert round_trips == (2 if connection.vendor == "postgresql" else len(statements))
    events = CaseEvent.objects.filter(case_id=registration.correspondence.pk).order_by("pk")
    assert [e.kind for e in events] == ["registered", "assigned"]
