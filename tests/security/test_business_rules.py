"""What an attacker would try through the HTTP layer that tests/ventes does not already cover.

Covered elsewhere: a posted price (test_views_checkout), quantities 0, -3, 10 000,
"deux" in the cart (test_views_menu_cart), cancel or edit after the kitchen
started (test_views_order), the state machine's table (test_workflow).
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from production.models import StaffMember
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.ventes.helpers import place
from tests.ventes.test_views_checkout import checkout, fill_cart
from ventes.models import Order, OrderState, PaymentMethod

pytestmark = pytest.mark.django_db


def test_posted_money_fields_are_ignored(client, shop):
    fill_cart(client, shop)
    forged = {"total": "0.01", "subtotal": "0", "vat_total": "0", "vat_rate": "0", "delivery_fee": "0"}
    checkout(client, unit_price="0.01", **forged)
    order = Order.objects.get()
    assert order.total == Decimal("19.00")
    assert order.vat_total > 0
    assert [(line.unit_price, line.vat_rate) for line in order.lines.all()] == [(Decimal("9.50"), Decimal("10.00"))]


@pytest.mark.parametrize("quantity", [10**9, -1, "abc", "1e3", "0x10"])
def test_cart_refuses_absurd_quantities(client, shop, quantity):
    fill_cart(client, shop, quantity=quantity)
    assert not (client.session.get("cart") or {}).get("lines")


def test_cart_refuses_a_product_the_pizzeria_does_not_sell(client, shop):
    elsewhere = factories.ProductFactory(name="Calzone", pizzerias=[shop.other_pizzeria])
    client.post(reverse("ventes:cart_add"), {"pizzeria": shop.pizzeria.pk, "product": elsewhere.pk, "quantity": 1})
    assert not (client.session.get("cart") or {}).get("lines")


@pytest.mark.parametrize("quantity", [10**9, -1, "abc"])
def test_order_edit_refuses_absurd_quantities_and_writes_nothing(client, shop, quantity):
    customer = factories.CustomerFactory()
    order = place(shop, customer=customer)
    client.force_login(customer.user)
    response = client.post(reverse("ventes:order_edit", args=[order.number]), {f"qty_{shop.margherita.pk}--": quantity})
    assert response.status_code == 200
    assert dict(order.lines.values_list("product_id", "quantity")) == {shop.margherita.pk: 1}
    assert shop.level("dough") == 9 and ledger_matches_levels()


def test_the_kitchen_cannot_start_a_card_order_that_is_not_paid(client, shop):
    order = place(shop, payment_method=PaymentMethod.ONLINE_CARD)
    assert order.state == OrderState.PENDING_PAYMENT
    cook = factories.UserFactory()
    factories.StaffMemberFactory(user=cook, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    client.force_login(cook)
    for name in ("production:kitchen_start", "production:kitchen_finish", "production:counter_handover"):
        client.post(reverse(name, args=[shop.pizzeria.slug, order.pk]))
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_PAYMENT
