"""The shop in a real browser (Debian's Chromium driven by Playwright) against a live server."""

import pytest
from django.test import Client

from production.models import StaffMember
from tests import factories
from ventes.models import Order, OrderState
from ventes.workflow import order_transition

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 20_000


def test_menu_cart_checkout_then_the_order_page_follows_the_kitchen(live_server, shop, browser):
    from playwright.sync_api import expect

    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    expect(page.get_by_role("heading", name="OC Pizza Bastille")).to_be_visible()

    margherita = page.locator(f"#produit-{shop.margherita.pk}")
    margherita.get_by_role("button", name="Ajouter").click()
    cart = page.locator("#panier")
    expect(cart).to_contain_text("Margherita ajouté au panier.")
    cart.get_by_role("button", name="Ajouter 1 Margherita").click()  # one more with the cart's stepper
    expect(cart).to_contain_text("19,00 €")
    page.locator(f"#produit-{shop.beer.pk}").get_by_role("button", name="Ajouter").click()
    expect(cart).to_contain_text("23,50 €")

    cart.get_by_role("link", name="Commander").click()
    page.get_by_label("Nom").fill("Camille Martin")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("E-mail").fill("camille@example.com")
    page.get_by_label("À emporter").check()
    page.get_by_label("Dès que possible").check()
    page.get_by_label("Espèces").check()
    page.get_by_role("button", name="Valider la commande").click()

    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Commande {order.number}")).to_be_visible()
    status = page.locator("#suivi")
    expect(status).to_contain_text("Reçue")
    page.evaluate("window.notReloaded = true")

    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    expect(status.locator("[data-state]")).to_have_text("En préparation", timeout=TIMEOUT_MS)
    order_transition(order_id=order.pk, to_state=OrderState.READY, by=pizzaiolo)
    expect(status.locator("[data-state]")).to_have_text("Prête", timeout=TIMEOUT_MS)
    assert page.evaluate("window.notReloaded") is True


def test_counter_phone_order_joins_the_queue(live_server, shop, browser):
    from playwright.sync_api import expect

    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client = Client()
    client.force_login(counter)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/equipe/commande/")

    page.get_by_label("Au téléphone").check()
    page.get_by_label("Nom").fill("M. Dupont")
    page.locator("#id_customer_phone").fill("01 02 03 04 05")
    # Two Reginas in two taps on its +, as the phone rings.
    page.get_by_role("button", name="Un de plus : Regina").click()
    page.get_by_role("button", name="Un de plus : Regina").click()
    expect(page.get_by_role("spinbutton", name="Regina")).to_have_value("2")
    page.get_by_label("À emporter").check()
    page.get_by_label("Espèces").check()
    page.get_by_role("button", name="Enregistrer la commande").click()

    order = Order.objects.get()
    assert order.pizzeria == shop.pizzeria and order.state == OrderState.RECEIVED and order.channel == "phone"
    assert list(order.lines.values_list("product_name", "quantity")) == [("Regina", 2)]
    expect(page.get_by_text(f"Commande {order.number} enregistrée")).to_be_visible()
    queued = page.locator(f'.queue-order[data-number="{order.number}"]')
    expect(queued).to_contain_text("M. Dupont")
    queued.get_by_role("link").click()
    expect(page.locator("#suivi [data-state]")).to_have_text("Reçue", timeout=TIMEOUT_MS)
    expect(page.locator("#suivi")).to_contain_text("Regina")
    context.close()
