"""Sign-in limits: per account (a slow-down, not a lock-out), per client address, across the
portal and desk sign-in page, the API's token endpoint and the Django admin."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone, translation
from pytest_django import Settings

from core.testing import Clock
from tenancy.models import Throttle, User
from tenancy.testing import PASSWORD, make_user
from tenancy.throttles import DEVICE_COOKIE, Reason, Throttled, throttles_forget_expired

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

WRONG = "not-the-password-0"


def sign_in(client: Client, email: str, password: str, address: str = "198.51.100.7", **headers: str) -> Response:
    return client.post(
        "/login/", {"username": email, "password": password}, REMOTE_ADDR=address, headers=headers or None
    )


def token(email: str, password: str, address: str = "198.51.100.7", client: Client | None = None) -> Response:
    return (client or Client()).post(
        "/api/v1/auth/token",
        {"username": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_an_account_is_slowed_down_after_five_failures_from_as_many_addresses(citizen: User, clock: Clock) -> None:
    for n in range(5):
        assert sign_in(Client(), citizen.email, WRONG, address=f"203.0.113.{n}").status_code == 200
    # A sixth address, even with the right password, waits: the password is not even checked.
    stranger = Client()
    refused = sign_in(stranger, citizen.email, PASSWORD, address="192.0.2.99", **{"Accept-Language": "fr"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert "Trop de tentatives de connexion échouées pour ce compte" in refused.content.decode()
    assert "_auth_user_id" not in stranger.session

    clock.advance(30)
    assert sign_in(Client(), citizen.email, PASSWORD, address="192.0.2.99").status_code == 302
    assert not Throttle.objects.filter(blocked_until__isnull=False).exists()


def test_the_wait_doubles_after_each_further_failure_up_to_the_maximum(
    citizen: User, clock: Clock, settings: Settings
) -> None:
    settings.LOGIN_MAX_DELAY = 300
    waits = []
    for _ in range(12):
        response = token(citizen.email, WRONG)
        while response.status_code == 429:
            waits.append(int(response["Retry-After"]))
            clock.advance(int(response["Retry-After"]))
            response = token(citizen.email, WRONG)
        assert response.status_code == 401
    assert waits == [30, 60, 120, 240, 300, 300, 300]


def test_refused_attempts_do_not_lengthen_the_wait(citizen: User, clock: Clock) -> None:
    for _ in range(5):
        token(citizen.email, WRONG)
    for _ in range(20):
        clock.advance(1)
        assert token(citizen.email, WRONG).status_code == 429
    clock.advance(10)  # 31 s after the fifth failure
    assert token(citizen.email, PASSWORD).status_code == 200


def test_the_throttled_answer_of_the_api_says_when_to_retry(citizen: User, clock: Clock) -> None:
    for _ in range(5):
        token(citizen.email, WRONG)
    response = Client().post(
        "/api/v1/auth/token",
        {"username": citizen.email, "password": PASSWORD},
        content_type="application/json",
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 429 and response["Retry-After"] == "30"
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    retry_at = timezone.localtime(clock.at + timedelta(seconds=30 + 59)).strftime("%H:%M")
    assert error["message"] == f"Trop de tentatives de connexion échouées pour ce compte. Réessayez après {retry_at}."


def test_the_account_counts_the_same_whether_it_exists_or_not(db: None, clock: Clock) -> None:
    """The limit is kept by the e-mail address typed: it tells nothing about accounts."""
    for _ in range(5):
        assert token("nobody@example.ma", WRONG).status_code == 401
    assert token("nobody@example.ma", WRONG).status_code == 429
    assert token("Nobody@Example.ma ", WRONG).status_code == 429


def test_a_known_device_keeps_signing_in_while_the_account_is_slowed_down(citizen: User, clock: Clock) -> None:
    owner = Client()
    assert sign_in(owner, citizen.email, PASSWORD).status_code == 302
    assert owner.cookies[DEVICE_COOKIE].value
    owner.post("/logout/")

    for n in range(8):  # someone else, elsewhere, guessing
        token(citizen.email, WRONG, address=f"203.0.113.{n}")
    assert token(citizen.email, PASSWORD, address="192.0.2.1").status_code == 429

    assert sign_in(owner, citizen.email, PASSWORD).status_code == 302
    assert owner.get("/deposits/").status_code == 200


def test_a_known_device_has_a_slow_down_of_its_own(citizen: User, clock: Clock) -> None:
    device = Client()
    sign_in(device, citizen.email, PASSWORD)
    device.post("/logout/")
    for _ in range(5):
        assert sign_in(device, citizen.email, WRONG).status_code == 200
    assert sign_in(device, citizen.email, PASSWORD).status_code == 429
    # The account itself was not slowed down by its own device's failures.
    assert sign_in(Client(), citizen.email, PASSWORD).status_code == 302


def test_a_forged_device_cookie_is_an_unknown_device(citizen: User, clock: Clock) -> None:
    for _ in range(5):
        token(citizen.email, WRONG)
    forger = Client()
    forger.cookies[DEVICE_COOKIE] = "eyJhIjoiYiJ9:forged:signature"
    assert sign_in(forger, citizen.email, PASSWORD).status_code == 429


def test_failed_sign_ins_are_limited_per_client_address(db: None, clock: Clock, settings: Settings) -> None:
    settings.RATE_LOGIN = (3, 900)
    accounts = [make_user() for _ in range(4)]
    for account in accounts[:3]:
        assert token(account.email, WRONG, address="203.0.113.9").status_code == 401
    refused = token(accounts[3].email, PASSWORD, address="203.0.113.9")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 900
    # Another address is not concerned; and successes do not count against an address.
    for _ in range(5):
        assert token(accounts[3].email, PASSWORD, address="203.0.113.10").status_code == 200
    clock.advance(900)
    assert token(accounts[3].email, PASSWORD, address="203.0.113.9").status_code == 200


def test_the_address_limit_message_names_the_connection(db: None, clock: Clock, settings: Settings) -> None:
    settings.RATE_LOGIN = (1, 900)
    token("a@example.ma", WRONG, address="203.0.113.9")
    refused = sign_in(Client(), "b@example.ma", WRONG, address="203.0.113.9", **{"Accept-Language": "fr"})
    assert refused.status_code == 429
    assert "Trop de tentatives de connexion échouées depuis votre réseau" in refused.content.decode()


def test_an_ipv6_client_is_counted_by_its_network(db: None, clock: Clock, settings: Settings) -> None:
    settings.RATE_LOGIN = (2, 900)
    token("a@example.ma", WRONG, address="2001:db8:1:2::1")
    token("b@example.ma", WRONG, address="2001:db8:1:2:ffff::9")
    assert token("c@example.ma", WRONG, address="2001:db8:1:2::77").status_code == 429
    assert token("c@example.ma", WRONG, address="2001:db8:1:3::1").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_cannot_slip_past_the_limit(settings: Settings) -> None:
    """Each attempt is counted before its password is checked, under a row lock: ten guesses at
    once get five checks, not ten."""
    user = make_user("target@example.ma")
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def guess() -> None:
        request = RequestFactory().post("/login/", REMOTE_ADDR="203.0.113.50")
        barrier.wait()
        try:
            outcomes.append("checked" if authenticate(request, username=user.email, password=WRONG) is None else "in")
        except Throttled:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["checked"] * 5 + ["refused"] * 5


def test_the_django_admin_sign_in_goes_through_the_same_limits(db: None, clock: Clock) -> None:
    User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    admin = Client()
    for _ in range(5):
        admin.post(
            "/admin/login/", {"username": "root@example.ma", "password": WRONG}, headers={"Accept-Language": "fr"}
        )
    page = admin.post(
        "/admin/login/?next=/admin/",
        {"username": "root@example.ma", "password": PASSWORD},
        headers={"Accept-Language": "fr"},
    )
    assert "Trop de tentatives de connexion échouées pour ce compte" in page.content.decode()
    assert "_auth_user_id" not in admin.session
    clock.advance(30)
    assert (
        admin.post("/admin/login/?next=/admin/", {"username": "root@example.ma", "password": PASSWORD}).status_code
        == 302
    )


def test_guessing_the_current_password_on_the_change_page_is_limited(citizen: User, clock: Clock) -> None:
    borrowed = Client()
    borrowed.force_login(citizen)
    for n in range(5):
        response = borrowed.post(
            "/account/password/",
            {
                "old_password": f"guess-{n}",
                "new_password1": "une-phrase-neuve-31",
                "new_password2": "une-phrase-neuve-31",
            },
        )
        assert response.status_code == 200
    response = borrowed.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "une-phrase-neuve-31", "new_password2": "une-phrase-neuve-31"},
    )
    assert response.status_code == 429
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)


def test_expired_limits_are_forgotten_by_the_worker(citizen: User, clock: Clock, settings: Settings) -> None:
    settings.RATE_LOGIN = (100, 900)
    for _ in range(6):
        token(citizen.email, WRONG)
    assert Throttle.objects.count() == 2  # the address, the account
    clock.advance(901)
    assert throttles_forget_expired() == 1  # the address's window ended; the account's failures are kept a day
    clock.advance(24 * 3600)
    assert throttles_forget_expired() == 1
    assert not Throttle.objects.exists()


def test_the_retry_time_is_said_in_casablanca_rounded_up_to_the_minute() -> None:
    until = datetime(2026, 12, 7, 13, 31, 10, tzinfo=UTC)  # 14:31:10 in Casablanca (UTC+1)
    with translation.override("fr"):
        text = Throttled(retry_after=40, until=until, reason=Reason.ACCOUNT).describe()
    assert text == "Trop de tentatives de connexion échouées pour ce compte. Réessayez après 14:32."


def test_guessing_the_current_password_in_the_django_admin_is_limited(db: None, clock: Clock) -> None:
    root = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    borrowed = Client()
    borrowed.force_login(root)
    new = {"new_password1": "une-phrase-neuve-31", "new_password2": "une-phrase-neuve-31"}
    for n in range(5):
        assert borrowed.post("/admin/password_change/", {"old_password": f"guess-{n}", **new}).status_code == 200
    page = borrowed.post(
        "/admin/password_change/", {"old_password": PASSWORD, **new}, headers={"Accept-Language": "fr"}
    )
    assert "Trop de tentatives de connexion échouées pour ce compte" in page.content.decode()
    root.refresh_from_db()
    assert root.check_password(PASSWORD)
