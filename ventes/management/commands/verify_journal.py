"""Recompute every pizzeria's sales journal chain; non-zero exit naming the first broken row."""

from django.core.management.base import BaseCommand, CommandError

from ventes.journal import journal_verify_all


class Command(BaseCommand):
    help = "Vérifie le chaînage du journal des ventes de chaque pizzeria et nomme la première écriture altérée."

    def handle(self, *args, **options):
        broken = []
        for check in journal_verify_all():
            if check.broken is None:
                name, rows = check.pizzeria.name, check.rows
                self.stdout.write(f"{name} : {rows} écritures, chaîne intacte ({check.last_hash}).")
                continue
            line = f"{check.pizzeria.name} : écriture n° {check.broken.sequence} : {check.broken.reason}."
            self.stderr.write(line)
            broken.append(line)
        if broken:
            raise CommandError(f"Journal des ventes altéré ({len(broken)} pizzeria(s)).")
