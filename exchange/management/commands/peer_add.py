from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.remote import PeerRefused, PeerUnreachable, directory_sync, peer_add


class Command(BaseCommand):
    help = (
        "Pin another Wasl installation for exchange: its address and the fingerprint of its root "
        "certificate, read to you by its administrators (manage.py exchange_identity there). "
        "Both installations must pin each other."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A short name for it, used in addresses (CODE@name).")
        parser.add_argument("url", help="Its public address, e.g. https://wasl.region-rsk.ma")
        parser.add_argument("--fingerprint", default="", help="SHA-256 of its root certificate (hex).")
        parser.add_argument("--ca-file", default="", help="Its root certificate (PEM), instead of fetching it.")

    def handle(self, *args: Any, **options: Any) -> None:
        ca_pem = Path(options["ca_file"]).read_text() if options["ca_file"] else ""
        if not ca_pem and not options["fingerprint"]:
            raise CommandError("Give --fingerprint (compared with the one its administrators read you) or --ca-file.")
        try:
            peer = peer_add(
                name=options["name"],
                base_url=options["url"],
                expected_fingerprint=options["fingerprint"],
                ca_pem=ca_pem,
            )
        except (PeerRefused, PeerUnreachable, ValueError) as exc:
            raise CommandError(f"Not pinned: {exc}") from None
        self.stdout.write(f"Pinned {peer.name} ({peer.label}) at {peer.base_url}, fingerprint {peer.fingerprint}.")
        try:
            count = directory_sync(peer)
        except (PeerRefused, PeerUnreachable) as exc:
            self.stdout.write(f"Its directory could not be read yet ({exc}); the worker retries every hour.")
        else:
            self.stdout.write(f"{count} administrations of {peer.name} are in the directory.")
