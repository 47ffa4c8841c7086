"""On a phone, a guest orders while the pizzeria is closed: no « dès que possible », the first slot with room
already chosen, the address gone for a pick-up."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from production.models import OpeningHours
from tests.e2e.screens import looked_at_on_a_phone
from tests.e2e.test_checkout_form_journey import looked_at_here_and_on_a_desktop
from ventes.models import Order
from ventes.selectors import checkout_slots, pizzeria_get

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_guest_orders_for_later_while_the_pizzeria_is_closed(browser, live_server, shop):
    OpeningHours.objects.filter(pizzeria=shop.pizzeria, weekday=timezone.localdate().weekday()).delete()
    first = timezone.localtime(checkout_slots(pizzeria=pizzeria_get(pk=shop.pizzeria.pk))[0].at)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    page.get_by_role("button", name="Ajouter Margherita").first.click()
    expect(page.locator("#panier")).to_contain_text("Margherita")

    page.goto(f"{live_server.url}/commander/")
    expect(page.get_by_text(f"{shop.pizzeria.name} est fermée : choisissez un créneau")).to_be_visible()
    expect(page.get_by_label("Dès que possible")).to_have_count(0)
    expect(page.get_by_label("À un créneau précis")).to_have_count(0)  # nothing to choose: a slot it is
    expect(page.locator("#id_slot")).to_have_value(f"{first:%Y-%m-%dT%H:%M}")
    expect(page.get_by_label("Adresse de livraison")).to_be_visible()
    page.get_by_label("À emporter").check()
    expect(page.get_by_label("Adresse de livraison")).to_be_hidden()  # a pick-up needs no address
    page.get_by_label("Nom").fill("Camille Martin")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("E-mail").fill("camille@example.com")
    page.get_by_label("Espèces").check()
    expect(page.get_by_role("heading", name="Paiement au comptoir", exact=True)).to_be_visible()
    looked_at_here_and_on_a_desktop(page, "checkout-closed")
    page.get_by_role("button", name="Valider la commande").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Commande ")
    order = Order.objects.get()
    assert order.requested_for == first and order.fulfilment == "pickup"
    looked_at_on_a_phone(page, "checkout-closed-placed")
