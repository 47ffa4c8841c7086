"""Entry points of CRONJOBS (settings.py), run by ``manage.py crontab run``.

django-crontab's runner catches every exception (even SystemExit), logs it and
exits 0, so cron would never see a failure. These entry points report the
error themselves and leave with a non-zero status.
"""

import logging
import os
import sys

import sentry_sdk
from django.core.management import call_command

from .jobs import run_job

logger = logging.getLogger("ocpizzapp.jobs")


def _run_or_exit(*, name: str, command: str) -> None:
    try:
        run_job(name=name, work=lambda: call_command(command))
    except Exception:
        # run_job has already logged the error and handed it to Sentry.
        sentry_sdk.flush(timeout=5)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def cyclic_update() -> None:
    _run_or_exit(name="cyclic_update", command="update_ocpizza")


def cyclic_backup() -> None:
    _run_or_exit(name="cyclic_backup", command="backup_ocpizza")


def expire_payments() -> None:
    _run_or_exit(name="expire_payments", command="expire_unpaid_orders")


def retry_refunds() -> None:
    _run_or_exit(name="retry_refunds", command="retry_refunds")
