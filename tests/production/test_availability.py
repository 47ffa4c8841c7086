import pytest

from production.selectors import availability_of, product_availability
from production.services import stock_count_inventory
from tests import factories

pytestmark = pytest.mark.django_db


def test_availability_is_the_minimum_over_the_recipe(shop):
    availability = product_availability(pizzeria_id=shop.pizzeria.pk)
    # dough 10 → 10, tomato 1000/80 → 12, cheese 1200/100 → 12, ham 300/60 → 5
    assert availability[shop.margherita.pk].can_make == 10
    assert availability[shop.margherita.pk].limiting_ingredient == "dough"
    assert availability[shop.regina.pk].can_make == 5
    assert availability[shop.regina.pk].limiting_ingredient == "ham"
    assert availability[shop.beer.pk].can_make == 24


def test_sold_out_and_low(shop):
    stock_count_inventory(stock=shop.stock["ham"], counted=59)
    regina = product_availability(pizzeria_id=shop.pizzeria.pk)[shop.regina.pk]
    assert regina.sold_out and regina.limiting_ingredient == "ham"
    stock_count_inventory(stock=shop.stock["ham"], counted=120)
    regina = product_availability(pizzeria_id=shop.pizzeria.pk)[shop.regina.pk]
    assert regina.is_low(threshold=5) and not regina.sold_out


def test_an_ingredient_not_stocked_here_means_none_can_be_made(shop):
    truffle = factories.IngredientFactory(name="truffe")
    factories.RecipeLineFactory(product=shop.margherita, ingredient=truffle, quantity=5)
    availability = product_availability(pizzeria_id=shop.pizzeria.pk)[shop.margherita.pk]
    assert (availability.can_make, availability.limiting_ingredient) == (0, "truffe")


def test_product_without_recipe_is_unlimited(shop):
    coffee = factories.ProductFactory(name="Café", pizzerias=[shop.pizzeria])
    availability = product_availability(pizzeria_id=shop.pizzeria.pk)
    assert availability_of(availability, coffee.pk).can_make is None
    assert not availability_of(availability, coffee.pk).sold_out


def test_other_pizzerias_stock_does_not_count(shop):
    stock_count_inventory(stock=shop.stock["dough"], counted=0)
    assert product_availability(pizzeria_id=shop.pizzeria.pk)[shop.margherita.pk].can_make == 0
    assert product_availability(pizzeria_id=shop.other_pizzeria.pk)[shop.margherita.pk].can_make == 10


def test_whole_menu_in_one_query_whatever_its_size(shop, django_assert_num_queries):
    with django_assert_num_queries(1):
        small = product_availability(pizzeria_id=shop.pizzeria.pk)
    for _ in range(40):
        product = factories.ProductFactory(pizzerias=[shop.pizzeria])
        for name in ("dough", "tomato", "cheese"):
            factories.RecipeLineFactory(product=product, ingredient=shop.stock[name].ingredient, quantity=10)
    with django_assert_num_queries(1):
        large = product_availability(pizzeria_id=shop.pizzeria.pk)
    assert len(small) == 3 and len(large) == 43
