from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from core.errors import Refused
from starter.selectors import starter_preview
from starter.services import KINDS, starter_catalogue_load
from tenancy.models import Administration

LABELS = {
    "services": "services",
    "procedures": "procedures",
    "letter_templates": "letter templates",
    "circuits": "circuits",
    "routing_rules": "routing rules",
}


class Command(BaseCommand):
    help = (
        "Load the starter catalogue of a commune into the administration CODE: the standard services, "
        "procedures with their legal basis and delay, letter templates, a visa-signature-seal circuit and "
        "routing rules. What the administration already has (same code) is kept as it is; running it "
        "again creates nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="the administration's code, e.g. COMMUNE-AGADIR")
        parser.add_argument("--dry-run", action="store_true", help="list what would be created, change nothing")

    @no_translations  # the operator's messages in English, the refusal's too
    def handle(self, *args: Any, **options: Any) -> None:
        code = str(options["code"]).strip().upper()
        administration = Administration.objects.filter(code=code).first()
        if administration is None:
            raise CommandError(f"No administration has the code {code}.")
        if options["dry_run"]:
            preview = starter_preview(administration)
            for kind in KINDS:
                lines = getattr(preview, kind)
                new = [line.code for line in lines if not line.present]
                kept = [line.code for line in lines if line.present]
                self.stdout.write(f"{LABELS[kind]}: would create {len(new)} {' '.join(new)}".rstrip())
                if kept:
                    self.stdout.write(f"  kept as they are: {' '.join(kept)}")
            return
        try:
            report = starter_catalogue_load(actor=None, administration=administration)
        except Refused as refused:
            raise CommandError(refused.message) from None
        for kind in KINDS:
            created, kept = report.created[kind], report.kept[kind]
            self.stdout.write(f"{LABELS[kind]}: created {len(created)} {' '.join(created)}".rstrip())
            if kept:
                self.stdout.write(f"  kept as they were: {' '.join(kept)}")
        self.stdout.write(
            f"Starter catalogue (version {report.version}) loaded into {administration.code}: "
            f"{report.created_count} created, {report.kept_count} kept. "
            f"Edit it in the desk: /desk/{administration.code}/procedures/"
        )
