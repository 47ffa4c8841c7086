"""Meal vouchers pay food only, up to a daily ceiling: what they may pay and what is left, on every screen."""

from decimal import Decimal

import pytest

from production.models import StaffMember
from tests import factories
from tests.test_settings import run_django
from ventes.models import OrderState
from ventes.pricing import MealVoucherSplit, PricedLine, meal_voucher_split
from ventes.services import LineRequest
from ventes.workflow import order_transition

from .helpers import GUEST, place

D = Decimal


def food(price, quantity=1):
    return PricedLine(D(price), quantity, D("10.00"))


def alcohol(price, quantity=1):
    return PricedLine(D(price), quantity, D("20.00"), contains_alcohol=True)


# The pricing


@pytest.mark.parametrize(
    ("lines", "fee", "voucher", "rest"),
    [
        ([food("9.50", 2)], "0", "19.00", "0.00"),  # food under the ceiling: all of it
        ([food("9.25", 2), alcohol("6.00")], "0", "18.50", "6.00"),  # the beer is left to pay
        ([food("12.00", 3)], "0", "25.00", "11.00"),  # the ceiling
        ([food("12.00", 3), alcohol("4.50", 2)], "0", "25.00", "20.00"),  # both
        ([food("9.50")], "2.50", "9.50", "2.50"),  # the delivery fee is not food
        ([alcohol("4.50")], "0", "0.00", "4.50"),  # nothing a voucher may pay
        ([food("8.33", 3)], "0", "24.99", "0.00"),  # cents stay exact
        ([food("25.00")], "0", "25.00", "0.00"),  # the ceiling itself is payable
    ],
)
def test_split(lines, fee, voucher, rest):
    split = meal_voucher_split(lines=lines, delivery_fee=D(fee), daily_limit=D("25.00"))
    assert split == MealVoucherSplit(voucher=D(voucher), rest=D(rest))
    assert isinstance(split.voucher, Decimal) and isinstance(split.rest, Decimal)
    assert split.voucher.as_tuple().exponent == -2 and split.rest.as_tuple().exponent == -2
    assert split.is_partial == (D(rest) > 0)


def test_the_ceiling_is_a_setting_of_25_euros_by_default(settings):
    assert settings.OCPIZZA["MEAL_VOUCHER_DAILY_LIMIT"] == D("25.00")
    assert meal_voucher_split(lines=[food("30.00")], delivery_fee=D("0")).voucher == D("25.00")
    settings.OCPIZZA = {**settings.OCPIZZA, "MEAL_VOUCHER_DAILY_LIMIT": D("19.00")}
    assert meal_voucher_split(lines=[food("30.00")], delivery_fee=D("0")) == MealVoucherSplit(D("19.00"), D("11.00"))


def test_the_ceiling_is_read_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.OCPIZZA['MEAL_VOUCHER_DAILY_LIMIT'])"
    )
    read = run_django({"MEAL_VOUCHER_DAILY_LIMIT": "19.5"}, code)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "19.50"
    for wrong in ("vingt", "-1", "２５", "nan"):
        refused = run_django({"MEAL_VOUCHER_DAILY_LIMIT": wrong}, code)
        assert refused.returncode != 0
        assert "MEAL_VOUCHER_DAILY_LIMIT must be an amount in euros" in refused.stderr


# The screens

pytestmark_db = pytest.mark.django_db
PICKUP_SPLIT = (
    "Payable en titres-restaurant : <strong>19,00 €</strong> — "
    "reste à régler en espèces ou carte : <strong>4,50 €</strong>"
)


def checkout_page(client, shop, lines):
    for product, quantity in lines:
        client.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": product.pk, "quantity": quantity})
    return client.get("/commander/").content.decode()


@pytestmark_db
def test_checkout_shows_the_split_for_each_mode_once_vouchers_are_chosen(client, shop):
    html = checkout_page(client, shop, [(shop.margherita, "2"), (shop.beer, "1")])
    assert '<div class="voucher-splits" id="titres-restaurant">' in html
    assert f"À emporter — {PICKUP_SPLIT}" in html
    # Delivered: the 2,50 € fee is left to pay too.
    assert "En livraison — Payable en titres-restaurant : <strong>19,00 €</strong>" in html
    assert "reste à régler en espèces ou carte : <strong>7,00 €</strong>" in html
    assert "ni alcool, ni frais de livraison), jusqu'à 25,00 € par jour" in html


