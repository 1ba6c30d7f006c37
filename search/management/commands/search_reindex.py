"""Write the search entries: the missing ones, or every one again (``--all``, after a change of
the normaliser); ``--reread`` first reads the text of the PDFs already read again (after a
change in how born-digital text is read) and writes again the entries whose text changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from search.services import index_rebuild, index_reread, index_sync


class Command(BaseCommand):
    help = "Index for search the correspondence registered since the last run (--all: everything again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="write every entry again")
        parser.add_argument(
            "--reread",
            action="store_true",
            help="read the own text of the PDFs already read again first (recognised pages are kept)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reread"]:
            files, entries = index_reread()
            self.stdout.write(f"{files} files read again, {entries} correspondences indexed with their new text")
        if options["all"]:
            done = index_rebuild()
        else:
            done = 0
            while True:
                indexed = index_sync(limit=2000)
                done += indexed
                if not indexed:
                    break
        self.stdout.write(f"{done} correspondences indexed")
