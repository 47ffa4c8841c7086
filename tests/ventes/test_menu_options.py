"""Sizes, extras and removed toppings: priced on the server per pizzeria, each line reserving its exact recipe."""

from decimal import Decimal

import pytest

from production.models import MenuOverride
from production.services import stock_count_inventory
from tests import factories
from tests.conftest import ledger_matches_levels
from ventes.exceptions import InvalidOrder
from ventes.models import Order, OrderLine
from ventes.selectors import menu_for, menu_line, menu_line_allergens, order_reorder
from ventes.services import LineRequest, order_edit_lines

from .helpers import place

pytestmark = pytest.mark.django_db


def regina(shop, quantity=1, size=None, extras=(), removals=(), base=()):
    options = [shop.extras[name].pk for name in extras] + [shop.removals[name].pk for name in removals]
    options += [shop.base[name].pk for name in base]
    return LineRequest(
        shop.regina.pk, quantity, size_id=shop.sizes[size].pk if size else None, option_ids=tuple(options)
    )


def nothing_written():
    return not Order.objects.exists() and not OrderLine.objects.exists() and ledger_matches_levels()


# Stock: each line reserves its own recipe


def test_a_configured_order_reserves_exactly_its_recipe(options_shop):
    shop = options_shop
    order = place(shop, [regina(shop, 2, "Grande", extras=["Mozzarella"], removals=["champignons"])])
    # Grande: the recipe × 1.5, without mushrooms, with 50 g × 1.5 more mozzarella; twice.
    assert shop.figures("pâte") == (10_000, 2 * 375)
    assert shop.figures("tomate") == (5_000, 2 * 120)
    assert shop.figures("mozzarella") == (2_000, 2 * (150 + 75))
    assert shop.figures("jambon") == (1_000, 2 * 90)
    assert shop.figures("champignons") == (1_000, 0)
    line = order.lines.get()
    by_name = {name: ingredient.pk for name, ingredient in shop.ingredients.items()}
    assert line.recipe == {
        str(by_name["pâte"]): 375,
        str(by_name["tomate"]): 120,
        str(by_name["mozzarella"]): 225,
        str(by_name["jambon"]): 90,
    }
    assert line.description == "Grande, sans champignons, + mozzarella"
    assert line.size == shop.sizes["Grande"]
    assert [option["name"] for option in line.options] == ["Champignons", "Mozzarella"]
    assert ledger_matches_levels()


def test_two_configurations_of_one_pizza_are_two_lines_and_equal_ones_merge(options_shop):
    shop = options_shop
    order = place(
        shop,
        [regina(shop, 1, extras=["Jambon"]), regina(shop, 1), regina(shop, 2, extras=["Jambon"])],
    )
    assert sorted(order.lines.values_list("description", "quantity")) == [("Moyenne", 1), ("Moyenne, + jambon", 3)]
    assert shop.figures("jambon") == (1_000, 4 * 60 + 3 * 40)


def test_editing_keeps_the_options_and_reserves_only_the_difference(options_shop):
    shop = options_shop
    order = place(shop, [regina(shop, 1, "Grande", extras=["Mozzarella"])])
    line = order.lines.get()
    edited = order_edit_lines(
        order_id=order.pk,
        lines=[
            LineRequest(shop.regina.pk, 1, size_id=line.size_id, option_ids=tuple(line.option_ids)),
            regina(shop, 1, "Moyenne", removals=["mozzarella"]),
        ],
        by=factories.StaffMemberFactory(role="manager", pizzeria=None).user,
    )
    assert sorted(edited.lines.values_list("description", flat=True)) == [
        "Grande, + mozzarella",
        "Moyenne, sans mozzarella",
    ]
    assert shop.figures("mozzarella") == (2_000, 150 + 75)
    assert shop.figures("pâte") == (10_000, 375 + 250)
    assert ledger_matches_levels()


# Money: the server prices every line, per pizzeria


