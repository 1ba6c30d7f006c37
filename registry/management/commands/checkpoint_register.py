from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registry.checkpoints import checkpoint_make
from registry.management.commands._options import add_administration_option, chosen_administrations


class Command(BaseCommand):
    help = "Seal a checkpoint of the register log now (all administrations, or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_administration_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        for administration in chosen_administrations(options["administration"]):
            checkpoint = checkpoint_make(actor=None, administration=administration)
            self.stdout.write(f"{administration.code}: sealed position {checkpoint.position} {checkpoint.head_hash}")
