"""Food cost: ingredient prices with their history, each product's recipe cost and margin, the cost of waste."""

import datetime
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from production.exceptions import InvalidCost
from production.models import IngredientCost
from production.selectors import product_margins, waste_costs
from production.services import ingredient_cost_set, stock_record_waste
from tests import factories

DAY = datetime.date(2026, 11, 2)


@pytest.fixture
def priced(shop):
    """Bastille's ingredients priced as suppliers quote them: per piece, per kilo."""
    ingredient = {name: line.ingredient for name, line in shop.stock.items()}
    ingredient_cost_set(ingredient=ingredient["dough"], price=Decimal("0.40"), valid_from=DAY)
    ingredient_cost_set(ingredient=ingredient["tomato"], price=Decimal("3.00"), valid_from=DAY)
    ingredient_cost_set(ingredient=ingredient["cheese"], price=Decimal("12.00"), valid_from=DAY)
    ingredient_cost_set(ingredient=ingredient["beer"], price=Decimal("1.10"), valid_from=DAY)
    return ingredient


def margin_of(margins, product):
    return next(line for line in margins if line.product == product)


def test_a_price_per_kilo_is_stored_per_gram_and_a_second_one_that_day_replaces_it(priced):
    ingredient_cost_set(ingredient=priced["cheese"], price=Decimal("13.00"), valid_from=DAY)
    (cost,) = IngredientCost.objects.filter(ingredient=priced["cheese"])
    assert cost.unit_cost == Decimal("0.013")


def test_each_product_margin_matches_the_figures_by_hand(shop, priced):
    margins = product_margins(day=DAY)

    margherita = margin_of(margins, shop.margherita)
    # 9.50 TTC at 10 % VAT = 8.64 HT; 1 dough (0.40) + 80 g tomato (0.24) + 100 g mozzarella (1.20) = 1.84.
    assert (margherita.price_excl_vat, margherita.recipe_cost, margherita.margin) == (
        Decimal("8.64"),
        Decimal("1.84"),
        Decimal("6.80"),
    )
    assert round(margherita.food_cost_rate, 3) == Decimal("0.213")
    beer = margin_of(margins, shop.beer)  # 4.50 TTC at 20 % = 3.75 HT, one bottle 1.10
    assert (beer.price_excl_vat, beer.recipe_cost, beer.margin) == (Decimal("3.75"), Decimal("1.10"), Decimal("2.65"))
    regina = margin_of(margins, shop.regina)  # its ham has no price yet: said, not taken for free silently
    assert regina.missing == ("ham",) and regina.recipe_cost == Decimal("1.84")


def test_a_new_price_counts_from_its_day_and_not_before(shop, priced):
    ingredient_cost_set(ingredient=priced["cheese"], price=Decimal("15.00"), valid_from=DAY + datetime.timedelta(7))

    assert margin_of(product_margins(day=DAY + datetime.timedelta(6)), shop.margherita).recipe_cost == Decimal("1.84")
    assert margin_of(product_margins(day=DAY + datetime.timedelta(7)), shop.margherita).recipe_cost == Decimal("2.14")
    assert margin_of(product_margins(day=DAY - datetime.timedelta(1)), shop.margherita).missing == (
        "cheese",
        "dough",
        "tomato",
    )


def test_waste_is_valued_at_the_price_of_its_day(shop, priced):
    today = timezone.localdate()
    ingredient_cost_set(ingredient=priced["cheese"], price=Decimal("20.00"), valid_from=today + datetime.timedelta(1))
    stock_record_waste(stock=shop.stock["cheese"], quantity=200, note="tombé")  # 200 g at 12 €/kg
    stock_record_waste(stock=shop.stock["ham"], quantity=50)  # no price: counted apart

    bastille, montmartre = waste_costs(since=today, until=today)

    assert (bastille.pizzeria, bastille.cost, bastille.uncosted) == (shop.pizzeria, Decimal("2.40"), 1)
    assert (montmartre.cost, montmartre.uncosted) == (Decimal("0.00"), 0)
    assert waste_costs(since=today + datetime.timedelta(1), until=today + datetime.timedelta(2))[0].cost == 0


@pytest.mark.parametrize("price", [Decimal("-1"), Decimal("NaN"), 12.5, "12"])
def test_a_price_that_is_not_a_positive_amount_writes_nothing(priced, price):
    with pytest.raises(InvalidCost):
        ingredient_cost_set(ingredient=priced["ham"], price=price, valid_from=DAY)
    assert not IngredientCost.objects.filter(ingredient=priced["ham"]).exists()


# The managers' screen


@pytest.fixture
def manager(db):
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


def test_managers_read_margins_and_waste_and_enter_a_price_with_a_comma(
    client, shop, priced, manager, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("production:food_cost"))
    html = unescape(page.content.decode())
    assert "Coûts matière et marges" in html and "Margherita" in html and "sans prix : ham" in html

    response = client.post(
        reverse("production:ingredient_cost"),
        {"cost-ingredient": priced["ham"].pk, "cost-price": "18,50", "cost-valid_from": DAY.isoformat()},
        follow=True,
    )
    assert "ham : prix enregistré à partir du 02/11/2026." in unescape(response.content.decode())
    assert IngredientCost.objects.get(ingredient=priced["ham"]).unit_cost == Decimal("0.0185")


def test_the_page_costs_the_same_queries_whatever_the_menu_size(client, shop, priced, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    url = reverse("production:food_cost")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(20):
        product = factories.ProductFactory(name=f"Pizza {index}", pizzerias=[shop.pizzeria])
        factories.RecipeLineFactory(product=product, ingredient=priced["cheese"], quantity=90)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"cost-price": "12", "cost-valid_from": "2026-11-02"}, "ingredient", "Ce champ est obligatoire."),
        (
            {"cost-ingredient": "HAM", "cost-price": "-3", "cost-valid_from": "2026-11-02"},
            "price",
            "supérieure ou égale à 0",
        ),
        (
            {"cost-ingredient": "HAM", "cost-price": "douze", "cost-valid_from": "2026-11-02"},
            "price",
            "Saisissez un montant",
        ),
        (
            {"cost-ingredient": "HAM", "cost-price": "12", "cost-valid_from": "demain"},
            "valid_from",
            "Saisissez une date",
        ),
    ],
)
def test_bad_input_is_answered_beside_its_field_and_writes_nothing(client, shop, priced, manager, data, field, message):
    client.force_login(manager)
    data = {key: str(priced["ham"].pk) if value == "HAM" else value for key, value in data.items()}
    before = IngredientCost.objects.count()

    response = client.post(reverse("production:ingredient_cost"), data)

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert message in html.split(f'id="id_cost-{field}_error"', 1)[1].split("</ul>", 1)[0]
    assert IngredientCost.objects.count() == before


def test_only_managers_see_costs(client, shop):
    client.force_login(factories.StaffMemberFactory(role="pizzaiolo", pizzeria=shop.pizzeria).user)
    assert client.get(reverse("production:food_cost")).status_code == 403
    response = client.post(reverse("production:ingredient_cost"), {"cost-price": "1"})
    assert response.status_code == 403
    assert not IngredientCost.objects.exists()
