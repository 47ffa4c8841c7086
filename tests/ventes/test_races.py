"""Orders racing for the last portions, on a real PostgreSQL."""

import datetime
import threading
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction

from production.exceptions import SoldOut
from production.services import stock_count_inventory
from tests.conftest import ledger_matches_levels
from tests.ops.servers import wait_until
from ventes.models import Order, OrderState
from ventes.services import LineRequest

from .helpers import place

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


# The races place orders for now: on an afternoon, as late in the evening a crowd of them would rightly find no room
# in the kitchen before closing.
AFTERNOON = datetime.datetime(2026, 11, 24, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))


def race(count, attempt):
    """Run ``attempt(i)`` in ``count`` threads released at the same instant, on an afternoon."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def run(index):
        try:
            barrier.wait()
            attempt(index)
            outcomes[index] = "ok"
        except SoldOut:
            outcomes[index] = "sold_out"
        except Exception as error:  # anything else is the failure this test exists to catch
            outcomes[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    with time_machine.travel(AFTERNOON, tick=True):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return Counter(outcomes)


def test_thirty_two_orders_for_the_last_five_pizzas(shop):
    stock_count_inventory(stock=shop.stock["ham"], counted=300)  # exactly 5 Regina
    outcomes = race(32, lambda i: place(shop, [LineRequest(shop.regina.pk, 1)], customer_name=f"Client {i}"))
    assert outcomes == Counter({"ok": 5, "sold_out": 27})
    assert shop.figures("ham") == (300, 300)
    assert Order.objects.filter(state=OrderState.RECEIVED).count() == 5
    assert ledger_matches_levels()


def test_racing_orders_over_shared_ingredients_never_deadlock(shop):
    """Regina and Margherita share dough, tomato and cheese: 10 doughs for 40 buyers of either."""
    products = [shop.regina.pk, shop.margherita.pk]
    outcomes = race(
        40,
        lambda i: place(
            shop,
            [LineRequest(products[i % 2], 1), LineRequest(shop.beer.pk, 1)]
            if i % 3
            else [LineRequest(products[i % 2], 2)],
        ),
    )
    assert set(outcomes) <= {"ok", "sold_out"}, outcomes
    dough = shop.level("dough")
    assert shop.figures("dough")[0] == 10
    pizzas = sum(
        line.quantity
        for order in Order.objects.prefetch_related("lines")
        for line in order.lines.all()
        if line.product_id in products
    )
    assert pizzas == 10 - dough
    assert ledger_matches_levels()


def test_numbers_stay_unique_under_load(shop):
    outcomes = race(20, lambda i: place(shop, [LineRequest(shop.beer.pk, 1)]))
    assert outcomes == Counter({"ok": 20})
    numbers = list(Order.objects.values_list("daily_sequence", flat=True))
    assert sorted(numbers) == list(range(1, 21))


def test_customer_cancel_racing_the_kitchen_start(shop):
    """One of the two wins; the other is told the order moved, and nothing is half-done."""
    from production.models import StaffMember
    from tests import factories
    from ventes.exceptions import IllegalTransition
    from ventes.workflow import order_transition

    customer = factories.CustomerFactory()
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    for _ in range(5):
        order = place(shop, customer=customer)
        outcomes = {}
        barrier = threading.Barrier(2)

        def move(name, target, user, order_id=order.pk, outcomes=outcomes, barrier=barrier):
            try:
                barrier.wait()
                order_transition(order_id=order_id, to_state=target, by=user)
                outcomes[name] = "ok"
            except IllegalTransition as error:
                outcomes[name] = error.message
            finally:
                connection.close()

        threads = [
            threading.Thread(target=move, args=("cancel", OrderState.CANCELLED, customer.user)),
            threading.Thread(target=move, args=("start", OrderState.PREPARING, pizzaiolo)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes.values()).count("ok") == 1, outcomes
        final = Order.objects.get(pk=order.pk)
        loser = "start" if outcomes["cancel"] == "ok" else "cancel"
        assert "Impossible" in outcomes[loser]
        assert final.events.count() == 2
        held = final.state == OrderState.PREPARING
        # An order in the oven has consumed its dough; a cancelled one gave it back.
        assert shop.figures("dough") == (10 - Order.objects.filter(state=OrderState.PREPARING).count(), 0)
        assert held or final.cancel_reason == "customer"
    assert ledger_matches_levels()


def test_twin_calls_with_one_idempotency_key_for_two_pizzerias_place_one_order(shop):
    """The second call cannot see the first's order behind its pizzeria's lock: the unique key stops it."""
    inserted, release, numbers = threading.Event(), threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                numbers["first"] = place(shop, idempotency_key="form-token").number
                inserted.set()
                release.wait(60)
        finally:
            connection.close()

    def second():
        try:
            numbers["second"] = place(shop, pizzeria_id=shop.other_pizzeria.pk, idempotency_key="form-token").number
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert inserted.wait(60)
    threads[1].start()
    wait_until(_someone_waits_on_a_lock, what="the second call waiting on the first's key")
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert numbers["second"] == numbers["first"]
    assert Order.objects.count() == 1
    assert ledger_matches_levels()


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
