"""Shared fixtures: PKIs made once per session in temporary directories (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trust.pki import Pki
from trust.testing import sample_pdf

ADMIN_CODE = "DGI"
ADMIN_FR = "Direction générale des impôts"
ADMIN_AR = "المديرية العامة للضرائب"


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    Pki.create(directory, "Wasl test installation")
    return directory


@pytest.fixture(scope="session")
def pki(pki_dir: Path) -> Pki:
    loaded = Pki.load(pki_dir)
    loaded.seal_for(code=ADMIN_CODE, name_fr=ADMIN_FR, name_ar=ADMIN_AR)
    return loaded


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Another installation, whose seals ours must not trust even if they claim our codes."""
    return Pki.create(tmp_path_factory.mktemp("foreign-pki"), "Somebody else")


@pytest.fixture(scope="session")
def pdf() -> bytes:
    return sample_pdf()


@pytest.fixture(scope="session")
def sealed(pdf: bytes, pki: Pki) -> bytes:
    from trust.sealing import seal_pdf

    return seal_pdf(pdf, pki=pki, administration_code=ADMIN_CODE, reason="Récépissé de dépôt", location="Rabat")
