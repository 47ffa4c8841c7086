"""Scheduled jobs: run once across every app server, skip during maintenance,
and never hide a failure.

Cron may start the same job on several servers at the same minute; a
PostgreSQL advisory lock lets the first one work and the others skip. SQLite
runs on one machine only, where django-crontab's file lock is enough.
"""

import enum
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sentry_sdk
from django.db import connection
from maintenance_mode.core import get_maintenance_mode

logger = logging.getLogger("ocpizzapp.jobs")

# Namespace of our advisory locks, so that they cannot collide with another
# application's locks on the same PostgreSQL server.
LOCK_NAMESPACE = 0x0C_B12A


class JobOutcome(enum.StrEnum):
    DONE = "done"
    LOCKED = "locked"
    MAINTENANCE = "maintenance"


def job_lock_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def advisory_lock(*, name: str) -> Iterator[bool]:
    """Yield whether this process holds the job's lock; release it on exit."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = job_lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, key])


def run_job(*, name: str, work: Callable[[], object]) -> JobOutcome:
    """Run ``work`` once for the whole chain; errors are logged, sent to Sentry and raised."""
    try:
        return _run_once(name=name, work=work)
    except Exception as error:
        logger.exception("job %s failed", name)
        sentry_sdk.capture_exception(error)
        raise


def _run_once(*, name: str, work: Callable[[], object]) -> JobOutcome:
    if get_maintenance_mode():
        logger.info("job %s skipped: maintenance mode is on", name)
        return JobOutcome.MAINTENANCE
    with advisory_lock(name=name) as acquired:
        if not acquired:
            logger.info("job %s skipped: another server is running it", name)
            return JobOutcome.LOCKED
        logger.info("job %s started", name)
        work()
        logger.info("job %s done", name)
        return JobOutcome.DONE
