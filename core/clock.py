"""The one clock of the application; tests may freeze it by patching :func:`now`."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
