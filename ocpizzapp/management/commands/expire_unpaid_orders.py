from django.core.management.base import BaseCommand

from ventes.services import orders_expire_unpaid


class Command(BaseCommand):
    help = "Annule les commandes en ligne dont le paiement n'est pas arrivé dans le délai."

    def handle(self, *args, **options):
        self.stdout.write(f"{orders_expire_unpaid()} commande(s) impayée(s) annulée(s).")
