from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.checkpoints import verify_administration_log
from registry.management.commands._options import add_administration_option, chosen_administrations
from registry.models import RegisterLogEntry


class Command(BaseCommand):
    help = (
        "Verify every administration's register log: the hash chain, the sealed checkpoints, and that "
        "each registered correspondence still matches its log entry. Exits non-zero at the first break."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_administration_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for administration in chosen_administrations(options["administration"]):
            problem = verify_administration_log(administration)
            if problem is not None:
                raise CommandError(f"BROKEN {problem}")
            entries = RegisterLogEntry.objects.filter(administration=administration).count()
            self.stdout.write(f"ok {administration.code}: {entries} entries")
        self.stdout.write(self.style.SUCCESS("All register logs verify."))
