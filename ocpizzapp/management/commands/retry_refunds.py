from django.core.management.base import BaseCommand
from django.utils import timezone

from ventes.payments import refunds_retry_due


class Command(BaseCommand):
    help = "Retente les remboursements Stripe qui ont échoué et dont la prochaine tentative est due."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"{refunds_retry_due(now=timezone.now())} remboursement(s) effectué(s).")
