"""Two real installations on loopback, shared by the modules of this package that need them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.tests.installations import Installation


@pytest.fixture(scope="package")
def pair(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: tuple[str, str] | None
) -> Iterator[tuple[Installation, Installation]]:
    root = tmp_path_factory.mktemp("installations")
    # Their databases start from the run's migrated template when it is a SQLite file.
    migrated = Path(migrated_template[1]) if migrated_template and migrated_template[0] == "sqlite" else None
    a, b = Installation("a", root / "a"), Installation("b", root / "b")
    try:
        a.prepare("COMMUNE-A", "COMMUNE-A2", migrated=migrated)
        b.prepare("PROVINCE-B", migrated=migrated)
        a.start()
        b.start()
        # Each side's administrators pin the other by its fingerprint, read out of band.
        pinned = a.command("peer_add", "b", b.url, "--fingerprint", b.fingerprint)
        assert "1 administrations of b" in pinned
        b.command("peer_add", "a", a.url, "--fingerprint", a.fingerprint)
        yield a, b
    finally:
        a.close()
        b.close()
