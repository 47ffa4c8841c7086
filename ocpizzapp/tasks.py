"""Scheduled work, run by the task worker: cron (ocpizzapp/cron.py) only queues it.

Each task is idempotent: the daily update writes the same reports and sends no
second alert when run twice; expiring unpaid orders twice expires them once.
"""

import datetime

from django_tasks import task

from ventes.closings import closings_make_all
from ventes.pace import kitchens_busy_when_late
from ventes.payments import refunds_retry_due
from ventes.privacy import guests_forget
from ventes.services import orders_expire_unpaid

from .ops.daily import daily_update


@task()
def unpaid_orders_expire(*, at: str) -> int:
    return orders_expire_unpaid(now=datetime.datetime.fromisoformat(at))


@task()
def daily_update_run(*, at: str) -> dict[str, object]:
    """``at``: when cron asked for it, so that a late worker still reports on the right day."""
    result = daily_update(now=datetime.datetime.fromisoformat(at))
    return {"day": result.day.isoformat(), "expired": result.expired_orders, "alerts": result.alerts_sent}


@task()
def refunds_retry(*, at: str) -> int:
    """Refunds whose next try is due at ``at``; a refund made is never asked twice (its idempotency key)."""
    return refunds_retry_due(now=datetime.datetime.fromisoformat(at))


@task()
def periods_close(*, at: str) -> int:
    """Closings (Z, month, year) of every period ended at ``at``; a period already closed is left as it is."""
    return closings_make_all(now=datetime.datetime.fromisoformat(at))


@task()
def guest_data_purge(*, at: str) -> int:
    """Guests' details out of their orders GUEST_DATA_MONTHS after them; an order already purged is left alone."""
    return guests_forget(now=datetime.datetime.fromisoformat(at))


@task()
def kitchens_watch(*, at: str) -> list[str]:
    """Busy mode in the kitchens running late at ``at``; one already busy is left as it is."""
    return [pizzeria.slug for pizzeria in kitchens_busy_when_late(now=datetime.datetime.fromisoformat(at))]
