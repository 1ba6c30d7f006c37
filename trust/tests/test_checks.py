"""The PKI's system check: each way the installation could not seal is named, with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.checks import CheckMessage, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from pytest_django import Settings

from tenancy.testing import make_administration
from trust.checks import TAG, pki_problems
from trust.pki import Pki


@pytest.fixture
def pki_here(tmp_path: Path, settings: Settings) -> Path:
    """A fresh PKI of this test's own, which the settings name; creating one on use is off."""
    directory = tmp_path / "pki"
    Pki.create(directory, "Wasl check test")
    settings.PKI_DIR = directory
    settings.PKI_AUTOCREATE = False
    settings.TSA_URL = ""
    return directory


def _ids(problems: list[CheckMessage]) -> list[str | None]:
    return [problem.id for problem in problems]


def test_a_complete_pki_is_no_problem(pki_here: Path, db: None) -> None:
    make_administration("COMMUNE-A")
    assert pki_problems() == []


def test_a_missing_pki_is_an_error_that_names_pki_init(tmp_path: Path, settings: Settings) -> None:
    settings.PKI_DIR = tmp_path / "nothing-here"
    settings.PKI_AUTOCREATE = False
    [problem] = pki_problems()
    assert problem.id == "wasl.E020"
    assert str(tmp_path / "nothing-here") in problem.msg
    assert problem.hint is not None
    assert "manage.py pki_init" in problem.hint


def test_a_missing_pki_is_fine_when_it_is_created_on_first_use(tmp_path: Path, settings: Settings) -> None:
    settings.PKI_DIR = tmp_path / "nothing-here"
    settings.PKI_AUTOCREATE = True
    assert pki_problems() == []


def test_an_unreadable_root_certificate_is_an_error_even_when_created_on_first_use(
    pki_here: Path, settings: Settings, db: None
) -> None:
    settings.PKI_AUTOCREATE = True
    (pki_here / "ca.cert.pem").write_text("not a certificate\n")
    [problem] = pki_problems()
    assert problem.id == "wasl.E021"
    assert "cannot be read" in problem.msg and "holds no certificate" in problem.msg
    assert problem.hint is not None
    assert "chown" in problem.hint


def test_a_damaged_key_is_an_error(pki_here: Path, db: None) -> None:
    (pki_here / "ca.key.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert _ids(pki_problems()) == ["wasl.E021"]


def test_no_timestamping_unit_is_an_error_unless_an_external_one_is_named(
    pki_here: Path, settings: Settings, db: None
) -> None:
    (pki_here / "tsa.key.pem").unlink()
    [problem] = pki_problems()
    assert problem.id == "wasl.E022"
    assert problem.hint is not None
    assert "WASL_TSA_URL" in problem.hint
    settings.TSA_URL = "https://tsa.example.ma/"
    assert pki_problems() == []


def test_without_the_root_key_each_administration_needs_its_supplied_seal(pki_here: Path, db: None) -> None:
    supplied = make_administration("COMMUNE-A")
    make_administration("COMMUNE-B")
    make_administration("CLOSED", is_active=False)  # takes no correspondence: needs no seal
    Pki.load(pki_here).seal_for(code=supplied.code)  # issued while the key was there
    (pki_here / "ca.key.pem").unlink()
    [problem] = pki_problems()
    assert problem.id == "wasl.E023"
    assert "COMMUNE-B" in problem.msg and "COMMUNE-A" not in problem.msg and "CLOSED" not in problem.msg
    assert problem.hint is not None
    assert "COMMUNE-B.cert.pem" not in problem.hint and "<CODE>.cert.pem" in problem.hint


def test_the_check_runs_with_check_deploy_and_not_with_every_command(
    tmp_path: Path, settings: Settings, db: None
) -> None:
    """``migrate``, ``restore`` and ``pki_init`` run before there is a PKI: only ``check --deploy``
    and the start of the services ask for one."""
    settings.PKI_DIR = tmp_path / "nothing-here"
    settings.PKI_AUTOCREATE = False
    assert "wasl.E020" not in _ids(run_checks())
    assert "wasl.E020" in _ids(run_checks(include_deployment_checks=True, tags=[TAG]))
    with pytest.raises(SystemCheckError, match=r"wasl\.E020"):
        call_command("check", "--deploy", "--tag", TAG)
