"""Personas shared by every app's tests.

``commune`` is the administration under test; ``elsewhere`` is another one, whose
``outsider`` (a clerk there) and ``outsider_citizen`` must be denied everything of ours.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_service, make_staff, make_user

Role = Membership.Role


@pytest.fixture(autouse=True)
def _files_of_this_test(tmp_path_factory: pytest.TempPathFactory, settings: Any) -> None:
    """Each test stores its files apart: the database is rolled back after every test, and the
    files (anchor files of the register logs above all) must not outlive the rows they go with."""
    settings.FILES_DIR = tmp_path_factory.mktemp("files")


@pytest.fixture
def commune(db: None) -> Administration:
    administration = make_administration(
        "COMMUNE-TEST", name_ar="جماعة الاختبار", name_fr="Commune de Test", name_zgh="ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵔⵎⵉⵙ"
    )
    make_service(administration, "SG")
    return administration


@pytest.fixture
def elsewhere(db: None) -> Administration:
    return make_administration("PROVINCE-AUTRE", kind=Administration.Kind.PROVINCE, name_fr="Province Autre")


@pytest.fixture
def citizen(db: None) -> User:
    return make_user("citizen@example.ma", full_name="فاطمة الزهراء بنعلي", national_id="AB123456")


@pytest.fixture
def outsider_citizen(db: None) -> User:
    return make_user("other.citizen@example.ma", full_name="Youssef Amrani")


@pytest.fixture
def clerk(commune: Administration) -> User:
    return make_staff(commune, Role.CLERK, "clerk@commune.ma", full_name="Clerk Test")


@pytest.fixture
def agent(commune: Administration) -> User:
    return make_staff(commune, Role.AGENT, "agent@commune.ma")


@pytest.fixture
def head(commune: Administration) -> User:
    return make_staff(commune, Role.HEAD, "head@commune.ma")


@pytest.fixture
def signatory(commune: Administration) -> User:
    return make_staff(commune, Role.SIGNATORY, "signatory@commune.ma")


@pytest.fixture
def commune_admin(commune: Administration) -> User:
    return make_staff(commune, Role.ADMIN, "admin@commune.ma")


@pytest.fixture
def auditor(commune: Administration) -> User:
    return make_staff(commune, Role.AUDITOR, "auditor@commune.ma")


@pytest.fixture
def outsider(elsewhere: Administration) -> User:
    """Staff of another administration, with every role there."""
    user = make_staff(elsewhere, Role.CLERK, "outsider@province.ma")
    for role in (Role.ADMIN, Role.AUDITOR, Role.HEAD, Role.SIGNATORY):
        Membership.objects.create(user=user, administration=elsewhere, role=role)
    return user
