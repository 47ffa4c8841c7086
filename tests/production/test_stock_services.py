import pytest

from production.exceptions import InvalidStockQuantity, NotEnoughStock
from production.models import Pizzeria, StockMovement
from production.services import (
    pizzeria_set_accepting_orders,
    stock_count_inventory,
    stock_record_waste,
    stock_restock,
)
from tests.conftest import ledger_matches_levels

pytestmark = pytest.mark.django_db


def test_restock_waste_and_inventory_write_the_ledger(shop, django_user_model):
    manager = django_user_model.objects.create_user(email="boss@ocpizza.fr")
    stock = shop.stock["cheese"]
    stock_restock(stock=stock, quantity=500, by=manager, note="livraison")
    stock_record_waste(stock=stock, quantity=200, by=manager, note="tombé")
    stock_count_inventory(stock=stock, counted=1450, by=manager)
    assert shop.level("cheese") == 1450
    kinds = list(
        StockMovement.objects.filter(stock=stock, by=manager).values_list("kind", "on_hand_delta").order_by("pk")
    )
    assert kinds == [("restock", 500), ("waste", -200), ("inventory", -50)]
    assert ledger_matches_levels()


def test_inventory_equal_to_level_writes_nothing(shop):
    before = StockMovement.objects.count()
    stock_count_inventory(stock=shop.stock["ham"], counted=300)
    assert StockMovement.objects.count() == before


@pytest.mark.parametrize("quantity", [0, -5, "12", 1.5, True, None])
def test_bad_quantities_are_refused_and_change_nothing(shop, quantity):
    before = StockMovement.objects.count()
    with pytest.raises(InvalidStockQuantity):
        stock_restock(stock=shop.stock["ham"], quantity=quantity)
    with pytest.raises(InvalidStockQuantity):
        stock_record_waste(stock=shop.stock["ham"], quantity=quantity)
    assert StockMovement.objects.count() == before
    assert shop.level("ham") == 300


def test_negative_inventory_refused(shop):
    with pytest.raises(InvalidStockQuantity):
        stock_count_inventory(stock=shop.stock["ham"], counted=-1)


def test_cannot_waste_more_than_there_is(shop):
    with pytest.raises(NotEnoughStock) as error:
        stock_record_waste(stock=shop.stock["ham"], quantity=301)
    assert "il n'y en a que 300 g en stock" in error.value.message
    assert shop.level("ham") == 300
    assert ledger_matches_levels()


def test_pause_and_resume(shop):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)
    assert not Pizzeria.objects.get(pk=shop.pizzeria.pk).accepting_orders
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=True)
    assert Pizzeria.objects.get(pk=shop.pizzeria.pk).accepting_orders
