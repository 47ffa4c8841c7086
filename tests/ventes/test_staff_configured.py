"""Phone and counter orders with sizes, options, halves and formulas: the staff use the shop's configurator,
whose lines wait in their cart and leave with the order they enter, priced and checked by the server."""

import datetime
import html
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from production.models import Formula, FormulaChoice, FormulaSlot, StaffMember
from production.selectors import formula_key, line_key
from tests import factories
from ventes.models import Order

pytestmark = pytest.mark.django_db

URL = "/equipe/commande/"
DETAILS = {
    "channel": "phone",
    "customer_name": "M. Dupont",
    "customer_phone": "01 02 03 04 05",
    "fulfilment": "pickup",
    "when": "asap",
    "payment_method": "cash",
}


@pytest.fixture
def counter(options_shop):
    return factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=options_shop.pizzeria).user


@pytest.fixture
def formula(options_shop):
    """A formula without hours: a Regina Moyenne or a Napoletana, and a tiramisu, for 15 €."""
    shop = options_shop
    made = Formula.objects.create(name="Formule duo", price=Decimal("15.00"))
    made.pizzerias.add(shop.pizzeria)
    pizza = FormulaSlot.objects.create(formula=made, name="Pizza", position=0)
    dessert = FormulaSlot.objects.create(formula=made, name="Dessert", position=1)
    return {
        "formula": made,
        "regina": FormulaChoice.objects.create(slot=pizza, product=shop.regina, size=shop.sizes["Moyenne"]),
        "napoletana": FormulaChoice.objects.create(slot=pizza, product=shop.napoletana),
        "tiramisu": FormulaChoice.objects.create(slot=dessert, product=shop.tiramisu),
    }


def configure_url(shop, product):
    return reverse("ventes:product_configure", args=[shop.pizzeria.slug, product.pk])


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def test_the_staff_page_offers_the_configurator_and_the_formulas(client, options_shop, counter, formula):
    client.force_login(counter)
    page = client.get(URL).content.decode()

    assert f'href="{configure_url(options_shop, options_shop.regina)}?retour=equipe"' in page
    assert "Formule duo — 15,00 €" in page
    assert f'name="choice-{formula["regina"].slot_id}" value="{formula["regina"].pk}"' in page
    assert '<input type="hidden" name="retour" value="equipe">' in page


def test_a_configured_pizza_comes_back_to_the_staff_page_and_leaves_with_the_order(client, options_shop, counter):
    shop = options_shop
    client.force_login(counter)
    configurator = client.get(configure_url(shop, shop.regina), {"retour": "equipe"}).content.decode()
    assert '<input type="hidden" name="retour" value="equipe">' in configurator
    assert f'href="{URL}"' in configurator  # back to the order being taken, not to the shop's menu

    chosen = {
        "size": shop.sizes["Grande"].pk,
        "option": [shop.extras["Jambon"].pk, shop.removals["champignons"].pk],
        "half": shop.napoletana.pk,
        "quantity": 2,
        "retour": "equipe",
    }
    answer = client.post(configure_url(shop, shop.regina), chosen)
    assert answer.status_code == 302 and answer.url == URL
    page = client.get(URL)
    assert "Lignes composées" in page.content.decode()
    assert "moitié Regina / moitié Napoletana" in page.content.decode()

    client.post(URL, {**DETAILS, "token": token_of(page)})
    order = Order.objects.get()
    (line,) = order.lines.all()
    assert (line.product, line.size, line.half_product, line.quantity) == (
        shop.regina,
        shop.sizes["Grande"],
        shop.napoletana,
        2,
    )
    assert line.description == "Grande, moitié Regina / moitié Napoletana, sans champignons, + jambon"
    assert order.channel == "phone"
    assert not client.session["cart"]["lines"]  # the operator's next order starts empty


def test_a_formula_taken_on_the_phone_is_placed_with_its_parts(client, options_shop, counter, formula):
    shop = options_shop
    client.force_login(counter)
    post = {
        "pizzeria": shop.pizzeria.pk,
        "formula": formula["formula"].pk,
        "quantity": 1,
        "retour": "equipe",
        f"choice-{formula['regina'].slot_id}": formula["regina"].pk,
        f"choice-{formula['tiramisu'].slot_id}": formula["tiramisu"].pk,
    }
    answer = client.post(reverse("ventes:cart_add_formula"), post)
    assert answer.status_code == 302 and answer.url == URL

    page = client.get(URL)
    client.post(URL, {**DETAILS, "token": token_of(page), f"qty_{shop.napoletana.pk}": 1})
    order = Order.objects.get()
    assert [(line.product_name, line.formula.get("name")) for line in order.lines.order_by("pk")] == [
        ("Napoletana", None),
        ("Regina", "Formule duo"),
        ("Tiramisu", "Formule duo"),
    ]
    assert order.total == Decimal("10.00") + Decimal("15.00")


