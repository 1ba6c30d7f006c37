"""Application configurations of third-party apps, as Wasl names them."""

from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class TasksConfig(TasksAppConfig):
    """django-tasks-db's queue, under a translated name in /admin/ (its own is English only)."""

    # Django takes a lazy string; django-tasks-db declares a str.
    verbose_name = _("Background tasks")  # type: ignore[assignment]
