"""Platform administrators manage administrations, services, staff and accounts here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.models import AuditAction
from audit.services import audit_record
from tenancy.forms import AdminPasswordChangeForm, AdminSetPasswordForm, AdminSignInForm
from tenancy.models import Administration, Membership, Service, User

# The admin's sign-in and password change go through the same limits as the portal's.
admin.site.login_form = AdminSignInForm
admin.site.password_change_form = AdminPasswordChangeForm
# Roles are memberships of an administration (below), never Django groups: no form gives a user a
# group, and a group's page would list every permission in English (Django stores their names so).
admin.site.unregister(Group)
admin.site.site_header = _("Wasl administration")
admin.site.site_title = _("Wasl administration")


class ServiceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Service
    extra = 0
    fields = ["code", "name_ar", "name_fr", "name_zgh", "kind", "parent", "location", "is_active"]


class MembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    """A membership's service is one of its administration's."""

    class Meta:
        model = Membership
        fields = ["user", "administration", "role", "service", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The administration is a field on a user's page; on an administration's page, that page's.
        administration = data.get("administration")
        administration_id = administration.pk if administration else self.instance.administration_id
        service = data.get("service")
        if service is not None and administration_id is not None and service.administration_id != administration_id:
            self.add_error("service", _("Choose a service of this administration."))
        return data


class AuditedMemberships:
    """Roles given, changed or withdrawn on an admin page leave the same audit rows as the desk's
    staff page: ``membership.granted`` for a new, changed or re-activated membership,
    ``membership.revoked`` for one made inactive or deleted."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)  # type: ignore[misc]
            return
        before = {
            m.pk: m for m in Membership.objects.filter(pk__in=[f.instance.pk for f in formset.forms if f.instance.pk])
        }
        with transaction.atomic():
            saved = formset.save(commit=False)
            for membership in formset.deleted_objects:
                _audit_membership(request, membership, AuditAction.MEMBERSHIP_REVOKED, deleted=True)
                membership.delete()
            for membership in saved:
                was = before.get(membership.pk)
                membership.save()
                if membership.is_active:
                    _audit_membership(request, membership, AuditAction.MEMBERSHIP_GRANTED, changed=was is not None)
                elif was is None or was.is_active:
                    _audit_membership(request, membership, AuditAction.MEMBERSHIP_REVOKED)
            formset.save_m2m()


def _audit_membership(request: HttpRequest, membership: Membership, action: AuditAction, **facts: bool) -> None:
    audit_record(
        actor=request.user,
        action=action,
        obj=membership,
        administration=membership.administration,
        subject_user=membership.user,
        data={"role": membership.role, "service": membership.service_id, "page": "admin", **facts},
    )


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    """On an administration's page: who works there, in which role."""

    model = Membership
    form = MembershipForm
    extra = 0
    fields = ["user", "role", "service", "is_active"]
    autocomplete_fields = ["user"]


class UserMembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    """On a user's page: where this person works, so the administration is chosen here."""

    model = Membership
    form = MembershipForm
    extra = 0
    fields = ["administration", "role", "service", "is_active"]


@admin.register(Administration)
class AdministrationAdmin(AuditedMemberships, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name_fr", "name_ar", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name_fr", "name_ar"]
    inlines = [ServiceInline, MembershipInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action=AuditAction.ADMINISTRATION_CHANGED if change else AuditAction.ADMINISTRATION_CREATED,
            obj=obj,
            administration=obj,
        )


@admin.register(User)
class UserAdmin(AuditedMemberships, BaseUserAdmin):  # type: ignore[type-arg]
    ordering = ["email"]
    list_display = ["email", "full_name", "kind", "is_email_verified", "is_staff", "is_active"]
    list_filter = ["kind", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Identity"), {"fields": ["full_name", "kind", "national_id", "company_id", "language"]}),
        (_("Status"), {"fields": ["is_active", "email_verified_at", "is_staff", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ()
    inlines = [UserMembershipInline]
    change_password_form = AdminSetPasswordForm

    @admin.display(boolean=True, description=_("e-mail verified"))
    def is_email_verified(self, obj: User) -> bool:
        return obj.is_email_verified
