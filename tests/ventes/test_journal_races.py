"""Many orders of one pizzeria completed at once, on a real PostgreSQL: the journal's chain never forks."""

import datetime
import itertools
import threading

import pytest
from django.db import connection
from django.utils import timezone

from production.services import stock_restock
from tests import factories
from ventes.closings import closings_make, closings_verify
from ventes.journal import journal_verify
from ventes.models import Closing, JournalEntry, OrderState
from ventes.workflow import order_transition

from .helpers import place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_racing_completions_append_one_unbroken_chain(shop):
    for name, quantity in {"dough": 30, "tomato": 2000, "cheese": 3000}.items():
        stock_restock(stock=shop.stock[name], quantity=quantity)
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    orders = [place(shop, customer_name=f"Client {i}") for i in range(24)]
    for order in orders:
        for state in (OrderState.PREPARING, OrderState.READY):
            order_transition(order_id=order.pk, to_state=state, by=manager)
    barrier = threading.Barrier(len(orders))
    errors = []

    def hand_over(order_id):
        try:
            barrier.wait()
            order_transition(order_id=order_id, to_state=OrderState.COMPLETED, by=manager)
        except Exception as error:  # any failure is what this test exists to catch
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_over, args=(order.pk,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    entries = list(JournalEntry.objects.filter(pizzeria=shop.pizzeria).order_by("sequence"))
    assert [entry.sequence for entry in entries] == list(range(1, 49))
    # One sale then its payment per order, and every row chained onto the one before it.
    assert len({entry.previous_hash for entry in entries}) == 48
    assert all(later.previous_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    assert sorted(entry.order_id for entry in entries if entry.kind == "sale") == sorted(order.pk for order in orders)
    # Receipts are numbered with the sales, behind the same lock: 1 to 24, none twice, none missed.
    assert sorted(entry.receipt_number for entry in entries if entry.kind == "sale") == list(range(1, 25))
    assert journal_verify(pizzeria=shop.pizzeria).is_intact


def test_racing_closings_close_each_day_once(shop):
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    for _ in range(3):
        order = place(shop)
        for state in (OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED):
            order_transition(order_id=order.pk, to_state=state, by=manager)
    tomorrow = timezone.now() + datetime.timedelta(days=2)
    barrier = threading.Barrier(6)
    made, errors = [], []

    def close():
        try:
            barrier.wait()
            made.append(len(closings_make(pizzeria_id=shop.pizzeria.pk, now=tomorrow)))
        except Exception as error:  # any failure is what this test exists to catch
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    # One run closed the days that ended (today's till day, and the next one), the others found them closed.
    assert sorted(made) == [0, 0, 0, 0, 0, max(made)] and max(made) >= 1
    assert Closing.objects.filter(pizzeria=shop.pizzeria).count() == max(made)
    assert closings_verify(pizzeria=shop.pizzeria).broken_sequence is None
