"""The task worker's life signs, and what the others do when one dies.

django-tasks-db's worker takes ready task rows with SKIP LOCKED and marks
them RUNNING, but a worker killed mid-task (OOM, SIGKILL, a server lost)
leaves its rows RUNNING for ever. Each worker here writes a heartbeat from a
thread of its own; rows RUNNING under a worker whose heartbeat stopped for
WORKER_LOST_SECONDS are made READY again and run by another worker. Every task
is idempotent, so running one a second time is safe.
"""

import datetime
import logging
import os
import socket
import threading

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat

logger = logging.getLogger("ocpizzapp.worker")


def worker_beat(*, worker_id: str, started_at: datetime.datetime, now: datetime.datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": socket.gethostname(), "pid": os.getpid(), "started_at": started_at, "seen_at": now},
    )


def worker_took_task(*, worker_id: str, now: datetime.datetime) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_task_at=now, seen_at=now)


@transaction.atomic
def tasks_requeue_lost(*, now: datetime.datetime) -> int:
    """Hand back to the queue the tasks left RUNNING by workers that stopped beating; returns how many."""
    alive_since = now - datetime.timedelta(seconds=settings.WORKER_LOST_SECONDS)
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=alive_since).values_list("worker_id", flat=True))
    # A row claimed a moment ago by a worker that has not beaten yet is not lost.
    running = DBTaskResult.objects.running().filter(started_at__lt=alive_since).select_for_update(skip_locked=True)
    lost = [result for result in running if not result.worker_ids or result.worker_ids[-1] not in alive]
    for result in lost:
        logger.warning(
            "task %s (%s) of lost worker %s is queued again",
            result.pk,
            result.task_path,
            result.worker_ids[-1] if result.worker_ids else "?",
        )
        result.status = TaskResultStatus.READY
        result.save(update_fields=["status"])
    WorkerHeartbeat.objects.filter(seen_at__lt=now - datetime.timedelta(days=1)).delete()
    return len(lost)


class Heartbeat(threading.Thread):
    """Beats, and requeues the tasks of dead workers, every WORKER_HEARTBEAT_SECONDS, until the process ends."""

    def __init__(self, *, worker_id: str) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                now = timezone.now()
                worker_beat(worker_id=self.worker_id, started_at=self.started_at, now=now)
                tasks_requeue_lost(now=now)
            except Exception:
                # The database may be away for a moment: the worker's own loop says so too; keep beating.
                logger.exception("worker %s could not beat", self.worker_id)
                connection.close()
            self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS)
        connection.close()
