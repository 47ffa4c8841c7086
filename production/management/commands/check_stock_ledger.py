from django.core.management.base import BaseCommand, CommandError

from ventes.selectors import stock_check_ledger


class Command(BaseCommand):
    help = "Vérifie que chaque ligne de stock correspond à son registre (en stock et réservé) ; code non nul sinon."

    def handle(self, *args, **options) -> None:
        drifts = stock_check_ledger()
        for drift in drifts:
            self.stderr.write(str(drift))
        if drifts:
            raise CommandError(f"{len(drifts)} ligne(s) de stock en écart avec leur registre.")
        self.stdout.write("Stock : chaque ligne correspond à son registre.")
