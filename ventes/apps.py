from django.apps import AppConfig


class VentesConfig(AppConfig):
    name = "ventes"
    verbose_name = "Ventes"

    def ready(self) -> None:
        # The payments settle a cancelled order: the workflow announces the cancel without importing them.
        from . import payments, signals

        signals.order_cancelled.connect(payments.order_cancelled_settle, dispatch_uid="ventes.payments.settle")