def test_bad_choices_from_the_staff_page_are_refused_in_french_and_nothing_is_kept(
    client, options_shop, counter, formula
):
    shop = options_shop
    client.force_login(counter)
    other = factories.OptionFactory(name="Ananas")  # an option of another product
    answer = client.post(configure_url(shop, shop.regina), {"option": [other.pk], "quantity": 1, "retour": "equipe"})
    assert answer.status_code == 400
    assert "Une des options choisies n'existe pas pour Regina." in html.unescape(answer.content.decode())

    post = {"pizzeria": shop.pizzeria.pk, "formula": formula["formula"].pk, "quantity": 1, "retour": "equipe"}
    post[f"choice-{formula['regina'].slot_id}"] = formula["tiramisu"].pk  # the dessert in the pizza's place
    answer = client.post(reverse("ventes:cart_add_formula"), post, follow=True)
    assert "Formule duo : choisissez « Pizza »." in html.unescape(answer.content.decode())
    assert not client.session.get("cart", {}).get("lines")
    page = client.get(URL)
    refused = client.post(URL, {**DETAILS, "token": token_of(page)})
    assert "Ajoutez au moins un produit." in refused.content.decode()
    assert not Order.objects.exists()


def test_a_formula_out_of_its_hours_is_refused_at_the_counter_too(client, options_shop, counter, formula):
    shop = options_shop
    formula["formula"].windows.create(weekday=0, starts=datetime.time(11, 30), ends=datetime.time(14, 0))
    client.force_login(counter)
    with time_machine.travel(datetime.datetime(2026, 3, 10, 19, 0, tzinfo=ZoneInfo("Europe/Paris")), tick=False):
        post = {
            "pizzeria": shop.pizzeria.pk,
            "formula": formula["formula"].pk,
            "quantity": 1,
            "retour": "equipe",
            f"choice-{formula['napoletana'].slot_id}": formula["napoletana"].pk,
            f"choice-{formula['tiramisu'].slot_id}": formula["tiramisu"].pk,
        }
        client.post(reverse("ventes:cart_add_formula"), post)
        page = client.get(URL)
        refused = client.post(URL, {**DETAILS, "token": token_of(page)})
    assert "n'est servie que lundi de 11h30 à 14h00" in html.unescape(refused.content.decode())
    assert not Order.objects.exists()


def test_only_staff_are_sent_back_to_the_staff_page(client, options_shop):
    shop = options_shop
    client.force_login(factories.CustomerFactory().user)
    answer = client.post(configure_url(shop, shop.regina), {"quantity": 1, "retour": "equipe"})
    assert answer.url == f"{shop.pizzeria.get_absolute_url()}#produit-{shop.regina.pk}"
    other_counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.other_pizzeria).user
    client.force_login(other_counter)
    answer = client.post(configure_url(shop, shop.regina), {"quantity": 1, "retour": "equipe"})
    assert answer.url == f"{shop.pizzeria.get_absolute_url()}#produit-{shop.regina.pk}"


def test_the_staff_page_reads_a_fixed_number_of_queries_however_many_lines_are_composed(
    client, options_shop, counter, formula, django_assert_num_queries
):
    shop = options_shop
    client.force_login(counter)
    session = client.session
    session["cart"] = {
        "pizzeria_id": shop.pizzeria.pk,
        "lines": {formula_key(formula["formula"].pk, [formula["regina"].pk, formula["tiramisu"].pk]): 1},
    }
    session.save()
    client.get(URL)
    with django_assert_num_queries(8):  # the menu, the cart and the hours from the cache
        client.get(URL)
    lines = {
        line_key(shop.regina.pk, size.pk, [extra.pk]): 1
        for size in shop.sizes.values()
        for extra in shop.extras.values()
    }
    session = client.session
    session["cart"] = {"pizzeria_id": shop.pizzeria.pk, "lines": {**session["cart"]["lines"], **lines}}
    session.save()
    with django_assert_num_queries(8):
        page = client.get(URL)
    assert page.content.decode().count('class="cart-line"') == 10


def test_a_composed_line_taken_back_returns_to_the_staff_page(client, options_shop, counter):
    shop = options_shop
    client.force_login(counter)
    client.post(configure_url(shop, shop.regina), {"size": shop.sizes["Grande"].pk, "quantity": 1, "retour": "equipe"})
    (key,) = client.session["cart"]["lines"]
    page = client.get(URL).content.decode()
    assert f'action="{reverse("ventes:cart_remove", args=[key])}" id="retirer-1"' in page

    answer = client.post(reverse("ventes:cart_remove", args=[key]), {"retour": "equipe"})
    assert answer.status_code == 302 and answer.url == URL
    assert not client.session["cart"]["lines"]
