"""Cron queues the scheduled work; the task worker does it, once, even when the task runs twice."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from production.models import DailyReport
from tests.queue import run_queued_tasks
from tests.ventes.helpers import place
from ventes.models import Order, OrderState

pytestmark = pytest.mark.django_db


def test_the_expiry_job_queues_the_work_and_the_worker_cancels_unpaid_orders(shop, settings):
    order = place(shop, payment_method="online_card")
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=31))
    call_command("cron_job", "expire_payments")
    assert Order.objects.get(pk=order.pk).state == OrderState.PENDING_PAYMENT  # cron only queued it
    row = DBTaskResult.objects.get()
    assert row.task_path == "ocpizzapp.tasks.unpaid_orders_expire"
    row_twice = DBTaskResult.objects.create(
        args_kwargs=row.args_kwargs,
        task_path=row.task_path,
        queue_name=row.queue_name,
        backend_name=row.backend_name,
        run_after=row.run_after,
        priority=row.priority,
    )
    run_queued_tasks()
    assert Order.objects.get(pk=order.pk).state == OrderState.CANCELLED
    assert [DBTaskResult.objects.get(pk=pk).return_value for pk in (row.pk, row_twice.pk)] == [1, 0]


def test_the_daily_update_is_queued_and_reports_on_the_day_cron_asked_for(shop, mailoutbox):
    call_command("cron_job", "cyclic_update")
    row = DBTaskResult.objects.get()
    assert row.task_path == "ocpizzapp.tasks.daily_update_run"
    asked = datetime.datetime.fromisoformat(row.args_kwargs["kwargs"]["at"])
    # The worker may take it after midnight: the report is still about the day before cron's run.
    run_queued_tasks()
    yesterday = timezone.localdate(asked) - datetime.timedelta(days=1)
    assert DailyReport.objects.filter(day=yesterday).count() == 2
    assert DBTaskResult.objects.get().return_value["day"] == yesterday.isoformat()
