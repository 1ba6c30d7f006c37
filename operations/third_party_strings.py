"""Strings that third-party apps show in /admin/ and translate with gettext, but whose own
catalogues have no Arabic, French or Amazigh: listed here so that ``makemessages`` keeps them in
Wasl's catalogue (it drops any msgid it finds in none of our sources). Nothing imports this."""

from django.utils.translation import gettext_noop

# django-tasks-db: the task queue's model and fields (django_tasks_db/models.py).
DJANGO_TASKS_DB = [
    gettext_noop("Task Result"),
    gettext_noop("Task Results"),
    gettext_noop("status"),
    gettext_noop("enqueued at"),
    gettext_noop("started at"),
    gettext_noop("finished at"),
    gettext_noop("args kwargs"),
    gettext_noop("priority"),
    gettext_noop("task path"),
    gettext_noop("worker id"),
    gettext_noop("queue name"),
    gettext_noop("backend name"),
    gettext_noop("run after"),
    gettext_noop("return value"),
    gettext_noop("exception class path"),
    gettext_noop("traceback"),
]
