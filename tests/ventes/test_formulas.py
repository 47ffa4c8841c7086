"""Formulas: a pizza, a drink and a dessert at a set price, in their hours; each part a line of its own,
reserving its own recipe and carrying its share of the price at its own VAT rate."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from production.models import Formula, FormulaChoice, FormulaSlot, FormulaWindow, MenuOverride, StockMovement
from production.selectors import formula_key, price_split
from production.services import stock_line_create
from tests import factories
from ventes.closings import closings_make
from ventes.exceptions import InvalidOrder
from ventes.models import JournalEntry, Order, OrderState
from ventes.selectors import order_history_lines, order_reorder
from ventes.services import FormulaRequest, LineRequest
from ventes.workflow import order_transition

from ..conftest import ledger_matches_levels
from .helpers import GUEST, place

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY_LUNCH = datetime.datetime(2026, 3, 11, 12, 15, tzinfo=PARIS)
WEDNESDAY_AFTERNOON = datetime.datetime(2026, 3, 11, 15, 0, tzinfo=PARIS)
SATURDAY_LUNCH = datetime.datetime(2026, 3, 14, 12, 15, tzinfo=PARIS)


class Lunch:
    """The shop's « Formule midi » (14,90 €, weekdays 11:30–14:00): a pizza, a drink, a dessert."""

    def __init__(self, shop):
        self.shop = shop
        mascarpone = factories.IngredientFactory(name="mascarpone")
        self.mascarpone = stock_line_create(pizzeria=shop.pizzeria, ingredient=mascarpone, on_hand=1000)
        shop.stock["mascarpone"] = self.mascarpone
        self.tiramisu = factories.ProductFactory(
            name="Tiramisu",
            price=Decimal("5.00"),
            vat_rate=Decimal("5.50"),
            category="dessert",
            pizzerias=[shop.pizzeria, shop.other_pizzeria],
        )
        factories.RecipeLineFactory(product=self.tiramisu, ingredient=mascarpone, quantity=80)
        self.formula = Formula.objects.create(name="Formule midi", price=Decimal("14.90"))
        self.formula.pizzerias.add(shop.pizzeria)
        for weekday in range(5):
            FormulaWindow.objects.create(
                formula=self.formula, weekday=weekday, starts=datetime.time(11, 30), ends=datetime.time(14, 0)
            )
        self.choices = {}
        for position, (slot_name, products) in enumerate(
            [("Pizza", [shop.margherita, shop.regina]), ("Boisson", [shop.beer]), ("Dessert", [self.tiramisu])]
        ):
            slot = FormulaSlot.objects.create(formula=self.formula, name=slot_name, position=position)
            for product in products:
                self.choices[product.name] = FormulaChoice.objects.create(slot=slot, product=product)

    def request(self, *names, quantity=1):
        return FormulaRequest(self.formula.pk, quantity, choice_ids=tuple(self.choices[name].pk for name in names))

    def key(self, *names):
        return formula_key(self.formula.pk, [self.choices[name].pk for name in names])


@pytest.fixture
def lunch(shop):
    return Lunch(shop)


@pytest.fixture
def at_lunch():
    with time_machine.travel(WEDNESDAY_LUNCH, tick=False) as clock:
        yield clock


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


# Money


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        ("14.90", ["12.00", "4.50", "5.00"]),
        ("10.00", ["3.00", "3.00", "3.00"]),
        ("0.03", ["100.00", "0.01", "0.01"]),
        ("19.99", ["7.77", "1.11", "13.13", "0.50"]),
    ],
)
def test_the_set_price_is_split_pro_rata_in_cents_that_sum_exactly_to_it(total, weights):
    parts = price_split(Decimal(total), [Decimal(weight) for weight in weights])
    assert sum(parts) == Decimal(total)
    assert all(part >= Decimal("0.01") and part == part.quantize(Decimal("0.01")) for part in parts)


