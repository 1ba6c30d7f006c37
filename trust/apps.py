from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustConfig(AppConfig):
    name = "trust"
    verbose_name = _("Seals and certificates")

    def ready(self) -> None:
        from trust import checks  # noqa: F401  (registers the PKI's system check)