def test_prices_follow_size_options_and_the_pizzerias_own_prices(options_shop):
    shop = options_shop
    MenuOverride.objects.create(
        pizzeria=shop.pizzeria, product=shop.regina, size=shop.sizes["Grande"], price=Decimal("15.90")
    )
    MenuOverride.objects.create(
        pizzeria=shop.pizzeria, product=shop.regina, option=shop.extras["Mozzarella"], price=Decimal("2.00")
    )
    here = place(shop, [regina(shop, 2, "Grande", extras=["Mozzarella", "Champignons"])])
    elsewhere = place(
        shop, [regina(shop, 2, "Grande", extras=["Mozzarella", "Champignons"])], pizzeria_id=shop.other_pizzeria.pk
    )
    assert here.lines.get().unit_price == Decimal("18.90")  # 15.90 + 2.00 + 1.00
    assert here.total == Decimal("37.80")
    assert [(option["name"], option["price"]) for option in here.lines.get().options] == [
        ("Champignons", "1.00"),
        ("Mozzarella", "2.00"),
    ]
    assert elsewhere.lines.get().unit_price == Decimal("17.00")  # the chain's 14.50 + 1.50 + 1.00
    assert here.vat_total == Decimal("3.44")  # 37.80 × 10 / 110


def test_a_product_without_sizes_takes_the_pizzerias_own_price(options_shop):
    shop = options_shop
    MenuOverride.objects.create(pizzeria=shop.pizzeria, product=shop.tiramisu, price=Decimal("5.50"))
    order = place(shop, [LineRequest(shop.tiramisu.pk, 2)])
    assert order.lines.get().unit_price == Decimal("5.50") and order.total == Decimal("11.00")


def test_a_pizza_ordered_without_a_size_comes_in_its_first_one_here(options_shop):
    shop = options_shop
    MenuOverride.objects.create(pizzeria=shop.pizzeria, product=shop.regina, size=shop.sizes["Moyenne"], withdrawn=True)
    line = place(shop, [regina(shop)]).lines.get()
    assert line.size == shop.sizes["Grande"] and line.unit_price == Decimal("14.50")


@pytest.mark.parametrize(
    ("withdraw", "message"),
    [
        ("product", "Un des produits demandés n'est pas à la carte de OC Pizza Bastille en ce moment."),
        ("size", "Regina Grande n'est plus proposée à OC Pizza Bastille."),
        ("option", "L'option « Mozzarella » n'est plus proposée à OC Pizza Bastille."),
    ],
)
def test_a_withdrawn_product_size_or_option_is_refused_and_nothing_written(options_shop, withdraw, message):
    shop = options_shop
    target = {"size": shop.sizes["Grande"], "option": shop.extras["Mozzarella"]}.get(withdraw)
    MenuOverride.objects.create(
        pizzeria=shop.pizzeria, product=shop.regina, withdrawn=True, **({withdraw: target} if target else {})
    )
    with pytest.raises(InvalidOrder) as refused:
        place(shop, [regina(shop, 1, "Grande", extras=["Mozzarella"])])
    assert refused.value.message == message and refused.value.field == "lines"
    assert nothing_written()
    # The other pizzeria still sells it.
    assert place(shop, [regina(shop, 1, "Grande", extras=["Mozzarella"])], pizzeria_id=shop.other_pizzeria.pk)