@pytestmark_db
def test_checkout_over_the_ceiling(client, shop, settings):
    shop.pizzeria.free_delivery_from = D("20.00")
    shop.pizzeria.save()
    html = checkout_page(client, shop, [(shop.regina, "3")])
    # 36 € of food, delivered free: the same split either way.
    assert 'data-fulfilment="pickup"' not in html
    assert (
        '<p class="voucher-split">Payable en titres-restaurant : <strong>25,00 €</strong>'
        " — reste à régler en espèces ou carte : <strong>11,00 €</strong></p>"
    ) in html


@pytestmark_db
def test_checkout_says_nothing_when_vouchers_pay_it_all(client, shop):
    shop.pizzeria.delivery_fee = D("0")
    shop.pizzeria.save()
    html = checkout_page(client, shop, [(shop.margherita, "2")])
    assert "voucher-split" not in html


@pytestmark_db
def test_checkout_placed_with_vouchers_keeps_the_split_on_the_order_and_its_receipt(client, shop):
    html = checkout_page(client, shop, [(shop.margherita, "2"), (shop.beer, "1")])
    token = client.get("/commander/").context["form"]["token"].value()
    response = client.post("/commander/", {**GUEST, "payment_method": "meal_voucher", "token": token})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert PICKUP_SPLIT in page
    receipt = client.get(response["Location"].replace("/?t=", "/recu/?t=")).content.decode()
    assert PICKUP_SPLIT in receipt
    assert "Titre-restaurant" in html


@pytestmark_db
@pytest.mark.parametrize("method", ["cash", "card"])
def test_other_ways_of_paying_show_no_split(client, shop, method):
    order = place(shop, [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)], payment_method=method)
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    client.force_login(manager)
    for suffix in ("", "recu/"):
        assert "titres-restaurant" not in client.get(f"/commande/{order.number}/{suffix}").content.decode()


@pytest.fixture
def pizzaiolo(shop):
    return factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user


def ready(order, pizzaiolo):
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    return order_transition(order_id=order.pk, to_state=OrderState.READY, by=pizzaiolo)


@pytestmark_db
def test_the_riders_card_and_the_ticket_show_the_split(client, shop, pizzaiolo):
    lines = [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)]
    order = ready(place(shop, lines, fulfilment="delivery", payment_method="meal_voucher"), pizzaiolo)
    rider = factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=shop.pizzeria).user
    client.force_login(rider)
    split = (
        "Payable en titres-restaurant : <strong>19,00 €</strong> — reste à régler en espèces ou carte : "
        "<strong>7,00 €</strong>"
    )
    for path in ("livraisons/", "livraisons/direct/"):
        html = client.get(f"/equipe/{shop.pizzeria.slug}/{path}").content.decode()
        assert "À encaisser : 26,00 €" in html
        assert split in html
    client.post(f"/equipe/{shop.pizzeria.slug}/livraisons/{order.pk}/prendre/")
    assert split in client.get(f"/equipe/{shop.pizzeria.slug}/livraisons/").content.decode()
    client.force_login(factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user)
    assert split in client.get(f"/equipe/{shop.pizzeria.slug}/commandes/{order.pk}/ticket/").content.decode()


@pytestmark_db
def test_the_counters_card_shows_the_split(client, shop, pizzaiolo):
    ready(place(shop, [LineRequest(shop.regina.pk, 3)], payment_method="meal_voucher"), pizzaiolo)
    ready(place(shop, [LineRequest(shop.margherita.pk, 1)], payment_method="meal_voucher"), pizzaiolo)
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    for path in ("comptoir/", "comptoir/direct/"):
        html = client.get(f"/equipe/{shop.pizzeria.slug}/{path}").content.decode()
        assert html.count("Payable en titres-restaurant") == 1  # the 9,50 € Margherita is paid in full by vouchers
        assert (
            "Payable en titres-restaurant : <strong>25,00 €</strong> — reste à régler en espèces ou carte : "
            "<strong>11,00 €</strong>"
        ) in html


@pytestmark_db
def test_beer_is_marked_in_the_back_office_and_the_demo(client, shop):
    admin = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    html = client.get(f"/admin/production/product/{shop.beer.pk}/change/").content.decode()
    assert 'name="contains_alcohol"' in html and "checked" in html.split('name="contains_alcohol"')[1].split(">")[0]
    assert "contient de l&#x27;alcool" in client.get("/admin/production/product/").content.decode()
