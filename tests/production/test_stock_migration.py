"""production 0005/0006: the one stock level of before becomes two figures that mean the same."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from production.models import Stock, StockMovement
from tests import factories
from ventes.models import OrderState
from ventes.selectors import stock_check_ledger

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_catalogue_revision(monkeypatch):
    """The factories' saves move the catalogue's revision, whose table the schema of 0004 does not have yet."""
    monkeypatch.setattr("production.cache.catalogue_revision_bump", lambda: None)


BEFORE = [("production", "0004_dailyreport")]
S = OrderState


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _old_orders(states):
    """A pizzeria and one order in each state, written with the models of the database as it is
    (today's have columns that later migrations add)."""
    loader = MigrationExecutor(connection).loader
    old = loader.project_state(list(loader.applied_migrations)).apps
    pizzeria = old.get_model("production", "Pizzeria").objects.create(
        name="Bastille",
        slug="bastille",
        code="BAS",
        address="1 rue de Lappe",
        postcode="75011",
        latitude=Decimal("48.853"),
        longitude=Decimal("2.371"),
        phone="01 23 45 67 89",
    )
    Order = old.get_model("ventes", "Order")
    return pizzeria, {
        state: Order.objects.create(
            number=f"BAS-{sequence:03d}",
            pizzeria_id=pizzeria.pk,
            business_date=datetime.date.today(),
            daily_sequence=sequence,
            customer_name="Camille",
            customer_phone="06 12 34 56 78",
            channel="web",
            fulfilment="pickup",
            state=state,
            payment_method="cash",
            subtotal=Decimal("10.00"),
            vat_total=Decimal("0.91"),
            total=Decimal("10.00"),
        )
        for sequence, state in enumerate(states, start=1)
    }


def test_existing_levels_keep_their_meaning_and_the_ledger_explains_them():
    old = _migrate(BEFORE)
    OldStock, OldMovement = old.get_model("production", "Stock"), old.get_model("production", "StockMovement")
    pizzeria, orders = _old_orders(S.values)
    basil, tomato = factories.IngredientFactory(name="basilic"), factories.IngredientFactory(name="tomate")
    # Before: one level, what could still be sold. 400 g were counted; every order reserved some basil.
    basil_line = OldStock.objects.create(pizzeria_id=pizzeria.pk, ingredient_id=basil.pk, quantity=0)
    rows = [("inventory", 400, None)]
    held = {S.PENDING_PAYMENT: 4, S.RECEIVED: 6, S.PREPARING: 10, S.READY: 3, S.COMPLETED: 8, S.CANCELLED: 5}
    rows += [("reservation", -quantity, orders[state].pk) for state, quantity in held.items()]
    rows += [("release", 5, orders[S.CANCELLED].pk)]  # cancelled from the queue: it gave its basil back
    for kind, quantity, order_id in rows:
        OldMovement.objects.create(stock_id=basil_line.pk, kind=kind, quantity=quantity, order_id=order_id)
    OldStock.objects.filter(pk=basil_line.pk).update(quantity=400 - 4 - 6 - 10 - 3 - 8)
    # A level its ledger did not explain (set by hand at some point): 50 for a ledger of 40.
    tomato_line = OldStock.objects.create(pizzeria_id=pizzeria.pk, ingredient_id=tomato.pk, quantity=50)
    OldMovement.objects.create(stock_id=tomato_line.pk, kind="inventory", quantity=40)

    _migrate(_latest())

    basil_line = Stock.objects.get(pk=basil_line.pk)
    # Available is what it was (369); the waiting orders (4 + 6) hold their share of the shelf.
    assert (basil_line.on_hand, basil_line.reserved, basil_line.available) == (379, 10, 369)
    consumed = StockMovement.objects.filter(stock=basil_line, kind=StockMovement.CONSUMPTION)
    assert sorted(consumed.values_list("order__state", "on_hand_delta", "reserved_delta")) == [
        (S.COMPLETED, -8, -8),
        (S.PREPARING, -10, -10),
        (S.READY, -3, -3),
    ]
    assert list(
        StockMovement.objects.filter(stock=basil_line, order__isnull=True).values_list("kind", "on_hand_delta")
    ) == [("inventory", 400)]
    tomato_line = Stock.objects.get(pk=tomato_line.pk)
    assert (tomato_line.on_hand, tomato_line.reserved) == (50, 0)
    assert sorted(StockMovement.objects.filter(stock=tomato_line).values_list("on_hand_delta", flat=True)) == [10, 40]
    assert stock_check_ledger() == []

    # And back: the single level is what was available.
    old = _migrate(BEFORE)
    OldStock = old.get_model("production", "Stock")
    assert OldStock.objects.get(pk=basil_line.pk).quantity == 369
    _migrate(_latest())
    assert Stock.objects.get(pk=basil_line.pk).available == 369
    assert stock_check_ledger() == []
