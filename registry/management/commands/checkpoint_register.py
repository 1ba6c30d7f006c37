from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.checkpoints import checkpoint_make
from tenancy.models import Administration


class Command(BaseCommand):
    help = "Seal a checkpoint of the register log now (all administrations, or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--administration", help="Only this administration code.")

    def handle(self, *args: Any, **options: Any) -> None:
        administrations = Administration.objects.order_by("code")
        if options["administration"]:
            administrations = administrations.filter(code=options["administration"].upper())
            if not administrations.exists():
                raise CommandError(f"No administration has the code {options['administration']}.")
        for administration in administrations:
            checkpoint = checkpoint_make(actor=None, administration=administration)
            self.stdout.write(f"{administration.code}: sealed position {checkpoint.position} {checkpoint.head_hash}")