def test_bad_configurations_are_refused_in_french_and_nothing_written(options_shop):
    shop = options_shop
    other = factories.ProductFactory(name="Margherita", pizzerias=[shop.pizzeria])
    foreign = factories.OptionFactory(group__product=other, name="Olives")
    cases = [
        (
            LineRequest(shop.regina.pk, 1, option_ids=(foreign.pk,)),
            "Une des options choisies n'existe pas pour Regina.",
        ),
        (
            LineRequest(shop.regina.pk, 1, size_id=factories.ProductSizeFactory(product=other).pk),
            "Cette taille n'existe pas pour Regina.",
        ),
        (
            LineRequest(shop.regina.pk, 1, option_ids=(shop.extras["Jambon"].pk, shop.extras["Jambon"].pk)),
            "Une option est choisie deux fois pour Regina.",
        ),
    ]
    extra = shop.extras["Mozzarella"].group
    extra.max_choices = 2
    extra.save()
    cases.append((regina(shop, 1, extras=["Mozzarella", "Jambon", "Champignons"]), "au plus 2 option(s)"))
    base_group = shop.base["crème"].group
    base_group.min_choices = 1
    base_group.save()
    cases.append((regina(shop, 1), "Regina : choisissez au moins 1 option(s) dans « Base »."))
    for line, message in cases:
        with pytest.raises(InvalidOrder) as refused:
            place(shop, [line])
        assert message in refused.value.message
        assert nothing_written()


# What the menu shows follows the recipe of each choice


def test_a_short_extra_is_disabled_not_the_pizza_and_the_badge_follows_the_size(options_shop):
    shop = options_shop
    # 240 g of mozzarella: two Moyennes (100 g), one Grande (150 g); an extra 50 g fits on a Moyenne only.
    stock_count_inventory(stock=shop.stock["mozzarella"], counted=240)
    item = menu_for(pizzeria=shop.pizzeria).items[shop.regina.pk]
    assert not item.sold_out and item.availability.can_make == 2 and item.low
    assert item.availability.limiting_ingredient == "mozzarella"
    assert [(choice.size.name, choice.can_make) for choice in item.sizes] == [
        ("Moyenne", 2),
        ("Grande", 1),
        ("Géante", 1),
    ]
    extras = {choice.option.name: choice.available for choice in item.groups[0].options}
    assert extras == {"Mozzarella": True, "Jambon": True, "Champignons": True}
    stock_count_inventory(stock=shop.stock["mozzarella"], counted=140)
    item = menu_for(pizzeria=shop.pizzeria).items[shop.regina.pk]
    extras = {choice.option.name: choice.available for choice in item.groups[0].options}
    assert extras == {"Mozzarella": False, "Jambon": True, "Champignons": True}
    assert item.availability.can_make == 1 and not item.sold_out
    line, can_make = menu_line(
        pizzeria=shop.pizzeria, product_id=shop.regina.pk, size_id=None, option_ids=[shop.removals["mozzarella"].pk]
    )
    assert can_make == 16  # without mozzarella, the ham limits it: 1 000 g ÷ 60 g
    assert line.description == "Moyenne, sans mozzarella"


def test_allergens_follow_the_configuration(options_shop):
    shop = options_shop
    item = menu_for(pizzeria=shop.pizzeria).items[shop.regina.pk]
    assert item.allergens == ["Anhydride sulfureux et sulfites", "Gluten", "Lait"]

    def allergens(**choices):
        line, _ = menu_line(
            pizzeria=shop.pizzeria,
            product_id=shop.regina.pk,
            size_id=None,
            option_ids=regina(shop, **choices).option_ids,
        )
        return menu_line_allergens(pizzeria=shop.pizzeria, line=line)

    assert allergens(removals=["jambon"]) == ["Gluten", "Lait"]
    assert allergens(removals=["jambon", "mozzarella"]) == ["Gluten"]
    assert allergens(removals=["jambon", "mozzarella"], base=["crème"]) == ["Gluten", "Lait"]


def test_reorder_keeps_the_options_and_takes_todays_prices_and_stock(options_shop):
    shop = options_shop
    past = place(shop, [regina(shop, 3, "Grande", extras=["Jambon"]), regina(shop, 1, removals=["jambon"])])
    MenuOverride.objects.create(
        pizzeria=shop.pizzeria, product=shop.regina, option=shop.removals["jambon"], withdrawn=True
    )
    # 2 Grandes left in ham: (1 000 g − what the past order holds) ÷ (90 + 60) g.
    stock_count_inventory(stock=shop.stock["jambon"], counted=3 * 150 + 2 * 150 + 20)
    again = order_reorder(order=past, pizzeria=shop.pizzeria)
    grande = past.lines.get(description="Grande, + jambon")
    assert again.lines == {f"{shop.regina.pk}:{shop.sizes['Grande'].pk}:{shop.extras['Jambon'].pk}": 2}
    assert again.missing == [
        "Regina (Grande, + jambon) (plus que 2)",
        "Regina (Moyenne, sans jambon) (plus proposée ainsi)",
    ]
    assert grande.quantity == 3


