"""Stripe faked at the HTTP level: the real stripe library talks to ``responses``, never to the network."""

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs

import pytest
import responses

from ventes.payments import checkout_session_create

from .helpers import place

STRIPE_API = "https://api.stripe.com"
WEBHOOK_SECRET = "whsec_test_secret_not_real"
SESSION_ID = "cs_test_a1b2c3"
PAYMENT_INTENT = "pi_test_a1b2c3"
CHECKOUT_URL = f"https://checkout.stripe.com/c/pay/{SESSION_ID}"
SUCCESS_URL = "https://ocpizza.test/commande/suivi/?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://ocpizza.test/panier/"


@pytest.fixture
def stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_not_real"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_not_real"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_TIMEOUT_SECONDS = 4.0
    # The library's back-off sleeps between retries; one retry is proved elsewhere, not waited for in every test.
    settings.STRIPE_MAX_NETWORK_RETRIES = 0


@pytest.fixture
def stripe_api(stripe_keys):
    # Any request that is not faked fails: the suite never reaches the network.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def form(call) -> dict[str, str]:
    """The form-encoded body the stripe library sent, flattened: {"line_items[0][quantity]": "2", ...}."""
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


def session_created(stripe_api, *, session_id=SESSION_ID):
    stripe_api.post(
        f"{STRIPE_API}/v1/checkout/sessions",
        json={"id": session_id, "object": "checkout.session", "url": CHECKOUT_URL, "status": "open"},
    )


def checkout(shop, stripe_api, **overrides):
    """An online order waiting for its payment, with its (faked) Stripe Checkout Session."""
    order = place(shop, payment_method="online_card", **overrides)
    session_created(stripe_api)
    checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    return order


def signature(body: str, *, secret=WEBHOOK_SECRET, timestamp=None) -> str:
    """Stripe's scheme, computed here rather than with the library under test."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(event_type: str, data: dict, *, event_id="evt_test_1") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-11-17.clover",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": data},
    }


def session_event(order, event_type="checkout.session.completed", *, event_id="evt_test_1", **fields) -> dict:
    session = {
        "id": SESSION_ID,
        "object": "checkout.session",
        "client_reference_id": str(order.pk),
        "metadata": {"order_id": str(order.pk), "order_number": order.number},
        "amount_total": int(order.total * 100),
        "currency": "eur",
        "payment_intent": PAYMENT_INTENT,
        "payment_status": "paid",
        "status": "complete",
    }
    session.update(fields)
    return event(event_type, session, event_id=event_id)


def post_event(client, payload: dict, **headers):
    body = json.dumps(payload)
    headers.setdefault("HTTP_STRIPE_SIGNATURE", signature(body))
    return client.post("/paiement/stripe/webhook/", data=body, content_type="application/json", **headers)
