import os
import socket

from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from ocpizzapp.worker import Heartbeat, worker_took_task


class Worker(db_worker.Worker):
    """django-tasks-db's worker with a heartbeat: the ops check sees it; if it dies, the others requeue its tasks."""

    def run(self) -> None:
        heartbeat = Heartbeat(worker_id=self.worker_id)
        heartbeat.start()
        try:
            super().run()
        finally:
            heartbeat.stopped.set()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        worker_took_task(worker_id=self.worker_id, now=timezone.now())
        super().run_task(db_task_result)


class Command(db_worker.Command):
    help = "Exécute les tâches en file (notifications, rapports...) ; autant de workers que voulu, sur tout serveur."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        # A readable id (host and process) that stays unique across servers: the heartbeat table shows who is who.
        default_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"
        parser.set_defaults(worker_id=default_id)

    def handle(self, *args, **options) -> None:
        self.configure_logging(options["verbosity"])
        worker = Worker(
            queue_names=options["queue_name"].split(","),
            excluded_queue_names=[name for name in options["exclude_queues"].split(",") if name],
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
        )
        # No autoreload (--reload is ignored): a task cut by a reload would only run again after WORKER_LOST_SECONDS.
        worker.configure_signals()
        worker.run()
