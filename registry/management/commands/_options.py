"""The ``--administration CODE`` option shared by the register commands."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django.db.models import QuerySet

from tenancy.models import Administration


def add_administration_option(parser: CommandParser) -> None:
    parser.add_argument("--administration", help="Only this administration code (default: all).")


def chosen_administrations(code: str | None) -> QuerySet[Administration]:
    administrations = Administration.objects.order_by("code")
    if code:
        administrations = administrations.filter(code=code.upper())
        if not administrations.exists():
            raise CommandError(f"No administration has the code {code}.")
    return administrations
