"""Running Wasl: the demo seed and the periodic jobs (the launcher: test_serve.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
from pytest_django import Settings

from operations.demo import DEMO_ACCOUNTS, DEMO_SIGNING_PASSPHRASE, DemoRefused, seed_demo
from operations.jobs import Job, run_due
from parapheur.certificates import current_certificate, unlock
from tenancy.models import Administration, Membership, User

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_is_seeded_once_and_only_in_demo_mode(db: None, settings: Settings) -> None:
    settings.DEMO = False
    with pytest.raises(DemoRefused):
        seed_demo()
    assert not User.objects.exists()
    settings.DEMO = True
    first = seed_demo()
    again = seed_demo()
    assert first["administrations"] >= 2 and again == {
        "administrations": 0,
        "services": 0,
        "accounts": 0,
        "procedures": 0,
        "circuits": 0,
        "held_documents": 0,
    }
    assert first["circuits"] == 1 and first["held_documents"] == 1
    assert Administration.objects.filter(code="COMMUNE-DEMO").exists()
    roles = set(Membership.objects.filter(administration__code="COMMUNE-DEMO").values_list("role", flat=True))
    assert roles == set(Membership.Role.values)
    citizen = User.objects.get(email="citizen@demo.ma")
    assert citizen.check_password("demo-citizen-2026") and citizen.is_email_verified
    # The demo signatory can sign with the passphrase the README gives.
    signatory = User.objects.get(email="signatory@demo.ma")
    assert unlock(
        current_certificate(signatory, Administration.objects.get(code="COMMUNE-DEMO")), DEMO_SIGNING_PASSPHRASE
    )
    assert f"`{DEMO_SIGNING_PASSPHRASE}`" in (ROOT / "README.md").read_text()


def test_the_demo_passwords_are_stretched_fully_at_their_first_sign_in(db: None, settings: Settings) -> None:
    """Published in the README, they are stored stretched lightly (seeding the demo took ~8 s of
    an installation's full stretching); the first sign-in stores them as any other password."""
    settings.DEMO = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    seed_demo()
    agent = User.objects.get(email="agent@demo.ma")
    assert agent.password.startswith("pbkdf2_sha256$1000$")
    client = Client()
    assert client.post("/login/", {"username": "agent@demo.ma", "password": "demo-agent-2026"}).status_code == 302
    agent.refresh_from_db()
    assert agent.password.startswith(f"pbkdf2_sha256${PBKDF2PasswordHasher.iterations}$")
    assert agent.check_password("demo-agent-2026") and not agent.check_password("demo-agent-2027")


def test_the_readme_lists_every_demo_account() -> None:
    readme = (ROOT / "README.md").read_text()
    for account in DEMO_ACCOUNTS:
        assert f"`{account.email}` | `{account.password}`" in readme, account.email


def test_periodic_jobs_run_when_due_and_survive_failures(db: None) -> None:
    calls: list[str] = []

    def boom() -> None:
        calls.append("boom")
        raise RuntimeError("failure")

    jobs = [Job("ok", 10, lambda: calls.append("ok")), Job("boom", 10, boom)]
    run_due(jobs, now=100)
    run_due(jobs, now=105)
    run_due(jobs, now=111)
    assert calls == ["ok", "boom", "ok", "boom"]


def test_jobs_that_found_nothing_to_do_stay_out_of_the_log(caplog: pytest.LogCaptureFixture, db: None) -> None:
    # db: after each job run_due recycles the database connection, which a test may only touch
    # with database access (the connection a previous test's fixture left open, say).
    from operations.jobs import Job, run_due

    jobs = [
        Job("idle", 2, lambda: 0),
        Job("idle peers", 2, lambda: {"requests": 0, "answers": 0}),
        Job("busy", 2, lambda: {"requests": 0, "answers": 3}),
    ]
    with caplog.at_level(logging.INFO, logger="operations.jobs"):
        run_due(jobs, now=0.0)
    assert [record.getMessage() for record in caplog.records] == ["job busy: {'requests': 0, 'answers': 3}"]
