from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ocpizzapp.ops.backup import BackupError, backup_path, backup_restore


class Command(BaseCommand):
    help = "Restaure la base depuis une sauvegarde, après l'avoir essayée dans une base de test."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="Nom dans le dossier des sauvegardes (BACKUP_DIR) ou chemin du fichier.")

    def handle(self, *args, backup, **options):
        path = Path(backup) if Path(backup).is_file() else backup_path(backup)
        try:
            backup_restore(path=path)
        except BackupError as error:
            raise CommandError(f"{error} — restauration refusée, la base n'a pas été modifiée.") from error
        self.stdout.write(f"Base restaurée depuis {path.name}.")
