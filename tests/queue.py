"""Run the tasks queued by the code under test, in this process, as the worker would run them.

For tests that look at what a task does; the worker itself (its process, its
recovery, many of them at once) is exercised for real in tests/ops/test_worker.py.
"""

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_queued_tasks(*, limit: int = 100) -> int:
    """Run every task that is due, including those they queue; returns how many ran. A failed task fails the test."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    ran = 0
    while (result := DBTaskResult.objects.ready().first()) is not None:
        result.claim("test")
        worker.run_task(result)
        result.refresh_from_db()
        assert result.status == "SUCCESSFUL", result.traceback
        ran += 1
        assert ran <= limit, "tasks keep queueing tasks"
    return ran
