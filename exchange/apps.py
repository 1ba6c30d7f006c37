from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = _("Exchange between administrations")

    def ready(self) -> None:
        # Pinned peers keep our register checkpoints: a witness for registry.integrity.
        from exchange.anchors import peers_witness
        from registry.anchors import witness_register

        witness_register("peers", peers_witness)
