"""Scheduled jobs: run once across every app server, skip during maintenance,
and never hide a failure.

Cron may start the same job on several servers at the same minute, and a job
may still be running when its next turn comes: a lock lets the first one
work and the others skip. The lock belongs to the deployment's database, so
two deployments on one host (or one PostgreSQL server) never block each
other: on PostgreSQL an advisory lock (advisory locks are per database), on
SQLite (one machine only) a file lock named after the database file.

django-crontab's own lock (CRONTAB_LOCK_JOBS) is off: its file,
``/tmp/django_crontab_<hash of the job>.lock``, is the same for every
deployment on the host, so a second deployment's job was skipped in silence.
"""

import enum
import fcntl
import hashlib
import logging
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import sentry_sdk
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
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
def _advisory_lock(name: str) -> Iterator[bool]:
    """Hold the lock on a connection of its own, outside Django's connection handling.

    A session lock lives as long as the session that took it; the job's own
    connection is not ours to keep (django-dbbackup closes it, Django closes
    connections past CONN_MAX_AGE or broken ones), and losing it silently
    released the lock mid-job.
    """
    link = connection.get_new_connection(connection.get_connection_params())
    with closing(link):
        link.autocommit = True
        with link.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, job_lock_key(name)])
            yield bool(cursor.fetchone()[0])
        # Closing the session releases its advisory locks: nothing else to undo.


def job_lock_file(name: str) -> Path:
    """The lock file of job ``name`` for this deployment's SQLite database."""
    database = str(connection.settings_dict["NAME"])
    wrapper = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: ``connection`` is a proxy to it
    if isinstance(wrapper, SQLiteDatabaseWrapper) and wrapper.is_in_memory_db():
        # A memory database lives and dies with its process: so does its lock.
        database = f"{database} of process {os.getpid()}"
    digest = hashlib.sha256(database.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ocpizza-job-{digest}-{name}.lock"


@contextmanager
def _file_lock(name: str) -> Iterator[bool]:
    with open(job_lock_file(name), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
        # Closing the file releases the lock.


@contextmanager
def job_lock(*, name: str) -> Iterator[bool]:
    """Yield whether this process holds job ``name``'s lock for this deployment; release it on exit."""
    lock = _advisory_lock if connection.vendor == "postgresql" else _file_lock
    with lock(name) as acquired:
        yield acquired


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
    with job_lock(name=name) as acquired:
        if not acquired:
            logger.info("job %s skipped: another server is running it", name)
            return JobOutcome.LOCKED
        logger.info("job %s started", name)
        work()
        logger.info("job %s done", name)
        return JobOutcome.DONE
