from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = "Exchange"

    def ready(self) -> None:
        # Pinned peers keep our register checkpoints: a witness for registry.integrity.
        from exchange.anchors import peers_witness
        from registry.anchors import witness_register

        witness_register("peers", peers_witness)
