"""The outbox in /admin/: e-mail kept without SMTP, read by platform administrators.

Read-only: a list (date, recipients, subject; a search by recipient or subject), a page per
message (its text decoded with links whole and clickable, the HTML part as text, the
attachments as downloadable files) and the whole message as an .eml file. Only a user with
``core.view_outboxmessage`` (superusers) gets any of it; anyone else signed in gets the same
"not found" page whatever the address, so the outbox tells them nothing, not even whether a
message exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from core.bidi import direction_of
from core.mail import smtp_configured
from core.models import OutboxMessage
from core.outbox import outbox_entries, outbox_message, outbox_part, outbox_raw

PAGE_SIZE = 100
# Types offered as themselves (a receipt opens as a PDF); anything else is plain bytes. Every
# file is sent as an attachment, so none is shown inside the site's own pages.
DOWNLOAD_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv"})


@admin.register(OutboxMessage)
class OutboxAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and self.has_view_permission(request))

    def _guard(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        """The admin's own protection (sign-in, CSRF, no caching), and a 404 for whoever is
        signed in without the permission."""
        protected = self.admin_site.admin_view(view)

        @never_cache
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not self._allowed(request):
                raise Http404
            return protected(request, *args, **kwargs)

        return guarded

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("", self._guard(self.list_view), name=f"{name}_changelist"),
            path("<str:key>/", self._guard(self.message_view), name=f"{name}_change"),
            path("<str:key>/message.eml", self._guard(self.raw_view), name=f"{name}_raw"),
            path("<str:key>/part/<int:index>/", self._guard(self.part_view), name=f"{name}_part"),
        ]

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "smtp": smtp_configured(),
            "outbox_days": settings.EMAIL_OUTBOX_DAYS,
            **extra,
        }

    def list_view(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.get("q", "")[:200]
        number = request.GET.get("page", "1")
        # ASCII digits only ("²".isdigit() is true, and int() refuses it), and few of them.
        page_number = int(number) if re.fullmatch(r"[0-9]{1,9}", number) and int(number) > 0 else 1
        entries, total = outbox_entries(query=query, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        if page_number > 1 and not entries:
            raise Http404
        paginator = Paginator(range(total), PAGE_SIZE)
        context = self._context(
            request,
            title=_("Outbox"),
            entries=entries,
            total=total,
            query=query,
            page=paginator.get_page(page_number),
        )
        return TemplateResponse(request, "admin/core/outbox/list.html", context)

    def message_view(self, request: HttpRequest, key: str) -> HttpResponse:
        message = outbox_message(key)
        if message is None:
            raise Http404
        context = self._context(
            request,
            title=_("E-mail message"),
            message=message,
            # Set on the block, for its alignment: dir="auto" would not look into the <bdi>.
            text_direction=direction_of(message.text or ""),
        )
        return TemplateResponse(request, "admin/core/outbox/message.html", context)

    def raw_view(self, request: HttpRequest, key: str) -> HttpResponse:
        raw = outbox_raw(key)
        if raw is None:
            raise Http404
        return _download(raw, "message/rfc822", f"{key}.eml")

    def part_view(self, request: HttpRequest, key: str, index: int) -> HttpResponse:
        found = outbox_part(key, index)
        if found is None:
            raise Http404
        filename, content_type, payload = found
        return _download(
            payload, content_type if content_type in DOWNLOAD_TYPES else "application/octet-stream", filename
        )


def _download(payload: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(payload, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    # Opened in a tab anyway, the file runs nothing and reaches nothing of the site.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