def test_a_formula_is_one_line_per_part_each_at_its_share_and_its_own_vat_rate(lunch, at_lunch):
    shop = lunch.shop
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu", quantity=2)])

    lines = list(order.lines.order_by("pk"))
    # 14,90 € shared in proportion to 12,00 + 4,50 + 5,00: the cents left go to the largest remainders.
    assert [(line.product_name, line.unit_price, line.vat_rate, line.quantity) for line in lines] == [
        ("Regina", Decimal("8.32"), Decimal("10.00"), 2),
        ("Peroni", Decimal("3.12"), Decimal("20.00"), 2),
        ("Tiramisu", Decimal("3.46"), Decimal("5.50"), 2),
    ]
    assert {line.formula["name"] for line in lines} == {"Formule midi"}
    assert {line.formula["group"] for line in lines} == {1}
    assert sum(line.line_total for line in lines) == order.subtotal == order.total == Decimal("29.80")
    # VAT of each rate on its share: 16,64 × 10/110, 6,24 × 20/120, 6,92 × 5,5/105,5.
    assert order.vat_total == Decimal("1.51") + Decimal("1.04") + Decimal("0.36")


def test_the_journal_and_the_daily_closing_count_a_formula_sale_at_each_parts_rate(lunch, at_lunch, manager):
    shop = lunch.shop
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu"), LineRequest(shop.margherita.pk, 1)])
    for state in [OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED]:
        order_transition(order_id=order.pk, to_state=state, by=manager)

    sale = JournalEntry.objects.get(order=order, kind="sale")
    expected = [
        {"rate": "5.50", "incl": "3.46", "vat": "0.18"},
        {"rate": "10.00", "incl": "17.82", "vat": "1.62"},  # the formula's 8,32 and the Margherita's 9,50
        {"rate": "20.00", "incl": "3.12", "vat": "0.52"},
    ]
    assert sale.amount == Decimal("24.40")
    assert sale.vat == expected
    at_lunch.move_to(datetime.datetime(2026, 3, 12, 4, 30, tzinfo=PARIS))
    (closing,) = closings_make(pizzeria_id=shop.pizzeria.pk)
    assert closing.sales_total == Decimal("24.40")
    assert sorted(closing.vat, key=lambda row: Decimal(row["rate"])) == expected


def test_the_receipt_prints_each_part_at_its_share_and_rate(client, lunch, at_lunch, manager):
    shop = lunch.shop
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu")])
    for state in [OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED]:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    client.force_login(manager)

    page = client.get(reverse("ventes:receipt", kwargs={"number": order.number})).content.decode()
    assert "Formule midi : Regina" in page
    assert "3,12 €" in page
    assert "5,5 %" in page


# Stock


def test_a_formula_order_reserves_exactly_the_recipes_of_its_parts(lunch, at_lunch):
    shop = lunch.shop
    before = {name: shop.figures(name) for name in shop.stock}
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu", quantity=2)])

    held = {name: shop.figures(name)[1] - before[name][1] for name in shop.stock}
    # Two Reginas (dough 1, tomato 80, cheese 100, ham 60), two Peroni, two tiramisus (mascarpone 80).
    assert held == {"dough": 2, "tomato": 160, "cheese": 200, "ham": 120, "beer": 2, "mascarpone": 160}
    assert {line.product_name: line.recipe for line in order.lines.all()}["Tiramisu"] == {
        str(lunch.mascarpone.ingredient_id): 80
    }
    assert ledger_matches_levels()


def test_cancelling_a_formula_order_gives_back_every_part(lunch, at_lunch, manager):
    shop = lunch.shop
    before = {name: shop.figures(name) for name in shop.stock}
    order = place(shop, [lunch.request("Margherita", "Peroni", "Tiramisu")])
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=manager, cancel_reason="sold_out")

    assert {name: shop.figures(name) for name in shop.stock} == before
    assert ledger_matches_levels()


# Time window


def test_a_formula_is_refused_outside_its_hours_and_nothing_is_written(lunch):
    shop = lunch.shop
    for when in (WEDNESDAY_AFTERNOON, SATURDAY_LUNCH):
        with time_machine.travel(when, tick=False), pytest.raises(InvalidOrder) as refused:
            place(shop, [lunch.request("Regina", "Peroni", "Tiramisu")])
        assert refused.value.message.startswith(
            "La formule « Formule midi » n'est servie que du lundi au vendredi de 11h30 à 14h00"
        )
        assert refused.value.field == "lines"
    assert not Order.objects.exists()
    assert not StockMovement.objects.filter(kind=StockMovement.RESERVATION).exists()


def test_a_formula_ordered_in_the_evening_for_tomorrows_lunch_is_taken(lunch):
    shop = lunch.shop
    with time_machine.travel(datetime.datetime(2026, 3, 11, 20, 0, tzinfo=PARIS), tick=False):
        order = place(
            shop,
            [lunch.request("Regina", "Peroni", "Tiramisu")],
            requested_for=datetime.datetime(2026, 3, 12, 12, 30, tzinfo=PARIS),
        )
    assert order.lines.count() == 3


