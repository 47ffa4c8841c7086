"""Paying online in a real browser: Stripe's page (faked), then the webhook puts the order in the queue."""

import pytest
import responses
from django.test import Client
from playwright.sync_api import expect

from tests.ventes.conftest import CHECKOUT_URL, WEBHOOK_SECRET, post_event, session_created, session_event
from ventes.models import Order, OrderState
from ventes.tracking import order_tracking_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TIMEOUT_MS = 20_000


def test_online_checkout_reaches_stripe_and_the_webhook_makes_the_order_received(live_server, shop, browser, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_not_real"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_not_real"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    # Stripe's hosted page is out of reach here: the browser is answered by a stand-in.
    page.route("https://checkout.stripe.com/**", lambda route: route.fulfill(body="<h1>Stripe Checkout</h1>"))

    with responses.RequestsMock(assert_all_requests_are_fired=True) as stripe_api:
        # The live server calls Stripe's API from its own thread; responses answers every thread.
        stripe_api.add_passthru(live_server.url)
        session_created(stripe_api)
        page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
        page.locator(f"#produit-{shop.margherita.pk}").get_by_role("button", name="Ajouter").click()
        expect(page.locator("#panier")).to_contain_text("9,50 €")
        page.locator("#panier").get_by_role("link", name="Commander").click()
        page.get_by_label("Nom").fill("Camille Martin")
        page.get_by_label("Téléphone").fill("06 12 34 56 78")
        page.get_by_label("E-mail").fill("camille@example.com")
        page.get_by_label("À emporter").check()
        page.get_by_label("Dès que possible").check()
        page.get_by_label("Carte bancaire en ligne").check()
        page.get_by_role("button", name="Valider la commande").click()
        expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
        assert page.url == CHECKOUT_URL

    order = Order.objects.get()
    assert order.state == OrderState.PENDING_PAYMENT
    webhook = post_event(Client(), session_event(order))
    assert webhook.status_code == 200

    page.goto(f"{live_server.url}{order_tracking_url(number=order.number)}")
    expect(page.locator("#suivi [data-state]")).to_have_text("Reçue")
