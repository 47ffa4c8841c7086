"""Checkout with online card: Stripe's page, then the webhook puts the order in the queue."""

import pytest
import requests

from tests.conftest import ledger_matches_levels
from ventes.models import Order, OrderState, Payment
from ventes.tracking import order_tracking_url

from .conftest import CHECKOUT_URL, STRIPE_API, WEBHOOK_SECRET, post_event, session_created, session_event
from .test_views_checkout import checkout, fill_cart

pytestmark = pytest.mark.django_db


def test_online_card_is_offered_only_with_stripe_keys(client, shop, settings):
    fill_cart(client, shop)
    assert "Carte bancaire en ligne" not in client.get("/commander/").content.decode()
    settings.STRIPE_SECRET_KEY = "sk_test_not_real"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_not_real"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    assert "Carte bancaire en ligne" in client.get("/commander/").content.decode()


def test_online_checkout_goes_to_stripe_once_even_when_submitted_twice(client, shop, stripe_api):
    session_created(stripe_api)
    fill_cart(client, shop)
    token = client.get("/commander/").content.decode().split('name="token" value="')[1].split('"')[0]
    data = {
        "customer_name": "Camille Martin",
        "customer_phone": "06 12 34 56 78",
        "customer_email": "camille@example.com",
        "fulfilment": "pickup",
        "when": "asap",
        "payment_method": "online_card",
        "token": token,
    }
    first = client.post("/commander/", data)
    second = client.post("/commander/", data)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == CHECKOUT_URL
    order = Order.objects.get()
    assert order.state == OrderState.PENDING_PAYMENT
    assert Payment.objects.filter(order=order, state="pending").count() == 1
    sent = stripe_api.calls[0].request
    assert sent.headers["Idempotency-Key"] == f"ocpizza-checkout-{order.number}"
    assert f"/commande/{order.number}/" in requests.utils.unquote(sent.body)


def test_stripe_down_says_so_and_gives_the_stock_back(client, shop, stripe_api):
    stripe_api.post(f"{STRIPE_API}/v1/checkout/sessions", body=requests.ConnectionError("down"))
    fill_cart(client, shop)
    response = checkout(client, payment_method="online_card")
    order = Order.objects.get()
    assert response.status_code == 302 and response.url.startswith(f"/commande/{order.number}/")
    assert order.state == OrderState.CANCELLED
    assert shop.level("dough") == 10 and ledger_matches_levels()
    page = client.get(response.url).content.decode()
    assert '<strong data-state="cancelled">Annulée</strong>' in page
    assert "paiement en ligne est indisponible" in page


def test_after_the_webhook_the_order_page_says_received(client, shop, stripe_api):
    session_created(stripe_api)
    fill_cart(client, shop)
    checkout(client, payment_method="online_card")
    order = Order.objects.get()
    response = post_event(client, session_event(order))
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (OrderState.RECEIVED, "paid")
    html = client.get(order_tracking_url(number=order.number)).content.decode()
    assert '<strong data-state="received">Reçue</strong>' in html
