"""Accounts, tokens, administrations and the platform admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tenancy.models import Administration, Service, User
from tenancy.selectors import mask_identifier
from tenancy.services import (
    TokenInvalid,
    account_register,
    account_verify_email,
    api_token_issue,
    api_token_user,
    email_verification_token,
    service_create,
)
from tenancy.testing import PASSWORD, make_user


@pytest.mark.parametrize(
    ("value", "masked"), [("AB123456", "AB****56"), ("001234567000089", "00***********89"), ("", ""), ("A12", "***")]
)
def test_identifiers_are_masked(value, masked):
    assert mask_identifier(value) == masked


def test_email_verification_tokens_are_bound_to_the_address(db):
    user = account_register(email="a@example.ma", password="long-enough-pass-1", full_name="A")
    token = email_verification_token(user)
    user.email = "b@example.ma"
    user.save()
    with pytest.raises(TokenInvalid):
        account_verify_email(token=token)
    assert account_verify_email(token=email_verification_token(user)).is_email_verified


def test_api_tokens_expire_and_are_stored_hashed(db):
    user = make_user()
    issued = api_token_issue(email=user.email.upper(), password=PASSWORD)
    assert issued is not None
    _user, raw = issued
    assert api_token_user(raw) == user
    assert raw not in str(list(user.api_tokens.values_list("key_hash", flat=True)))
    user.api_tokens.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_user(raw) is None
    assert api_token_issue(email=user.email, password="wrong") is None


def test_a_deactivated_account_loses_its_tokens(db):
    user = make_user()
    _user, raw = api_token_issue(email=user.email, password=PASSWORD)
    user.is_active = False
    user.save()
    assert api_token_user(raw) is None


def test_a_service_parent_must_belong_to_the_same_administration(commune, elsewhere):
    foreign = Service.objects.create(administration=elsewhere, code="F", name_ar="f", name_fr="f")
    with pytest.raises(ValueError):
        service_create(actor=None, administration=commune, code="X", name_ar="x", name_fr="x", parent=foreign)


def test_platform_admin_manages_administrations_in_the_django_admin(db, clerk):
    admin = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    client = Client()
    client.force_login(admin)
    for url in (
        "/admin/",
        "/admin/tenancy/administration/",
        "/admin/tenancy/administration/add/",
        "/admin/tenancy/user/",
    ):
        assert client.get(url).status_code == 200, url
    response = client.post(
        "/admin/tenancy/administration/add/",
        {
            "code": "CHAMBRE-CASA",
            "kind": "chamber",
            "name_ar": "غرفة التجارة",
            "name_fr": "Chambre de commerce",
            "name_zgh": "",
            "is_active": "on",
            **{
                f"{prefix}-{key}": value
                for prefix in ("services", "memberships")
                for key, value in {
                    "TOTAL_FORMS": "0",
                    "INITIAL_FORMS": "0",
                    "MIN_NUM_FORMS": "0",
                    "MAX_NUM_FORMS": "1000",
                }.items()
            },
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Administration.objects.filter(code="CHAMBRE-CASA").exists()
    staff_client = Client()
    staff_client.force_login(clerk)
    assert staff_client.get("/admin/").status_code == 302  # staff of an administration is not a platform admin


def test_the_registers_are_read_only_in_the_admin(db):
    admin = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/registry/correspondence/").status_code == 200
    assert client.get("/admin/registry/correspondence/add/").status_code == 403
