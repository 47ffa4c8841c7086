"""Entry points of CRONJOBS (settings.py), run by ``manage.py crontab run``.

django-crontab's runner catches every exception (even SystemExit), logs it and
exits 0, so cron would never see a failure. These entry points report the
error themselves and leave with a non-zero status.

The daily update and the expiry of unpaid orders are only queued here, for the
task worker (ocpizzapp/tasks.py): cron stays short, the work runs once on
whichever server's worker takes it, and is retried there if that worker dies.
"""

import logging
import os
import sys
from collections.abc import Callable

import sentry_sdk
from django.core.management import call_command
from django.utils import timezone

from . import tasks
from .jobs import run_job

logger = logging.getLogger("ocpizzapp.jobs")


def _run_or_exit(*, name: str, command: str = "", work: Callable[[], object] | None = None) -> None:
    try:
        run_job(name=name, work=work or (lambda: call_command(command)))
    except Exception:
        # run_job has already logged the error and handed it to Sentry.
        sentry_sdk.flush(timeout=5)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def cyclic_update() -> None:
    _run_or_exit(name="cyclic_update", work=lambda: tasks.daily_update_run.enqueue(at=timezone.now().isoformat()))


def cyclic_backup() -> None:
    _run_or_exit(name="cyclic_backup", command="backup_ocpizza")


def expire_payments() -> None:
    _run_or_exit(name="expire_payments", work=lambda: tasks.unpaid_orders_expire.enqueue(at=timezone.now().isoformat()))


def retry_refunds() -> None:
    _run_or_exit(name="retry_refunds", work=lambda: tasks.refunds_retry.enqueue(at=timezone.now().isoformat()))


def close_periods() -> None:
    _run_or_exit(name="close_periods", work=lambda: tasks.periods_close.enqueue(at=timezone.now().isoformat()))


def purge_guest_data() -> None:
    _run_or_exit(name="purge_guest_data", work=lambda: tasks.guest_data_purge.enqueue(at=timezone.now().isoformat()))


def watch_kitchens() -> None:
    _run_or_exit(name="watch_kitchens", work=lambda: tasks.kitchens_watch.enqueue(at=timezone.now().isoformat()))