# Half-and-half: two pizzas of one size on one dough


def half(shop, quantity=1, size="Grande", extras=(), half_id=None):
    line = regina(shop, quantity, size, extras=extras)
    return LineRequest(
        line.product_id,
        quantity,
        size_id=line.size_id,
        option_ids=line.option_ids,
        half_id=half_id or shop.napoletana.pk,
    )


def test_a_half_and_half_reserves_half_of_each_recipe_and_costs_its_dearer_half(options_shop):
    shop = options_shop
    order = place(shop, [half(shop, 2, extras=["Mozzarella"])])
    line = order.lines.get()
    assert line.description == "Grande, moitié Regina / moitié Napoletana, + mozzarella"
    assert line.half_product == shop.napoletana
    # Grande (× 1.5), each half × 0.75 of its pizza's recipe, rounded up; the extra on the whole pizza.
    assert shop.figures("pâte") == (10_000, 2 * (188 + 188))
    assert shop.figures("tomate") == (5_000, 2 * (60 + 75))
    assert shop.figures("mozzarella") == (2_000, 2 * (75 + 60 + 75))
    assert shop.figures("jambon") == (1_000, 2 * 45)
    assert line.unit_price == Decimal("16.00")  # the Regina's 14.50 (dearer than 13.00) + 1.50
    assert ledger_matches_levels()


def test_the_half_and_half_price_rule_is_a_setting(options_shop, settings):
    shop = options_shop
    settings.OCPIZZA = {**settings.OCPIZZA, "HALF_AND_HALF_PRICE": "average"}
    MenuOverride.objects.create(
        pizzeria=shop.pizzeria, product=shop.napoletana, size=shop.napoletana.sizes.get(name="Grande"), price="13.25"
    )
    line = place(shop, [half(shop)]).lines.get()
    assert line.unit_price == Decimal("13.88")  # (14.50 + 13.25) / 2, rounded up to the cent


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("dessert", "Seules deux pizzas se partagent en deux moitiés."),
        ("same", "Une moitié-moitié associe deux pizzas différentes, pas deux Regina."),
        ("size", "Napoletana n'est pas proposée en Géante à OC Pizza Bastille."),
        ("withdrawn", "La seconde moitié n'est pas à la carte de OC Pizza Bastille en ce moment."),
    ],
)
def test_a_bad_half_is_refused_in_french_and_nothing_written(options_shop, case, message):
    shop = options_shop
    if case == "withdrawn":
        MenuOverride.objects.create(pizzeria=shop.pizzeria, product=shop.napoletana, withdrawn=True)
    line = {
        "dessert": half(shop, half_id=shop.tiramisu.pk),
        "same": half(shop, half_id=shop.regina.pk),
        "size": half(shop, size="Géante"),
        "withdrawn": half(shop),
    }[case]
    with pytest.raises(InvalidOrder) as refused:
        place(shop, [line])
    assert refused.value.message == message
    assert nothing_written()


def test_a_half_and_half_is_ordered_again_as_it_was(options_shop):
    shop = options_shop
    past = place(shop, [half(shop, 1, extras=["Jambon"])])
    again = order_reorder(order=past, pizzeria=shop.pizzeria)
    key = f"{shop.regina.pk}:{shop.sizes['Grande'].pk}:{shop.extras['Jambon'].pk}:{shop.napoletana.pk}"
    assert again.lines == {key: 1} and again.missing == []
