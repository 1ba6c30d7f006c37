"""Every link Wasl sends by e-mail points under WASL_PUBLIC_URL (docs/configuration.md), whatever
host name or scheme the request that caused it arrived with: another name Wasl also answers to,
or plain HTTP from a reverse proxy left out of WASL_TRUSTED_PROXIES. A link built from the
request would carry a sign-in token to that host, or over plain HTTP."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from tenancy.models import Administration, User

PUBLIC_URL = "https://wasl.example.ma"


def _links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def _configure(settings: Settings) -> None:
    settings.PUBLIC_URL = PUBLIC_URL
    settings.ALLOWED_HOSTS = ["wasl.example.ma", "other.example.ma", "testserver"]


def test_the_sign_up_confirmation_link_is_under_the_public_url(db: None, settings: Settings) -> None:
    _configure(settings)
    mail.outbox.clear()
    client = Client(HTTP_HOST="other.example.ma")
    response = client.post(
        "/signup/",
        {"full_name": "Zoé", "email": "zoe@example.ma", "kind": "person", "password": "une-phrase-longue-2026"},
    )
    assert response.status_code == 302
    [message] = mail.outbox
    [link] = _links(str(message.body))
    assert link.startswith(f"{PUBLIC_URL}/"), link


def test_the_staff_invitation_link_is_under_the_public_url(
    commune: Administration,
    commune_admin: User,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    _configure(settings)
    mail.outbox.clear()
    client = Client(HTTP_HOST="wasl.example.ma")  # plain HTTP: the proxy is not trusted
    client.force_login(commune_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/desk/{commune.code}/staff/", {"email": "new@commune.ma", "full_name": "Nouveau", "role": "clerk"}
        )
    assert response.status_code == 302
    [message] = mail.outbox
    [link] = _links(str(message.body))
    assert link.startswith(f"{PUBLIC_URL}/account/reset/"), link
