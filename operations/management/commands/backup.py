from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from operations.backup.archive import BackupInvalid
from operations.backup.create import backup_create
from operations.backup.database import DatabaseBackupError
from operations.backup.verify import backup_verify


class Command(BaseCommand):
    help = (
        "Write a backup archive (database, files, PKI, configuration) while Wasl runs, and verify it; "
        "--verify ARCHIVE checks an existing one."
    )

    # The checks guard serving (allowed hosts, e-mail…); a backup or a restore must work on a
    # machine that is not configured to serve yet, as after a disaster.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="Directory (default WASL_BACKUP_DIR) or archive file (*.tar, or *.tar.gz to compress).",
        )
        parser.add_argument("--keep", type=int, help="Then remove all but the newest N backups of that directory.")
        parser.add_argument("--verify", type=Path, metavar="ARCHIVE", help="Only check this archive.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verify"] is not None:
            self._verify(options["verify"])
            return
        if options["keep"] is not None and options["keep"] < 1:
            raise CommandError("--keep must be 1 or more.")
        try:
            result = backup_create(output=options["output"], keep=options["keep"], say=self.stdout.write)
        except (ValueError, DatabaseBackupError, BackupInvalid, OSError, DatabaseError) as exc:
            raise CommandError(f"No backup was written: {exc}") from exc
        for old in result.removed:
            self.stdout.write(f"removed the older {old.name}")
        self.stdout.write(f"{result.path}\nSHA-256 {result.sha256} (also in {result.path.name}.sha256)")
        if result.problems:
            for problem in result.problems:
                self.stderr.write(f"PROBLEM {problem}")
            raise CommandError(f"The backup was written and verified, but it has {len(result.problems)} problems.")
        self.stdout.write(self.style.SUCCESS("Backup written and verified."))

    def _verify(self, archive: Path) -> None:
        try:
            verified = backup_verify(archive)
        except BackupInvalid as exc:
            raise CommandError(f"INVALID {exc}") from exc
        manifest = verified.manifest
        self.stdout.write(
            f"{archive}: {verified.members} members match the manifest; SHA-256 {verified.sha256}\n"
            f"made {manifest['started_at']}, database ({manifest['database']['engine']}) as of "
            f"{manifest['snapshot_started_at']}"
        )
        for note in [*verified.notes, *manifest.get("problems", [])]:
            self.stdout.write(f"note: {note}")
        self.stdout.write(self.style.SUCCESS("The archive is intact."))
