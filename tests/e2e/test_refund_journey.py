"""A manager refunds part of an order paid at the counter, in a real browser."""

import pytest
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.models import OrderState, Refund
from ventes.services import LineRequest
from ventes.workflow import order_transition

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "motdepasse-solide"


def completed_order(shop, manager):
    order = place(shop, [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)])
    for state in [OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED]:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    return order


def test_a_manager_refunds_one_pizza_and_the_order_says_so(browser, live_server, shop):
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    order = completed_order(shop, manager)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/equipe/connexion/")
    page.get_by_label("E-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion/" not in url)  # signed in before going on
    page.goto(f"{live_server.url}/commande/{order.number}/")

    page.get_by_role("link", name="Rembourser").click()
    expect(page.get_by_role("heading", name=f"Rembourser la commande {order.number}")).to_be_visible()
    page.get_by_label("Un montant").check()
    page.get_by_label("Montant en euros").fill("500")
    page.get_by_label("Motif").select_option(label="Qualité insuffisante")
    page.get_by_role("button", name="Rembourser").click()
    expect(page.get_by_text("On ne peut pas rembourser plus que ce qui a été payé")).to_be_visible()
    assert not Refund.objects.exists()

    page.get_by_label("Certains produits").check()
    page.get_by_label("Margherita").select_option("1")
    page.get_by_label("Motif").select_option(label="Produit manquant")
    page.get_by_role("button", name="Rembourser").click()

    expect(page.get_by_text("Remboursement de")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Remboursement effectué")
    refund = Refund.objects.get()
    assert (refund.amount, refund.by, refund.method) == (shop.margherita.price, manager, "cash")
