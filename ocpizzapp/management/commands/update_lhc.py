from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ocpizzapp.ops.lhc import UpdateError, lhc_apply, lhc_plan, lhc_rollback

DEFAULT_CONTROLLER = settings.BASE_DIR / "deploy" / "update" / "controller.ini"


class Command(BaseCommand):
    help = "Mise à jour catégorique : copie les composants légers et lourds décrits par controller.ini."

    def add_arguments(self, parser):
        parser.add_argument("--controller", type=Path, default=DEFAULT_CONTROLLER)
        parser.add_argument("--bundle", type=Path, help="Dossier des fichiers livrés (par défaut : celui du .ini).")
        parser.add_argument("--project", type=Path, default=settings.BASE_DIR)
        parser.add_argument("--dry-run", action="store_true", help="Affiche ce qui changerait, sans rien écrire.")
        parser.add_argument("--rollback", action="store_true", help="Annule la dernière mise à jour.")

    def handle(self, *args, controller, bundle, project, dry_run, rollback, **options):
        store = Path(settings.BACKUP_DIR) / "lhc"
        try:
            if rollback:
                for change in lhc_rollback(project=project, store=store):
                    verb = "restauré" if change.action == "replace" else "supprimé"
                    self.stdout.write(f"{verb} : {change.destination}")
                return
            changes = lhc_plan(controller=controller, bundle=bundle or controller.parent, project=project)
            for change in changes:
                self.stdout.write(f"[{change.category}] {change.action} : {change.destination}")
            if dry_run:
                self.stdout.write("Simulation : aucun fichier modifié.")
                return
            saved = lhc_apply(changes=changes, project=project, store=store)
        except UpdateError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{len(changes)} fichier(s) mis à jour ; copie pour retour arrière : {saved}")
