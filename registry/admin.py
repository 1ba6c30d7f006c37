"""Registers are read-only everywhere, the admin included: they change only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry.models import Correspondence, RegisterCheckpoint


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Correspondence)
class CorrespondenceAdmin(ReadOnlyAdmin):
    list_display = ["number", "administration", "direction", "channel", "registered_at", "correspondent"]
    list_filter = ["direction", "channel", "administration"]
    search_fields = ["number", "sender_name", "addressee_name", "subject"]
    date_hierarchy = "registered_at"

    @admin.display(description=_("Sender / addressee"))
    def correspondent(self, obj: Correspondence) -> str:
        return obj.correspondent_name


@admin.register(RegisterCheckpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["administration", "position", "head_hash", "created_at", "reason"]
    list_filter = ["administration", "reason"]
