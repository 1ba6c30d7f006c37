from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Running Wasl: the server launcher, the worker and its periodic jobs, the demo seed."""

    name = "operations"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from operations import checks  # noqa: F401  (registers the database's system check)