# Bad input


def _refused(shop, lines):
    with pytest.raises(InvalidOrder) as refused:
        place(shop, lines)
    assert not Order.objects.exists()
    assert not StockMovement.objects.filter(kind=StockMovement.RESERVATION).exists()
    return refused.value.message


def test_a_missing_choice_a_foreign_one_or_two_in_one_part_are_refused_in_french(lunch, at_lunch):
    shop = lunch.shop
    other = Formula.objects.create(name="Formule du soir", price=Decimal("20.00"))
    foreign = FormulaChoice.objects.create(
        slot=FormulaSlot.objects.create(formula=other, name="Pizza"), product=shop.regina
    )

    assert _refused(shop, [lunch.request("Regina", "Peroni")]) == "Formule midi : choisissez « Dessert »."
    assert _refused(shop, [lunch.request("Regina", "Margherita", "Peroni", "Tiramisu")]) == (
        "Formule midi : un seul choix pour « Pizza »."
    )
    wrong = FormulaRequest(lunch.formula.pk, 1, choice_ids=(foreign.pk, *[lunch.choices[n].pk for n in ["Peroni"]]))
    assert _refused(shop, [wrong]) == "Un des choix ne fait pas partie de la formule « Formule midi »."


def test_a_withdrawn_part_or_a_formula_not_sold_here_is_refused(lunch, at_lunch):
    shop = lunch.shop
    MenuOverride.objects.create(pizzeria=shop.pizzeria, product=shop.regina, withdrawn=True)

    assert _refused(shop, [lunch.request("Regina", "Peroni", "Tiramisu")]) == (
        f"Regina n'est plus proposé dans la formule « Formule midi » à {shop.pizzeria.name}."
    )
    with pytest.raises(InvalidOrder) as refused:
        place(shop, [lunch.request("Margherita", "Peroni", "Tiramisu")], pizzeria_id=shop.other_pizzeria.pk)
    assert refused.value.message == f"Cette formule n'est pas proposée à {shop.other_pizzeria.name} en ce moment."
    assert not Order.objects.exists()


# The cart, the menu and the kitchen


def test_the_menu_offers_the_formula_and_the_cart_takes_it_to_an_order(client, lunch, at_lunch):
    shop = lunch.shop
    menu = client.get(shop.pizzeria.get_absolute_url()).content.decode()
    assert "Formule midi" in menu and "du lundi au vendredi de 11h30 à 14h00" in menu
    chooser = reverse("ventes:formula_choose", args=[shop.pizzeria.slug, lunch.formula.pk])
    assert f'href="{chooser}" data-sheet' in menu  # its choices open in the menu's sheet
    choices = client.get(chooser).content.decode()
    assert f'name="choice-{lunch.choices["Regina"].slot_id}" value="{lunch.choices["Regina"].pk}"' in choices

    post = {"pizzeria": shop.pizzeria.pk, "formula": lunch.formula.pk, "quantity": 1}
    chosen = {f"choice-{lunch.choices[n].slot_id}": lunch.choices[n].pk for n in ["Regina", "Peroni", "Tiramisu"]}
    answer = client.post(reverse("ventes:cart_add_formula"), {**post, **chosen}, headers={"HX-Request": "true"})
    assert "Formule midi (Regina, Peroni, Tiramisu) ajoutée au panier." in answer.content.decode()
    assert "14,90 €" in answer.content.decode()
    assert client.session["cart"]["lines"] == {lunch.key("Regina", "Peroni", "Tiramisu"): 1}

    page = client.get("/commander/")
    token = page.content.decode().split('name="token" value="')[1].split('"')[0]
    client.post("/commander/", {**GUEST, "token": token})
    order = Order.objects.get()
    assert [line.product_name for line in order.lines.order_by("pk")] == ["Regina", "Peroni", "Tiramisu"]
    assert order.total == Decimal("14.90")


def test_the_cart_refuses_a_formula_without_all_its_choices_and_adds_nothing(client, lunch, at_lunch):
    shop = lunch.shop
    post = {"pizzeria": shop.pizzeria.pk, "formula": lunch.formula.pk, "quantity": 1}
    answer = client.post(
        reverse("ventes:cart_add_formula"),
        {**post, f"choice-{lunch.choices['Regina'].slot_id}": lunch.choices["Regina"].pk},
        headers={"HX-Request": "true"},
    )
    assert "Formule midi : choisissez « Boisson »." in answer.content.decode()
    assert not client.session.get("cart", {}).get("lines")
    answer = client.post(
        reverse("ventes:cart_add_formula"),
        {**post, "choice-1": "douze"},
        headers={"HX-Request": "true"},
    )
    assert "Choix inconnu." in answer.content.decode()


