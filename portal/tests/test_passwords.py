"""Password reset (limited, the same answer whether an account exists or not) and change; both
end every API token and every other session of the account."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from audit.models import AuditEvent
from core.testing import Clock
from tenancy.models import User
from tenancy.services import password_reset_email_send
from tenancy.testing import PASSWORD, make_user
from tenancy.throttles import DEVICE_COOKIE

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

NEW = "une-phrase-neuve-2027"


def reset(
    email: str, address: str = "198.51.100.7", client: Client | None = None, headers: dict[str, str] | None = None
) -> Response:
    return (client or Client()).post("/account/password-reset/", {"email": email}, REMOTE_ADDR=address, headers=headers)


def link_in(message: EmailMessage) -> str:
    link = re.search(r"https?://[^/\s]+(/\S*)", str(message.body))
    assert link is not None
    return link.group(1)


def bearer_for(user: User) -> str:
    response = Client().post(
        "/api/v1/auth/token", {"username": user.email, "password": PASSWORD}, content_type="application/json"
    )
    return response.json()["token"]


def signed_in_with_password(user: User) -> Client:
    client = Client()
    assert client.post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/deposits/").status_code == 200


def api_status(token: str) -> int:
    return Client().get("/api/v1/deposits", headers={"Authorization": f"Bearer {token}"}).status_code


def complete_reset(client: Client, message: EmailMessage, password: str = NEW) -> Response:
    form_page = client.get(link_in(message), follow=True)
    assert form_page.status_code == 200
    return client.post(form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


# The request: limited, and the same answer and the same work for any address.


def normalised(sql: str) -> str:
    """A statement without its values: what was done, not to whom."""
    sql = re.sub(r'"s\d+_x\d+"', "SAVEPOINT-NAME", sql)
    return re.sub(r"'[^']*'|\b\d+\b|%s|\?", "?", sql)


def test_a_reset_request_does_the_same_work_whether_an_account_exists_or_not(citizen: User, settings: Settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}  # queue, don't run
    answers: dict[str, tuple[int, str, bytes]] = {}
    statements = {}
    for label, email in (("existing", citizen.email), ("unknown", "nobody.here@example.ma")):
        with CaptureQueriesContext(connection) as queries:
            response = reset(email, address=f"203.0.113.{len(answers) + 1}")
        answers[label] = (response.status_code, response["Location"], response.content)
        statements[label] = [normalised(query["sql"]) for query in queries.captured_queries]
    assert answers["existing"] == answers["unknown"] == (302, "/account/password-reset/sent/", b"")
    assert statements["existing"] == statements["unknown"]
    # Nothing in the request looked for the account: no query reads the users' table.
    assert not any("tenancy_user" in sql for sql in statements["existing"])
    assert mail.outbox == []


def test_the_worker_sends_the_link_only_to_an_existing_account(citizen: User) -> None:
    assert password_reset_email_send(email="nobody.here@example.ma") == 0
    assert password_reset_email_send(email=citizen.email.upper()) == 1
    assert [m.to for m in mail.outbox] == [[citizen.email]]


def test_reset_requests_are_limited_per_account_from_any_address(citizen: User, settings: Settings) -> None:
    settings.RATE_RESET_ACCOUNT = (3, 3600)
    for n in range(3):
        assert reset(citizen.email, address=f"203.0.113.{n}").status_code == 302
    refused = reset(citizen.email.upper(), address="192.0.2.44", headers={"Accept-Language": "fr"})
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    assert "Trop de demandes de réinitialisation du mot de passe" in refused.content.decode()
    assert len(mail.outbox) == 3


def test_reset_requests_are_limited_per_client_address(citizen: User, settings: Settings) -> None:
    settings.RATE_RESET_ADDRESS = (4, 3600)
    for n in range(4):
        assert reset(f"person{n}@example.ma", address="203.0.113.77").status_code == 302
    assert reset(citizen.email, address="203.0.113.77").status_code == 429
    assert mail.outbox == []
    assert reset(citizen.email, address="203.0.113.78").status_code == 302
    assert len(mail.outbox) == 1


def test_the_limited_answer_is_the_same_whether_an_account_exists_or_not(
    citizen: User, settings: Settings, clock: Clock
) -> None:
    """The clock is stopped: the answer says until when, to the minute, and two requests made
    across a minute's turn would otherwise say two times (a failure one run in many)."""
    settings.RATE_RESET_ACCOUNT = (1, 3600)
    reset(citizen.email)
    reset("nobody.here@example.ma")
    existing = reset(citizen.email, address="192.0.2.1")
    unknown = reset("nobody.here@example.ma", address="192.0.2.2")
    assert existing.status_code == unknown.status_code == 429
    assert existing["Retry-After"] == unknown["Retry-After"]

    def page(response: Response, email: str) -> str:
        html = response.content.decode().replace(email, "EMAIL")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)

    assert page(existing, citizen.email) == page(unknown, "nobody.here@example.ma")


