"""Check an archive of the sales journal offline: its seal, its files, every row's hash and link."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ventes.archives import ArchiveInvalid, archive_verify


class Command(BaseCommand):
    help = "Vérifie une archive du journal des ventes (sceau, empreintes, chaînage), sans la base de données."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="fichier .zip écrit par export_archive")

    def handle(self, *args, archive, **options):
        key = settings.ARCHIVE_SIGNING_KEY
        if not key:
            raise CommandError("Donnez la clé de l'archive dans ARCHIVE_SIGNING_KEY.")
        try:
            manifest = archive_verify(Path(archive).read_bytes(), key=key)
        except (ArchiveInvalid, OSError) as error:
            raise CommandError(f"Archive NON conforme : {error}") from None
        journal, closings = manifest["journal"], manifest["closings"]
        first, last = manifest["period"]
        self.stdout.write(
            f"Archive conforme : {manifest['pizzeria']['name']}, du {first} au {last}, "
            f"{journal['count']} écritures, {closings['count']} clôtures."
        )
