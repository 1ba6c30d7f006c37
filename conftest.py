"""Fixtures shared by every app's tests.

``commune`` is the administration under test; ``elsewhere`` is another one, whose
``outsider`` (a clerk there) and ``outsider_citizen`` must be denied everything of ours.
``signed_in(user)`` is a test client signed in as ``user``; ``clock`` stops the application clock
(``core.testing.clock_at`` for a given moment). Every test starts with an empty cache, so the
rate limits (counted in the cache) of one test never throttle another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from core.testing import Clock, clock_at
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_service, make_staff, make_user

Role = Membership.Role


@pytest.fixture(autouse=True)
def _files_of_this_test(tmp_path_factory: pytest.TempPathFactory, settings: Any) -> None:
    """Each test stores its files apart: the database is rolled back after every test, and the
    files (anchor files of the register logs above all) must not outlive the rows they go with."""
    settings.FILES_DIR = tmp_path_factory.mktemp("files")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """The rate limits are counted in the cache: each test starts with none used."""
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the default language (Arabic): a language left active in the thread by
    the test before (a request through LocaleMiddleware leaves its own) does not carry over."""
    translation.deactivate()


@pytest.fixture
def signed_in() -> Callable[..., Client]:
    """``signed_in(user)``: a new test client signed in as ``user`` (a session made directly, not
    the sign-in form), asking for pages in ``language`` when given (``signed_in(user, "fr")``),
    else in the default language (Arabic)."""

    def client_of(user: User, language: str | None = None) -> Client:
        client = Client(headers={"Accept-Language": language}) if language else Client()
        client.force_login(user)
        return client

    return client_of


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The application clock stopped at the current time (to the second) for the whole test;
    ``clock.advance(seconds)`` moves it."""
    with clock_at() as stopped:
        yield stopped


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
