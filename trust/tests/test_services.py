from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django import Settings

from trust.pki import Pki, PkiMissing
from trust.services import ca_certificate_pem, installation_pki, reset_installation_pki


@pytest.fixture(autouse=True)
def _fresh_pki() -> Iterator[None]:
    reset_installation_pki()
    yield
    reset_installation_pki()


def test_missing_pki_names_the_command_to_run(settings: Settings, tmp_path: Path) -> None:
    settings.PKI_DIR = tmp_path / "pki"
    settings.PKI_AUTOCREATE = False
    with pytest.raises(PkiMissing, match=r"manage\.py pki_init"):
        installation_pki()


def test_autocreate_makes_one_pki_per_process(settings: Settings, tmp_path: Path) -> None:
    settings.PKI_DIR = tmp_path / "pki"
    settings.PKI_AUTOCREATE = True
    settings.INSTALLATION_NAME = "Wasl auto"
    pki = installation_pki()
    assert installation_pki() is pki
    assert pki.installation_name == "Wasl auto"
    assert ca_certificate_pem() == (tmp_path / "pki" / "ca.cert.pem").read_bytes()


def test_tsa_url_setting_reaches_the_pki(settings: Settings, tmp_path: Path) -> None:
    settings.PKI_DIR = tmp_path / "pki"
    settings.PKI_AUTOCREATE = True
    settings.TSA_URL = "http://tsa.example/"
    assert installation_pki().tsa_url == "http://tsa.example/"


def test_pki_init_command(settings: Settings, tmp_path: Path) -> None:
    settings.PKI_DIR = tmp_path / "pki"
    out = StringIO()
    call_command("pki_init", "--name", "Commune de Tiznit", stdout=out)
    assert "Created" in out.getvalue()
    assert Pki.load(tmp_path / "pki").installation_name == "Commune de Tiznit"
    again = StringIO()
    call_command("pki_init", "--name", "Other", stdout=again)
    assert "already exists" in again.getvalue()
    assert Pki.load(tmp_path / "pki").installation_name == "Commune de Tiznit"
