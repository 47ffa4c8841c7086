"""The rules of an order live in services and selectors, whoever calls them (not only the shop's forms)."""

import pytest
import responses
from django.core.cache import cache

from production.services import stock_count_inventory
from tests.factories import CustomerFactory, PizzeriaFactory
from ventes.exceptions import CartLimitReached, InvalidOrder
from ventes.models import Fulfilment, Order, OrderState
from ventes.selectors import order_reorder
from ventes.services import (
    DeliveryAddress,
    LineRequest,
    cart_check_add,
    form_token_issue,
    form_token_spend,
    form_token_state,
)
from ventes.workflow import order_transition

from .helpers import place
from .test_geo import GEOCODE_URL, HOME, found

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_order_place_refuses_an_address_its_pizzeria_does_not_deliver(shop, settings):
    settings.GMAP_API_KEY = ""
    with pytest.raises(InvalidOrder) as refused:
        place(shop, fulfilment=Fulfilment.DELIVERY, delivery_address=DeliveryAddress(line="2 rue X", postcode="75020"))
    assert refused.value.field == "delivery_address"
    assert refused.value.message == "OC Pizza Bastille ne livre pas le code postal 75020."
    assert not Order.objects.exists() and shop.level("dough") == 10


def test_order_place_keeps_the_coordinates_google_found(shop, settings):
    settings.GMAP_API_KEY = "AIzaTestKeyNotReal"
    pizzeria = PizzeriaFactory(latitude=HOME[0], longitude=HOME[1], delivery_radius_km=3)
    pizzeria.products.set(shop.pizzeria.products.all())
    for stock in shop.pizzeria.stock_lines.all():
        pizzeria.stock_lines.create(ingredient=stock.ingredient, on_hand=stock.on_hand)
    with responses.RequestsMock() as google:
        google.get(GEOCODE_URL, json=found())
        order = place(
            shop,
            pizzeria_id=pizzeria.pk,
            fulfilment=Fulfilment.DELIVERY,
            delivery_address=DeliveryAddress(line="8 rue Keller", postcode="75011"),
        )
    assert (float(order.delivery_latitude), float(order.delivery_longitude)) == HOME


def test_the_cart_takes_no_more_than_one_order_may_hold(settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "MAX_ORDER_LINES": 2, "MAX_LINE_QUANTITY": 5}
    cart_check_add(lines={"1::": 4}, key="1::", quantity=1)
    cart_check_add(lines={"1::": 4}, key="2::", quantity=5)
    with pytest.raises(CartLimitReached, match=r"Au plus 5 exemplaires d.un même produit\."):
        cart_check_add(lines={"1::": 4}, key="1::", quantity=2)
    with pytest.raises(CartLimitReached, match="nombre maximum de produits"):
        cart_check_add(lines={"1::": 1, "2::": 1}, key="3::", quantity=1)
    cart_check_add(lines={"1::": 1, "2::": 1}, key="2::", quantity=1)


def test_a_past_order_comes_back_trimmed_to_what_can_be_made(shop):
    customer = CustomerFactory()
    lines = [LineRequest(shop.margherita.pk, 2), LineRequest(shop.regina.pk, 3), LineRequest(shop.beer.pk, 1)]
    past = place(shop, lines, customer=customer)
    order_transition(order_id=past.pk, to_state=OrderState.CANCELLED, by=customer.user)
    stock_count_inventory(stock=shop.stock["ham"], counted=60)  # one Regina left
    stock_count_inventory(stock=shop.stock["beer"], counted=0)
    again = order_reorder(order=past, pizzeria=shop.pizzeria)
    assert again.lines == {f"{shop.margherita.pk}::": 2, f"{shop.regina.pk}::": 1}
    assert sorted(again.missing) == ["Peroni (épuisé)", "Regina (plus que 1)"]


def test_a_form_token_places_one_order(shop):
    session: dict = {}
    token = form_token_issue(tokens=session, key="checkout")
    assert form_token_state(tokens=session, key="checkout", token=token) == ""
    assert form_token_state(tokens=session, key="checkout", token="forged") is None
    form_token_spend(tokens=session, key="checkout", token=token, number="BAS-1")
    assert form_token_state(tokens=session, key="checkout", token=token) == "BAS-1"
    for _ in range(25):
        form_token_issue(tokens=session, key="checkout")
    assert form_token_state(tokens=session, key="checkout", token=token) is None
