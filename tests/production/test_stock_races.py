"""The shelf's two figures under concurrent orders, counts, starts and cancels, on a real PostgreSQL.

Each racer runs in its own thread with its own database connection (its own
PostgreSQL backend), all released at the same instant.
"""

import contextlib

import pytest

from production.exceptions import NotEnoughStock
from production.services import stock_count_inventory, stock_record_waste
from tests import factories
from tests.conftest import ledger_matches_levels
from ventes.exceptions import IllegalTransition
from ventes.models import Order, OrderLine, OrderState
from ventes.services import LineRequest
from ventes.workflow import order_transition

from ..ventes.helpers import place
from ..ventes.test_races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = OrderState


def _regina_sold():
    return sum(
        OrderLine.objects.filter(
            product_name="Regina", order__state__in=[S.RECEIVED, S.PREPARING, S.READY]
        ).values_list("quantity", flat=True)
    )


def test_counts_of_the_shelf_racing_orders_for_its_last_portions_never_oversell(shop):
    """300 g of ham make 5 Regina. A manager counting those 300 g while orders come must not make room for more."""
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    for _ in range(2):  # already in the queue: their 120 g are still on the shelf, and counted with it
        place(shop, [LineRequest(shop.regina.pk, 1)])

    def attempt(index):
        if index % 5 == 0:
            stock_count_inventory(stock=shop.stock["ham"], counted=300, by=manager, note=f"compte {index}")
        elif index % 7 == 0:
            with contextlib.suppress(NotEnoughStock):  # only what no order holds may go
                stock_record_waste(stock=shop.stock["ham"], quantity=1, by=manager)
        else:
            place(shop, [LineRequest(shop.regina.pk, 1)], customer_name=f"Client {index}")

    outcomes = race(40, attempt)
    assert set(outcomes) <= {"ok", "sold_out"}, outcomes
    on_hand, reserved = shop.figures("ham")
    assert reserved == 60 * _regina_sold()
    assert _regina_sold() <= 5
    assert 0 <= reserved <= on_hand <= 300
    assert ledger_matches_levels()


def test_the_last_portions_while_the_kitchen_starts_and_a_customer_cancels(shop):
    """Three orders hold 180 g of 300: new orders race for the last 120 g while the kitchen starts them."""
    pizzaiolo = factories.StaffMemberFactory(role="pizzaiolo", pizzeria=shop.pizzeria).user
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    waiting = [place(shop, [LineRequest(shop.regina.pk, 1)]).pk for _ in range(3)]

    def attempt(index):
        try:
            if index < 3:
                order_transition(order_id=waiting[index], to_state=S.PREPARING, by=pizzaiolo)
            elif index == 3:  # races the start of the first one: one of the two wins
                order_transition(order_id=waiting[0], to_state=S.CANCELLED, by=manager, cancel_reason="too_busy")
            else:
                place(shop, [LineRequest(shop.regina.pk, 1)], customer_name=f"Client {index}")
        except IllegalTransition:
            return

    outcomes = race(30, attempt)
    assert set(outcomes) <= {"ok", "sold_out"}, outcomes
    started = Order.objects.filter(state=S.PREPARING).count()
    received = Order.objects.filter(state=S.RECEIVED).count()
    assert _regina_sold() == started + received <= 5
    assert shop.figures("ham") == (300 - 60 * started, 60 * received)
    assert shop.figures("dough") == (10 - started, received)
    assert ledger_matches_levels()
