"""``manage.py pki_init``: create the installation PKI (root CA, timestamping unit, CRL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from trust.pki import CA_CERT, Pki
from trust.services import reset_installation_pki


class Command(BaseCommand):
    help = "Create the installation PKI (root CA, timestamping unit, CRL) in PKI_DIR unless one exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name",
            default=getattr(settings, "INSTALLATION_NAME", "Wasl"),
            help="Installation name, written into the root CA certificate (default: WASL_INSTALLATION_NAME).",
        )
        parser.add_argument("--dir", type=Path, default=None, help="PKI directory (default: WASL_PKI_DIR).")

    def handle(self, *args: Any, name: str, dir: Path | None, **options: Any) -> None:
        directory = Path(dir or settings.PKI_DIR)
        if Pki.exists(directory):
            pki = Pki.load(directory)
            self.stdout.write(f"An installation PKI already exists in {directory}; left unchanged.")
        else:
            pki = Pki.create(directory, name)
            reset_installation_pki()
            self.stdout.write(self.style.SUCCESS(f"Created the installation PKI in {directory}."))
        fingerprint = pki.ca_cert.fingerprint(hashes.SHA256()).hex(":").upper()
        self.stdout.write(f"Root CA: {pki.ca_cert.subject.rfc4514_string()}")
        self.stdout.write(f"Root CA SHA-256 fingerprint: {fingerprint}")
        self.stdout.write(f"Give {directory / CA_CERT} to those who verify seals with other tools.")
