from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.checkpoints import seal_verifies
from registry.facts import facts_from_database
from registry.log import verify_chain
from registry.models import RegisterLogEntry
from tenancy.models import Administration


class Command(BaseCommand):
    help = (
        "Verify every administration's register log: the hash chain, the sealed checkpoints, and that "
        "each registered correspondence still matches its log entry. Exits non-zero at the first break."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--administration", help="Only this administration code.")

    def handle(self, *args: Any, **options: Any) -> None:
        administrations = Administration.objects.order_by("code")
        if options["administration"]:
            administrations = administrations.filter(code=options["administration"].upper())
            if not administrations.exists():
                raise CommandError(f"No administration has the code {options['administration']}.")
        for administration in administrations:
            code = administration.code

            def verify_seal(statement: bytes, seal: bytes, code: str = code) -> bool:
                return seal_verifies(code, statement, seal)

            problem = verify_chain(administration, expected_facts=facts_from_database, verify_seal=verify_seal)
            if problem is not None:
                raise CommandError(f"BROKEN {problem}")
            entries = RegisterLogEntry.objects.filter(administration=administration).count()
            self.stdout.write(f"ok {administration.code}: {entries} entries")
        self.stdout.write(self.style.SUCCESS("All register logs verify."))
