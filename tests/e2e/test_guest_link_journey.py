"""On a phone, a guest follows their order from the link they were sent, changes it, then cancels it, and is
offered an account; nobody signs in."""

import pytest
from playwright.sync_api import expect

from tests.e2e.screens import looked_at_on_a_phone
from tests.ventes.helpers import place
from ventes.models import Order, OrderState
from ventes.services import LineRequest
from ventes.tracking import order_tracking_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_guest_changes_then_cancels_their_order_from_the_link(browser, live_server, shop):
    order = place(shop, [LineRequest(shop.margherita.pk, 1)], customer_name="Camille Martin")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)

    page.goto(f"{live_server.url}{order_tracking_url(number=order.number)}")
    expect(page.get_by_role("heading", name=f"Commande {order.number}")).to_be_visible()
    expect(page.get_by_role("heading", name="Gardez cette commande dans un compte")).to_be_visible()
    looked_at_on_a_phone(page, "guest-link-order")

    page.get_by_role("link", name="Modifier").click()
    page.get_by_label("Margherita").fill("2")
    looked_at_on_a_phone(page, "guest-link-edit")
    page.get_by_role("button", name="Enregistrer les changements").click()
    expect(page.get_by_text(f"Commande {order.number} modifiée.")).to_be_visible()
    assert Order.objects.get(pk=order.pk).lines.get().quantity == 2

    page.get_by_role("link", name="Annuler la commande").click()
    page.get_by_label("Pourquoi annulez-vous ?").fill("Je serai absente ce soir")
    looked_at_on_a_phone(page, "guest-link-cancel")
    page.get_by_role("button", name="Annuler la commande").click()
    expect(page.get_by_text(f"Commande {order.number} annulée.")).to_be_visible()
    expect(page.get_by_role("link", name="Modifier")).to_have_count(0)
    looked_at_on_a_phone(page, "guest-link-cancelled")
    assert Order.objects.get(pk=order.pk).state == OrderState.CANCELLED
