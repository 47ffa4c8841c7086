from django.core.management.base import BaseCommand, CommandError

from ocpizzapp.ops.deploylog import deploy_log_line
from ocpizzapp.ops.verify import CHECKS, verify_deployment


class Command(BaseCommand):
    help = "Vérifie que tout est en place ; une ligne CORRECT / ERROR par point, au format de deploy_logs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip",
            action="append",
            default=[],
            choices=sorted(CHECKS),
            help="Point à ne pas vérifier (ex. cron sur Heroku, qui n'a pas de crontab).",
        )

    def handle(self, *args, skip, **options):
        results = verify_deployment(skip=frozenset(skip))
        for result in results:
            self.stdout.write(deploy_log_line(event=result.event, ok=result.ok))
            if result.detail:
                self.stdout.write(f"    {' '.join(result.detail.split())}")
        failed = [result.event for result in results if not result.ok]
        if failed:
            raise CommandError(f"Déploiement incomplet : {', '.join(failed)}")