def test_the_kitchen_ticket_shows_the_formula_with_its_parts(client, lunch, at_lunch):
    shop = lunch.shop
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu"), LineRequest(shop.margherita.pk, 1)])
    pizzaiolo = factories.StaffMemberFactory(role="pizzaiolo", pizzeria=shop.pizzeria).user
    client.force_login(pizzaiolo)

    page = client.get(reverse("production:order_ticket", args=[shop.pizzeria.slug, order.pk])).content.decode()
    text = " ".join(page.split())
    assert "<strong>1 ×</strong> Formule midi</li>" in text
    assert text.index("Formule midi") < text.index("Regina") < text.index("Peroni") < text.index("Tiramisu")
    assert '<li class="formula-part"> Regina' in text
    assert "<strong>1 ×</strong> Margherita" in text


def test_an_order_gives_its_formula_back_to_the_cart_with_its_choices(lunch, at_lunch):
    shop = lunch.shop
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu", quantity=2), LineRequest(shop.regina.pk, 1)])
    key = lunch.key("Regina", "Peroni", "Tiramisu")

    assert order_history_lines(order=order) == {key: 2, f"{shop.regina.pk}::": 1}
    assert order_reorder(order=order, pizzeria=shop.pizzeria).lines == {key: 2, f"{shop.regina.pk}::": 1}


def test_the_menu_reads_a_fixed_number_of_queries_however_many_formulas(client, lunch, django_assert_num_queries):
    shop = lunch.shop
    url = shop.pizzeria.get_absolute_url()
    # The pizzeria, its hours and their exceptions; the menu: products, sizes, option groups (no options here), recipes,
    # own prices, the formulas, their hours, their parts and their choices, the stock, the allergens.
    with django_assert_num_queries(14):
        client.get(url)
    for index in range(5):
        formula = Formula.objects.create(name=f"Formule {index}", price=Decimal("15.00"))
        formula.pizzerias.add(shop.pizzeria)
        FormulaWindow.objects.create(formula=formula, weekday=0, starts=datetime.time(12), ends=datetime.time(14))
        for slot_name in ["Pizza", "Boisson"]:
            slot = FormulaSlot.objects.create(formula=formula, name=slot_name)
            for product in [shop.margherita, shop.regina, shop.beer]:
                FormulaChoice.objects.create(slot=slot, product=product)
    with django_assert_num_queries(14):
        client.get(url)


def test_an_order_edited_in_the_queue_keeps_its_formula_and_adjusts_only_the_difference(lunch, at_lunch, manager):
    from ventes.services import order_edit_lines

    shop = lunch.shop
    order = place(shop, [lunch.request("Regina", "Peroni", "Tiramisu")])
    order_edit_lines(
        order_id=order.pk, lines=[lunch.request("Margherita", "Peroni", "Tiramisu", quantity=2)], by=manager
    )

    order.refresh_from_db()
    assert [(line.product_name, line.quantity) for line in order.lines.order_by("pk")] == [
        ("Margherita", 2),
        ("Peroni", 2),
        ("Tiramisu", 2),
    ]
    assert order.total == Decimal("29.80")
    assert shop.figures("ham") == (300, 0) and shop.figures("beer")[1] == 2
    assert ledger_matches_levels()


def test_the_edit_page_steps_a_formula_line_with_its_choices_kept(client, lunch, at_lunch):
    customer = factories.CustomerFactory()
    order = place(lunch.shop, [lunch.request("Regina", "Peroni", "Tiramisu")], customer=customer)
    client.force_login(customer.user)
    name = "qty_" + lunch.key("Regina", "Peroni", "Tiramisu").replace(":", "-").replace(",", "_")
    url = f"/commande/{order.number}/modifier/"

    html = client.post(url, {name: 1, "more": name}).content.decode()

    assert "Formule midi" in html and "Regina, Peroni, Tiramisu" in html and f'id="id_{name}" value="2"' in html
    assert client.post(url, {name: 2}).status_code == 302
    lines = sorted(order.lines.values_list("product_name", "quantity"))
    assert lines == [("Peroni", 2), ("Regina", 2), ("Tiramisu", 2)]
