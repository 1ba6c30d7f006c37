from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from trust.services import installation_pki


class Command(BaseCommand):
    help = "What other installations need to pin this one: its address and root certificate fingerprint."

    def handle(self, *args: Any, **options: Any) -> None:
        pki = installation_pki()
        pki.exchange_identity()  # issued now rather than at the first envelope
        self.stdout.write(f"installation: {pki.installation_name}")
        self.stdout.write(f"address:      {settings.PUBLIC_URL}")
        self.stdout.write(f"fingerprint:  {pki.fingerprint}")
