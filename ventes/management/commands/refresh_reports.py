"""Sum again the reports' facts of a period from its orders: after an import, or for the days before the reports
existed (the daily update writes each day that ends)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from ventes.reports import facts_refresh_period


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date invalide : {value!r} (attendu AAAA-MM-JJ).") from None


class Command(BaseCommand):
    help = "Recalcule les chiffres des rapports (toutes les pizzerias) pour les journées de caisse d'une période."

    def add_arguments(self, parser):
        parser.add_argument("start", help="premier jour de caisse, AAAA-MM-JJ")
        parser.add_argument("end", help="dernier jour de caisse, AAAA-MM-JJ")

    def handle(self, *args, start, end, **options):
        first, last = _day(start), _day(end)
        if last < first:
            raise CommandError("La fin de la période précède son début.")
        days = facts_refresh_period(since=first, until=last)
        self.stdout.write(f"Rapports du {first} au {last} recalculés : {days} journée(s) de pizzeria.")
