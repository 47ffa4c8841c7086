"""Carts racing for the last room in a slot, on a real PostgreSQL: separate processes, then threads."""

import multiprocessing
from collections import Counter

import pytest
import time_machine
from django.db import connections
from django.db.models import Sum

from production.models import Pizzeria
from production.services import stock_count_inventory
from tests.conftest import ledger_matches_levels
from ventes.exceptions import SlotFull
from ventes.models import Order
from ventes.selectors import checkout_slots, pizzeria_get
from ventes.services import LineRequest

from .helpers import place
from .test_races import AFTERNOON, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_shop(shop):
    """Stock for forty pizzas, and one oven of five pizzas a quarter hour, on an afternoon: the races need the
    slots of a few hours before closing (late at night the asap ones would rightly find no room left)."""
    for name, counted in {"dough": 40, "tomato": 4000, "cheese": 4000, "ham": 3000}.items():
        stock_count_inventory(stock=shop.stock[name], counted=counted)
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=1, pizzas_per_oven=5)
    with time_machine.travel(AFTERNOON, tick=True):
        yield shop


def _racer(shop, slot, quantity, barrier, results, index):
    """One customer in its own process, with its own connection to the database."""
    try:
        barrier.wait(timeout=60)
        place(shop, [LineRequest(shop.margherita.pk, quantity)], requested_for=slot, customer_name=f"Client {index}")
        results.put("ok")
    except SlotFull:
        results.put("full")
    except Exception as error:  # anything else is the failure this test exists to catch
        results.put(repr(error))
    finally:
        connections.close_all()


def slot_load(slot) -> int:
    return Order.objects.filter(slot=slot).exclude(state="cancelled").aggregate(load=Sum("oven_load"))["load"] or 0


def test_processes_racing_for_the_last_room_never_overfill_the_slot(busy_shop):
    slot = checkout_slots(pizzeria=pizzeria_get(pk=busy_shop.pizzeria.pk))[4].at
    place(busy_shop, [LineRequest(busy_shop.margherita.pk, 2)], requested_for=slot)  # 3 places left
    # Twelve carts of one or two pizzas for those three places. Each process opens its own
    # connection: none may inherit this one, so it is closed before they fork.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(12), context.Queue()
    quantities = [1, 2] * 6
    processes = [
        context.Process(target=_racer, args=(busy_shop, slot, quantities[index], barrier, results, index))
        for index in range(12)
    ]
    for process in processes:
        process.start()
    outcomes = Counter(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    assert set(outcomes) == {"ok", "full"}, outcomes
    assert slot_load(slot) <= 5
    # Whoever came first, the slot ends full or one place short (a 2 refused when only 1 was left, no 1 after).
    assert slot_load(slot) >= 4
    placed = Order.objects.filter(slot=slot).count() - 1
    assert outcomes["ok"] == placed and outcomes["full"] == 12 - placed
    assert ledger_matches_levels()


def test_threads_racing_for_asap_spread_over_the_slots_without_overfilling_one(busy_shop):
    outcomes = race(20, lambda i: place(busy_shop, [LineRequest(busy_shop.margherita.pk, 1 + i % 2)]))
    assert outcomes == Counter({"ok": 20})
    loads = Counter()
    for order in Order.objects.all():
        loads[order.slot] += order.oven_load
    assert sum(loads.values()) == 30
    assert max(loads.values()) <= 5 and len(loads) >= 6
    assert ledger_matches_levels()
