from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registry.management.commands._options import add_administration_option, chosen_administrations
from registry.services import register_counters_repair


class Command(BaseCommand):
    help = (
        "Set each register counter to its register's highest number: a counter behind refuses every "
        "registration, one ahead would leave a gap. Says what it would change; --apply changes it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_administration_option(parser)
        parser.add_argument("--apply", action="store_true", help="Change the counters (default: only report).")

    def handle(self, *args: Any, **options: Any) -> None:
        apply = options["apply"]
        changed = 0
        for administration in chosen_administrations(options["administration"]):
            for repair in register_counters_repair(actor=None, administration=administration, apply=apply):
                changed += 1
                was = "none" if repair.was is None else str(repair.was)
                verb = "set" if apply else "would set"
                self.stdout.write(
                    f"{administration.code} {repair.direction} {repair.year}: counter {was}, {verb} to {repair.becomes}"
                )
        if not changed:
            self.stdout.write(self.style.SUCCESS("Every register counter equals its highest number."))
        elif not apply:
            self.stdout.write("Nothing changed: run again with --apply to repair.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{changed} counter(s) repaired."))
