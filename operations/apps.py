from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running Wasl: the server launcher, the worker and its periodic jobs, the demo seed."""

    name = "operations"

    def ready(self) -> None:
        from operations import checks  # noqa: F401  (registers the database's system check)
