"""Outgoing letters: the addressee moves from sender_* (where it was kept) to addressee_*.

An outgoing letter's sender is the administration itself, so its sender_* fields become empty.
Reversible: backwards, the addressee goes back to sender_*. One UPDATE each way (the right-hand
sides of SET read the row as it was before the statement, on SQLite and PostgreSQL alike).
Their register log entries are not rewritten: the verification reads the facts of an outgoing
letter logged before this change, recorded under "sender", as its addressee
(:func:`registry.facts.recorded_facts`).
"""

from typing import Any

from django.db import migrations
from django.db.models import F, Value

FIELDS = ("account", "kind", "name", "identifier", "email", "address")


def _move(apps: Any, source: str, target: str) -> None:
    Correspondence = apps.get_model("registry", "Correspondence")
    changes: dict[str, Any] = {}
    for field in FIELDS:
        column = f"{field}_id" if field == "account" else field
        changes[f"{target}_{column}"] = F(f"{source}_{column}")
        changes[f"{source}_{column}"] = None if field == "account" else Value("")
    Correspondence.objects.filter(direction="outgoing").update(**changes)


def addressee_forwards(apps: Any, schema_editor: Any) -> None:
    _move(apps, "sender", "addressee")


def addressee_backwards(apps: Any, schema_editor: Any) -> None:
    _move(apps, "addressee", "sender")


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0008_correspondence_addressee"),
    ]

    operations = [
        migrations.RunPython(addressee_forwards, addressee_backwards),
    ]
