"""The task queue in /admin/, its labels translated (django-tasks-db's own are partly English only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    list_display = (
        "identifier",
        "task_label",
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "priority",
        "queue_name",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: DBTaskResult[Any, Any] | None = None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        fields[fields.index("id")] = "identifier"
        return fields

    @admin.display(description=_("identifier"), ordering="id")
    def identifier(self, obj: DBTaskResult[Any, Any]) -> str:
        return str(obj.id)

    @admin.display(description=_("task"), ordering="task_path")
    def task_label(self, obj: DBTaskResult[Any, Any]) -> str:
        # The task's path: its name would import it, and a task removed since fails to.
        return str(obj.task_path)

    @admin.display(description=_("traceback"))
    def formatted_traceback(self, obj: DBTaskResult[Any, Any]) -> str:
        return super().formatted_traceback(obj)

    @admin.display(description=_("run after"))
    def display_run_after(self, obj: DBTaskResult[Any, Any]) -> datetime | str:
        return super().display_run_after(obj)
