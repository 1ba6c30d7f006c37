from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.checkpoints import verify_administration_log
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
            problem = verify_administration_log(administration)
            if problem is not None:
                raise CommandError(f"BROKEN {problem}")
            entries = RegisterLogEntry.objects.filter(administration=administration).count()
            self.stdout.write(f"ok {administration.code}: {entries} entries")
        self.stdout.write(self.style.SUCCESS("All register logs verify."))
