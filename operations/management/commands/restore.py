from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from operations.backup.archive import BackupInvalid
from operations.backup.database import DatabaseBackupError
from operations.backup.restore import RestoreRefused, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup archive into this installation's empty data directory and database "
        "(WASL_DATA_DIR, WASL_DATABASE_URL), then check it (stored files, verify_register)."
    )

    # The checks guard serving (allowed hosts, e-mail…); a backup or a restore must work on a
    # machine that is not configured to serve yet, as after a disaster.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace an installation that holds data (its SQLite file, PKI and file store are moved aside).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_restore(options["archive"], replace=options["force"], say=self.stdout.write)
        except RestoreRefused as exc:
            raise CommandError(f"Nothing was restored: {exc}") from exc
        except BackupInvalid as exc:
            raise CommandError(f"Nothing was restored, the archive is not intact: {exc}") from exc
        except (DatabaseBackupError, OSError, DatabaseError) as exc:
            raise CommandError(f"The restore failed: {exc}") from exc
        for moved in result.moved_aside:
            self.stdout.write(f"moved aside: {moved}")
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        if result.problems:
            for problem in result.problems:
                self.stderr.write(f"PROBLEM {problem}")
            raise CommandError(f"Restored, but the checks found {len(result.problems)} problems.")
        self.stdout.write(
            self.style.SUCCESS(f"Restored the backup of {result.manifest['started_at']}; every check passes.")
        )
