from django.core.management.base import BaseCommand

from ocpizzapp.ops.daily import daily_update


class Command(BaseCommand):
    help = (
        "Mise à jour cyclique quotidienne : commandes impayées, rapports de la veille, "
        "alertes et registre de stock, sessions."
    )

    def handle(self, *args, **options):
        result = daily_update()
        self.stdout.write(
            f"Mise à jour du {result.day:%d/%m/%Y} : {result.expired_orders} commande(s) expirée(s), "
            f"{result.reports} rapport(s), {result.alerts_sent} alerte(s) de stock envoyée(s), "
            f"{result.ledger_drifts} ligne(s) de stock en écart avec leur registre."
        )
