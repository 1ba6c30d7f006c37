from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "trust"

    def ready(self) -> None:
        from trust import checks  # noqa: F401  (registers the PKI's system check)
