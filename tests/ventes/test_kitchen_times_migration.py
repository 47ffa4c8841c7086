"""ventes 0020: the orders already past the kitchen get the kitchen and oven times their history gives."""

import datetime
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from production.models import StaffMember
from tests import factories
from ventes.models import Order, OrderEvent, OrderState
from ventes.workflow import order_transition

from .helpers import place

pytestmark = pytest.mark.django_db
S = OrderState
migration = importlib.import_module("ventes.migrations.0020_order_dashboard_day")


def test_orders_past_the_kitchen_get_their_times_from_their_history(shop):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    served, waiting, taken_back = place(shop), place(shop), place(shop)
    now = timezone.now()
    for order in (served, taken_back):
        OrderEvent.objects.filter(order=order).update(at=now - datetime.timedelta(minutes=25))
        order_transition(order_id=order.pk, to_state=S.PREPARING, by=pizzaiolo)
        OrderEvent.objects.filter(order=order, to_state=S.PREPARING).update(at=now - datetime.timedelta(minutes=10))
        order_transition(order_id=order.pk, to_state=S.READY, by=pizzaiolo)
    order_transition(order_id=served.pk, to_state=S.COMPLETED, by=manager)
    order_transition(order_id=taken_back.pk, to_state=S.PREPARING, by=pizzaiolo)
    kept = Order.objects.get(pk=served.pk)
    Order.objects.update(kitchen_seconds=None, oven_seconds=None)

    migration.orders_keep_kitchen_times(apps, SimpleNamespace(connection=connection))

    times = {pk: (k, o) for pk, k, o in Order.objects.values_list("pk", "kitchen_seconds", "oven_seconds")}
    moved_at = dict(OrderEvent.objects.filter(order=served).order_by("at").values_list("to_state", "at"))
    ready = moved_at[S.READY]
    # To the hundredth: SQLite's julianday() keeps milliseconds of each time.
    assert times[served.pk][0] == pytest.approx((ready - moved_at[S.RECEIVED]).total_seconds(), abs=0.01)
    assert times[served.pk][1] == pytest.approx((ready - moved_at[S.PREPARING]).total_seconds(), abs=0.01)
    # As the move itself kept them, but for the instant: the move reads the clock before its event is written.
    assert times[served.pk][0] == pytest.approx(kept.kitchen_seconds, abs=1)
    assert times[served.pk][1] == pytest.approx(kept.oven_seconds, abs=1)
    assert times[served.pk][0] == pytest.approx(25 * 60, abs=5)
    assert times[waiting.pk] == times[taken_back.pk] == (None, None)


def test_the_orders_are_vacuumed_after_a_thousand_changes_on_postgresql():
    """The dashboard reads the day from indexes alone only on rows vacuumed since they changed (ventes 0021)."""
    if connection.vendor != "postgresql":
        pytest.skip("autovacuum is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Order._meta.db_table])
        (options,) = cursor.fetchone()
    assert "autovacuum_vacuum_threshold=1000" in options
    assert "autovacuum_vacuum_insert_threshold=1000" in options
