"""Accounts, tokens, administrations and the platform admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
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
def test_identifiers_are_masked(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


def test_email_verification_tokens_are_bound_to_the_address(db: None) -> None:
    user = account_register(email="a@example.ma", password="long-enough-pass-1", full_name="A")
    token = email_verification_token(user)
    user.email = "b@example.ma"
    user.save()
    with pytest.raises(TokenInvalid):
        account_verify_email(token=token)
    assert account_verify_email(token=email_verification_token(user)).is_email_verified


def test_api_tokens_expire_and_are_stored_hashed(db: None) -> None:
    user = make_user()
    issued = api_token_issue(email=user.email.upper(), password=PASSWORD)
    assert issued is not None
    _user, raw = issued
    assert api_token_user(raw) == user
    assert raw not in str(list(user.api_tokens.values_list("key_hash", flat=True)))
    user.api_tokens.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_user(raw) is None
    assert api_token_issue(email=user.email, password="wrong") is None


def test_a_deactivated_account_loses_its_tokens(db: None) -> None:
    user = make_user()
    issued = api_token_issue(email=user.email, password=PASSWORD)
    assert issued is not None
    _user, raw = issued
    user.is_active = False
    user.save()
    assert api_token_user(raw) is None


def test_a_service_parent_must_belong_to_the_same_administration(
    commune: Administration, elsewhere: Administration
) -> None:
    foreign = Service.objects.create(administration=elsewhere, code="F", name_ar="f", name_fr="f")
    with pytest.raises(ValueError):
        service_create(actor=None, administration=commune, code="X", name_ar="x", name_fr="x", parent=foreign)


def test_platform_admin_manages_administrations_in_the_django_admin(db: None, clerk: User) -> None:
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


def _user_change_form(client: Client, user: User, membership: dict[str, str]) -> dict[str, str]:
    """The user's admin page as the browser sends it back, with one membership added."""
    page = client.get(f"/admin/tenancy/user/{user.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: "" if value is None else str(value) for name, value in form.initial.items() if name in form.fields}
    data.update({"full_name": user.full_name, "kind": user.kind, "language": user.language or "ar"})
    for flag in ("is_active", "is_staff", "is_superuser"):
        data.pop(flag, None)
        if getattr(user, flag):
            data[flag] = "on"
    data.pop("email_verified_at", None)
    data.pop("password", None)
    (formset,) = [inline.formset for inline in page.context["inline_admin_formsets"]]
    prefix = formset.prefix
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0"})
    data.update({f"{prefix}-MAX_NUM_FORMS": "1000", **{f"{prefix}-0-{k}": v for k, v in membership.items()}})
    return data


def test_a_platform_admin_gives_a_user_a_role_from_the_users_page(
    commune: Administration, elsewhere: Administration, citizen: User
) -> None:
    """The user's page names the administration of each membership (it once had no such field: 500)."""
    admin = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    client = Client()
    client.force_login(admin)
    foreign = Service.objects.create(administration=elsewhere, code="F", name_ar="f", name_fr="f")
    refused = client.post(
        f"/admin/tenancy/user/{citizen.pk}/change/",
        _user_change_form(
            client,
            citizen,
            {"administration": str(commune.pk), "role": "agent", "service": str(foreign.pk), "is_active": "on"},
        ),
    )
    assert refused.status_code == 200
    assert not refused.context["adminform"].form.errors
    (formset,) = [inline.formset for inline in refused.context["inline_admin_formsets"]]
    assert [set(errors) for errors in formset.errors] == [{"service"}]
    assert not citizen.memberships.exists()

    own = commune.services.get(code="SG")
    saved = client.post(
        f"/admin/tenancy/user/{citizen.pk}/change/",
        _user_change_form(
            client,
            citizen,
            {"administration": str(commune.pk), "role": "agent", "service": str(own.pk), "is_active": "on"},
        ),
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    membership = citizen.memberships.get()
    assert (membership.administration, membership.role, membership.service) == (commune, "agent", own)
    granted = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_GRANTED, subject_user=citizen)
    assert (granted.actor, granted.administration, granted.data["role"]) == (admin, commune, "agent")


def test_a_role_withdrawn_or_deleted_in_the_admin_is_in_the_audit_trail(commune: Administration, clerk: User) -> None:
    """The admin's inline forms are a second way to change roles: they leave the same rows."""
    admin = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    client = Client()
    client.force_login(admin)
    membership = clerk.memberships.get()
    page = client.get(f"/admin/tenancy/user/{clerk.pk}/change/")
    data = _user_change_form(client, clerk, {})
    (formset,) = [inline.formset for inline in page.context["inline_admin_formsets"]]
    prefix = formset.prefix
    row = {"id": str(membership.pk), "user": str(clerk.pk), "administration": str(commune.pk), "role": "clerk"}
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "1"})
    data.update({f"{prefix}-0-{key}": value for key, value in row.items()})  # is_active left out: unticked
    assert client.post(f"/admin/tenancy/user/{clerk.pk}/change/", data).status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active
    revoked = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_REVOKED, subject_user=clerk)
    assert (revoked.actor, revoked.data["role"]) == (admin, "clerk")

    data[f"{prefix}-0-DELETE"] = "on"
    assert client.post(f"/admin/tenancy/user/{clerk.pk}/change/", data).status_code == 302
    assert not clerk.memberships.exists()
    deleted = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, subject_user=clerk).latest("pk")
    assert deleted.data["deleted"] is True and deleted.object_id == str(membership.pk)


def test_the_registers_are_read_only_in_the_admin(db: None) -> None:
    admin = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/registry/correspondence/").status_code == 200
    assert client.get("/admin/registry/correspondence/add/").status_code == 403
