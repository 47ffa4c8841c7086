from django.db import models


class MaintenanceState(models.Model):
    """The one row holding the maintenance switch, shared by every app server."""

    value = models.CharField(max_length=200, default="0")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "mode maintenance"

    def __str__(self):
        return self.value


class WorkerHeartbeat(models.Model):
    """A task worker's sign of life, written by the worker itself every few seconds.

    ``verify_deployment`` reads it, and a worker whose heartbeat stopped has the
    tasks it was running handed back to the queue by the others.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    last_task_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "worker de tâches"

    def __str__(self):
        return f"{self.worker_id} ({self.host})"
