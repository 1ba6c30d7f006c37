from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from registry.integrity import files_verify, register_verify
from registry.management.commands._options import add_administration_option, chosen_administrations


class Command(BaseCommand):
    help = (
        "Verify every administration's registers against what witnesses them: the hash chain and each "
        "registration's facts, the sealed and chained checkpoints, the anchor file and pinned peers, "
        "gapless numbering and the register counters, every receipt, letter and attestation (seal, "
        "fingerprint, the log entry it states), and every stored file against its hash. Lists every "
        "break and exits non-zero when there is one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_administration_option(parser)
        parser.add_argument(
            "--quick",
            action="store_true",
            help="Do not validate every seal nor re-read every stored file (the anchors are still compared).",
        )
        parser.add_argument("--no-peers", action="store_true", help="Do not ask pinned peer installations.")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override("en"):  # an operator's tool: its report reads like the docs
            self._verify(options)

    def _verify(self, options: dict[str, Any]) -> None:
        quick = options["quick"]
        breaks: list[str] = []
        for administration in chosen_administrations(options["administration"]):
            report = register_verify(administration, seals=not quick, witnesses=not options["no_peers"])
            for note in report.notes:
                self.stdout.write(f"   note {administration.code}: {note}")
            if report.ok:
                self.stdout.write(f"ok {administration.code}: {report.entries} entries")
                continue
            for found in report.breaks:
                self.stdout.write(self.style.ERROR(f"BROKEN {found}"))
            if report.more:
                self.stdout.write(self.style.ERROR(f"BROKEN {administration.code}: … and {report.more} more"))
            breaks += [str(found) for found in report.breaks]
        if not quick and not options["administration"]:
            files = files_verify()
            for problem in files.problems:
                self.stdout.write(self.style.ERROR(f"BROKEN files: {problem}"))
            breaks += [f"files: {problem}" for problem in files.problems]
            if not files.problems:
                self.stdout.write(f"ok files: {files.checked} stored files, {files.anchored} sealed documents")
        if breaks:
            raise CommandError("BROKEN " + "\nBROKEN ".join(breaks))
        self.stdout.write(self.style.SUCCESS("All register logs verify."))
