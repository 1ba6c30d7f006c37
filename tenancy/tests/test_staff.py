"""Staff of an administration: invitation and role withdrawal, each with its audit rows."""

from __future__ import annotations

import pytest
from django.core import mail
from pytest_django import DjangoCaptureOnCommitCallbacks

from audit.models import AuditAction, AuditEvent
from tenancy.models import Administration, Membership, User
from tenancy.services import StaffRefused, staff_invite, staff_role_revoke
from tenancy.testing import make_service

Role = Membership.Role


def test_a_person_without_an_account_is_invited_and_given_the_role(
    commune: Administration, commune_admin: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    urb = make_service(commune, "URB")
    with django_capture_on_commit_callbacks(execute=True):
        membership, invited = staff_invite(
            actor=commune_admin,
            administration=commune,
            email="  New.Clerk@Commune.ma ",
            full_name=" Nouveau ",
            role=Role.CLERK,
            service=urb,
        )
    newcomer = User.objects.get(email="new.clerk@commune.ma")
    assert invited and membership.user == newcomer and not newcomer.has_usable_password()
    assert (membership.role, membership.service, newcomer.full_name) == (Role.CLERK, urb, "Nouveau")
    actions = list(AuditEvent.objects.filter(subject_user=newcomer).order_by("pk").values_list("action", "actor"))
    assert actions == [
        (AuditAction.ACCOUNT_REGISTERED, commune_admin.pk),
        (AuditAction.MEMBERSHIP_GRANTED, commune_admin.pk),
    ]
    assert [m.to for m in mail.outbox] == [["new.clerk@commune.ma"]]
    assert commune.name_ar in mail.outbox[0].body and "/account/reset/" in mail.outbox[0].body


def test_a_person_with_an_account_gets_the_role_and_no_invitation(
    commune: Administration,
    commune_admin: User,
    citizen: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        membership, invited = staff_invite(
            actor=commune_admin, administration=commune, email=citizen.email, full_name="", role=Role.AGENT
        )
    assert not invited and membership.user == citizen and mail.outbox == []
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_REGISTERED, actor=commune_admin).exists()


def test_a_new_person_without_a_name_is_refused_and_nothing_is_made(
    commune: Administration, commune_admin: User
) -> None:
    with pytest.raises(StaffRefused) as refused:
        staff_invite(actor=commune_admin, administration=commune, email="x@commune.ma", full_name=" ", role=Role.CLERK)
    assert refused.value.field == "full_name"
    assert not User.objects.filter(email="x@commune.ma").exists()


def test_a_role_is_withdrawn_with_its_audit_row(commune: Administration, commune_admin: User, clerk: User) -> None:
    membership = Membership.objects.get(user=clerk, administration=commune)
    staff_role_revoke(actor=commune_admin, membership=membership)
    membership.refresh_from_db()
    assert not membership.is_active
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED, subject_user=clerk).exists()


def test_an_administrator_cannot_withdraw_their_own_administrator_role(
    commune: Administration, commune_admin: User
) -> None:
    own = Membership.objects.get(user=commune_admin, administration=commune, role=Role.ADMIN)
    with pytest.raises(StaffRefused) as refused:
        staff_role_revoke(actor=commune_admin, membership=own)
    assert refused.value.code == "own_admin_role"
    own.refresh_from_db()
    assert own.is_active and not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REVOKED).exists()
