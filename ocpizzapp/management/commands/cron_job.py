from django.core.management.base import BaseCommand

from ocpizzapp import cron

JOBS = {
    "cyclic_update": cron.cyclic_update,
    "cyclic_backup": cron.cyclic_backup,
    "expire_payments": cron.expire_payments,
    "retry_refunds": cron.retry_refunds,
    "close_periods": cron.close_periods,
    "purge_guest_data": cron.purge_guest_data,
    "watch_kitchens": cron.watch_kitchens,
}


class Command(BaseCommand):
    help = "Lance une tâche planifiée comme cron le ferait (verrou, maintenance, Sentry) : pour Heroku Scheduler."

    def add_arguments(self, parser):
        parser.add_argument("job", choices=sorted(JOBS))

    def handle(self, *args, job, **options):
        JOBS[job]()
        self.stdout.write(f"Tâche {job} terminée.")
