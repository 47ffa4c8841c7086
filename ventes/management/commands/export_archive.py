"""Write the sealed archive of a pizzeria's sales journal and closings for a period."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from production.models import Pizzeria
from ventes.archives import ArchiveInvalid, archive_build


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date invalide : {value!r} (attendu AAAA-MM-JJ).") from None


class Command(BaseCommand):
    help = "Écrit l'archive scellée (journal des ventes, clôtures, manifeste signé) d'une pizzeria pour une période."

    def add_arguments(self, parser):
        parser.add_argument("pizzeria", help="code de la pizzeria, ex. BAS")
        parser.add_argument("start", help="premier jour de caisse, AAAA-MM-JJ")
        parser.add_argument("end", help="dernier jour de caisse, AAAA-MM-JJ")
        parser.add_argument("output", help="fichier .zip à écrire")

    def handle(self, *args, pizzeria, start, end, output, **options):
        found = Pizzeria.objects.filter(code=pizzeria).first()
        if found is None:
            raise CommandError(f"Pizzeria inconnue : {pizzeria}.")
        first, last = _day(start), _day(end)
        if last < first:
            raise CommandError("La fin de la période précède son début.")
        try:
            data = archive_build(pizzeria=found, start=first, end=last)
        except ArchiveInvalid as error:
            raise CommandError(str(error)) from None
        Path(output).write_bytes(data)
        self.stdout.write(f"Archive {found.name} du {first} au {last} : {output} ({len(data)} octets).")