# A reset and a change end every token and every other session.


def test_a_reset_ends_every_api_token_and_every_session(citizen: User) -> None:
    tokens = [bearer_for(citizen), bearer_for(citizen)]
    sessions = [signed_in_with_password(citizen), signed_in_with_password(citizen)]
    assert all(api_status(t) == 200 for t in tokens) and all(is_signed_in(s) for s in sessions)

    browser = Client()
    reset(citizen.email, client=browser)
    assert complete_reset(browser, mail.outbox[0]).status_code == 302

    assert [api_status(t) for t in tokens] == [401, 401]
    assert not any(is_signed_in(s) for s in sessions)
    assert not citizen.api_tokens.exists()
    event = AuditEvent.objects.get(action="account.password_reset")
    assert event.subject_user == citizen and event.data == {"api_tokens_revoked": 2}
    # The new password works, and the browser that reset it is now a known device.
    assert browser.cookies[DEVICE_COOKIE].value
    assert Client().post("/login/", {"username": citizen.email, "password": NEW}).status_code == 302


def test_a_reset_ends_the_slow_down_of_the_account(citizen: User) -> None:
    for _ in range(6):
        Client().post("/login/", {"username": citizen.email, "password": "wrong-guess-000"})
    assert Client().post("/login/", {"username": citizen.email, "password": PASSWORD}).status_code == 429
    browser = Client()
    reset(citizen.email, client=browser)
    complete_reset(browser, mail.outbox[0])
    assert Client().post("/login/", {"username": citizen.email, "password": NEW}).status_code == 302


def test_a_change_keeps_this_session_and_ends_the_others_and_every_token(citizen: User) -> None:
    token = bearer_for(citizen)
    this, other = signed_in_with_password(citizen), signed_in_with_password(citizen)
    response = this.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert response.status_code == 200
    assert is_signed_in(this)
    assert not is_signed_in(other)
    assert api_status(token) == 401
    assert AuditEvent.objects.filter(action="account.password_changed", subject_user=citizen).count() == 1


def test_a_wrong_current_password_changes_nothing(citizen: User) -> None:
    token = bearer_for(citizen)
    this = signed_in_with_password(citizen)
    response = this.post(
        "/account/password/", {"old_password": "not-it-at-all-9", "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 200 and 'aria-invalid="true"' in response.content.decode()
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD) and api_status(token) == 200


@pytest.mark.parametrize("how", ["set_password", "admin"])
def test_any_other_change_of_password_ends_the_tokens_too(citizen: User, how: str) -> None:
    """A token is bound to the password it was issued under, whichever way the password changes."""
    token = bearer_for(citizen)
    if how == "set_password":  # manage.py changepassword, the shell
        citizen.set_password(NEW)
        citizen.save()
    else:
        root = make_user("root@example.ma", is_staff=True, is_superuser=True)
        admin = Client()
        admin.force_login(root)
        response = admin.post(
            f"/admin/tenancy/user/{citizen.pk}/password/",
            {"password1": NEW, "password2": NEW, "usable_password": "true"},
        )
        assert response.status_code == 302
    assert api_status(token) == 401


def test_the_change_page_needs_a_signed_in_account(db: None) -> None:
    response = Client().get("/account/password/")
    assert response.status_code == 302 and "/login/" in response["Location"]
