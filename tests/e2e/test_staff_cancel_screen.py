"""The counter cancels an order on a phone with one tap on its motive, the note beside it optional; the customer
reads why, without the staff's words."""

import pytest
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.e2e.screens import looked_at_on_a_phone
from tests.ventes.helpers import place
from ventes.models import CancelReason, Order, OrderState
from ventes.tracking import order_tracking_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_counter_cancels_with_one_tap_on_its_motive(browser, live_server, shop, client):
    order = place(shop)
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(30_000)

    page.goto(f"{live_server.url}/commande/{order.number}/annuler/")
    expect(page.get_by_role("button", name="Rupture de stock")).to_be_visible()
    page.get_by_label("Précisez (facultatif)").fill("Plus de mozzarella")
    looked_at_on_a_phone(page, "staff-cancel")
    page.get_by_role("button", name="Rupture de stock").click()

    expect(page.get_by_text(f"Commande {order.number} annulée.")).to_be_visible()
    cancelled = Order.objects.get(pk=order.pk)
    assert (cancelled.state, cancelled.cancel_reason) == (OrderState.CANCELLED, CancelReason.SOLD_OUT)
    assert cancelled.events.latest("pk").note == "Plus de mozzarella"

    expect(page.locator(".cancellation")).to_have_text("Motif : rupture de stock (« Plus de mozzarella »).")

    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.goto(f"{live_server.url}{order_tracking_url(number=order.number)}")
    expect(customer.locator(".cancellation")).to_have_text(
        "Annulée par la pizzeria : un produit est en rupture de stock. Toutes nos excuses."
    )
    looked_at_on_a_phone(customer, "order-cancelled-by-the-pizzeria")
