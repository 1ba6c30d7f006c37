from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exchange.services import envelopes_deliver


class Command(BaseCommand):
    help = "Deliver the envelopes that are due now (the worker does this every few seconds)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        delivered = envelopes_deliver(limit=options["limit"])
        self.stdout.write(f"{delivered} delivered")
