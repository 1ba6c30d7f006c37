from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from operations.demo import DemoRefused, seed_demo


class Command(BaseCommand):
    help = "Create the demo administrations, services and accounts (idempotent; demo mode only)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = seed_demo()
        except DemoRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            "Demo ready: {administrations} administrations, {services} services, {accounts} accounts created.".format(
                **created
            )
        )
