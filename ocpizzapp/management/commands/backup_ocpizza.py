from django.core.management.base import BaseCommand, CommandError

from ocpizzapp.ops.backup import BackupError, backup_run


class Command(BaseCommand):
    help = "Sauvegarde cyclique : base et médias, purge des anciennes, exercice de restauration."

    def handle(self, *args, **options):
        try:
            result = backup_run()
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Sauvegarde vérifiée : {result.database_file} ({result.tables} tables, {result.rows} lignes), "
            f"médias : {result.media_file or 'aucun (pas de dossier des médias)'}"
        )
