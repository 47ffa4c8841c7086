"""Stripe Checkout, refunds and expiry, driven through the real stripe library against faked HTTP."""

import datetime
import json
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from production.models import StockMovement
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.queue import run_queued_tasks
from ventes import services
from ventes.exceptions import (
    OnlinePaymentDisabled,
    PaymentDeclined,
    PaymentNotExpected,
    PaymentProviderUnavailable,
)
from ventes.gateway import online_payment_enabled
from ventes.models import CancelReason, Order, OrderState, Payment, PaymentState, Refund
from ventes.payments import (
    checkout_session_create,
    refunds_retry_due,
    stripe_event_handle,
)
from ventes.services import LineRequest, orders_expire_unpaid
from ventes.workflow import order_transition

from .conftest import (
    CANCEL_URL,
    CHECKOUT_URL,
    PAYMENT_INTENT,
    SESSION_ID,
    STRIPE_API,
    SUCCESS_URL,
    checkout,
    event,
    form,
    post_event,
    session_created,
    session_event,
)
from .helpers import place

pytestmark = pytest.mark.django_db
S = OrderState
REFUNDS_URL = f"{STRIPE_API}/v1/refunds"
EXPIRE_URL = f"{STRIPE_API}/v1/checkout/sessions/{SESSION_ID}/expire"


def refund_made(stripe_api, amount):
    stripe_api.post(
        REFUNDS_URL,
        json={"id": "re_test_1", "object": "refund", "amount": amount, "status": "succeeded"},
    )


def paid_order(shop, stripe_api, client, **overrides):
    """An order paid online and confirmed by the webhook: in the queue, ``received``."""
    order = checkout(shop, stripe_api, **overrides)
    assert post_event(client, session_event(order)).status_code == 200
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.RECEIVED, PaymentState.PAID)
    return order


def test_online_payment_is_off_without_every_key(settings, stripe_keys):
    assert online_payment_enabled()
    for name in ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"]:
        setattr(settings, name, "")
        assert not online_payment_enabled()
        setattr(settings, name, "set")


def test_checkout_session_carries_server_amounts_and_an_idempotency_key(shop, stripe_api, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "PAYMENT_EXPIRY_MINUTES": 45}
    order = place(
        shop,
        [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)],
        payment_method="online_card",
        fulfilment="delivery",
    )
    session_created(stripe_api)

    url = checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    assert url == CHECKOUT_URL
    [call] = stripe_api.calls
    assert call.request.headers["Idempotency-Key"] == f"ocpizza-checkout-{order.number}"
    assert call.request.headers["Authorization"] == "Bearer sk_test_not_real"
    assert call.request.req_kwargs["timeout"] == 4.0
    sent = form(call)
    items = {
        sent[f"line_items[{i}][price_data][product_data][name]"]: (
            sent[f"line_items[{i}][price_data][unit_amount]"],
            sent[f"line_items[{i}][quantity]"],
            sent[f"line_items[{i}][price_data][currency]"],
        )
        for i in range(3)
    }
    assert items == {
        "Margherita": ("950", "2", "eur"),
        "Peroni": ("450", "1", "eur"),
        "Frais de livraison": ("250", "1", "eur"),
    }
    assert order.total == Decimal("26.00") == sum(Decimal(p) * int(q) for p, q, _ in items.values()) / 100
    assert sent["mode"] == "payment"
    assert sent["success_url"] == SUCCESS_URL
    assert sent["cancel_url"] == CANCEL_URL
    assert sent["client_reference_id"] == str(order.pk)
    assert sent["metadata[order_id]"] == str(order.pk)
    assert sent["metadata[order_number]"] == order.number
    assert sent["customer_email"] == "camille@example.com"
    assert int(sent["expires_at"]) == int((order.created_at + datetime.timedelta(minutes=45)).timestamp())
    payment = Payment.objects.get(order=order)
    assert (payment.state, payment.provider, payment.provider_reference) == ("pending", "stripe", SESSION_ID)
    assert payment.amount == order.total
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.PENDING_PAYMENT, PaymentState.PENDING)


@pytest.mark.parametrize(("minutes", "low", "high"), [(10, 30.5, 32), (3 * 24 * 60, 23.9 * 60, 24 * 60)])
def test_expiry_is_kept_within_what_stripe_accepts(shop, stripe_api, settings, minutes, low, high):
    settings.OCPIZZA = {**settings.OCPIZZA, "PAYMENT_EXPIRY_MINUTES": minutes}
    before = timezone.now()
    checkout(shop, stripe_api)
    expires_at = int(form(stripe_api.calls[0])["expires_at"])
    assert expires_at >= int((before + datetime.timedelta(minutes=low)).timestamp())
    assert expires_at <= int((timezone.now() + datetime.timedelta(minutes=high)).timestamp())


def unreachable(stripe_api):
    stripe_api.post(f"{STRIPE_API}/v1/checkout/sessions", body=requests.ConnectionError("no route to host"))


def too_slow(stripe_api):
    stripe_api.post(f"{STRIPE_API}/v1/checkout/sessions", body=requests.ReadTimeout("read timed out"))


def server_error(stripe_api):
    stripe_api.post(
        f"{STRIPE_API}/v1/checkout/sessions",
        status=500,
        json={"error": {"type": "api_error", "message": "Something went wrong"}},
    )


@pytest.mark.parametrize("failure", [unreachable, too_slow, server_error])
def test_stripe_down_cancels_the_order_and_gives_its_stock_back(
    shop, stripe_api, failure, django_capture_on_commit_callbacks
):
    dough = shop.level("dough")
    order = place(shop, payment_method="online_card")
    assert shop.level("dough") == dough - 1
    failure(stripe_api)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PaymentProviderUnavailable) as raised:
        checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    assert "indisponible" in raised.value.message
    assert "annulée" in raised.value.message
    order.refresh_from_db()
    assert (order.state, order.cancel_reason) == (S.CANCELLED, CancelReason.PAYMENT_EXPIRED)
    assert shop.level("dough") == dough
    assert ledger_matches_levels()
    assert not Payment.objects.exists()
    assert len(stripe_api.calls) == 1  # nothing else asked of Stripe


def test_one_network_retry_reuses_the_idempotency_key(shop, stripe_api, settings, monkeypatch):
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    monkeypatch.setattr("stripe._http_client.HTTPClient._sleep_time_seconds", lambda self, num_retries: 0)
    order = place(shop, payment_method="online_card")
    unreachable(stripe_api)
    session_created(stripe_api)

    assert checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL) == CHECKOUT_URL

    keys = {call.request.headers["Idempotency-Key"] for call in stripe_api.calls}
    assert len(stripe_api.calls) == 2
    assert keys == {f"ocpizza-checkout-{order.number}"}


def test_a_refused_request_is_a_clear_error_and_cancels_the_order(shop, stripe_api):
    order = place(shop, payment_method="online_card")
    stripe_api.post(
        f"{STRIPE_API}/v1/checkout/sessions",
        status=400,
        json={"error": {"type": "invalid_request_error", "message": "Amount too small", "param": "line_items"}},
    )
    with pytest.raises(PaymentDeclined) as raised:
        checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert "refusé" in raised.value.message
    assert Order.objects.get(pk=order.pk).state == S.CANCELLED


def test_without_keys_no_request_and_the_order_is_cancelled(shop, settings):
    order = place(shop, payment_method="online_card")
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(OnlinePaymentDisabled):
        checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert Order.objects.get(pk=order.pk).state == S.CANCELLED


def test_only_an_order_waiting_for_its_online_payment_gets_a_session(shop, stripe_api):
    for order in [place(shop), place(shop, payment_method="online_card")]:
        if order.payment_method == "online_card":
            order_transition(order_id=order.pk, to_state=S.CANCELLED, cancel_reason=CancelReason.CUSTOMER)
            order.refresh_from_db()
        with pytest.raises(PaymentNotExpected):
            checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert not stripe_api.calls


def test_customer_cancel_of_a_prepaid_order_refunds_it(shop, stripe_api, client):
    customer = factories.CustomerFactory()
    order = paid_order(shop, stripe_api, client, customer=customer)
    dough = shop.level("dough")
    refund_made(stripe_api, int(order.total * 100))

    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=customer.user)
    assert stripe_api.calls[-1].request.url != REFUNDS_URL  # the cancel asks the worker, not Stripe
    run_queued_tasks()

    refund_call = stripe_api.calls[-1]
    assert refund_call.request.url == REFUNDS_URL
    assert refund_call.request.headers["Idempotency-Key"].startswith("ocpizza-refund-")
    sent = form(refund_call)
    assert sent["payment_intent"] == PAYMENT_INTENT
    assert sent["amount"] == "950"
    assert sent["metadata[order_number]"] == order.number
    order.refresh_from_db()
    assert (order.state, order.cancel_reason, order.payment_state) == (
        S.CANCELLED,
        CancelReason.CUSTOMER,
        PaymentState.REFUNDED,
    )
    payment = Payment.objects.get(order=order)
    assert (payment.state, payment.refunded_amount) == (Payment.State.REFUNDED, order.total)
    assert shop.level("dough") == dough + 1
    # Nothing is owed any more, and the retry job asks Stripe nothing.
    calls = len(stripe_api.calls)
    assert refunds_retry_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(stripe_api.calls) == calls


def test_cancelling_an_order_paid_at_the_door_asks_stripe_nothing(shop, stripe_api):
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    order = place(shop)
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason=CancelReason.TOO_BUSY)
    run_queued_tasks()
    assert not stripe_api.calls


def test_a_failed_refund_keeps_the_cancel_and_is_retried(shop, stripe_api, client, caplog):
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    order = paid_order(shop, stripe_api, client)
    stripe_api.post(REFUNDS_URL, body=requests.ConnectionError("Stripe down"))

    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason=CancelReason.SOLD_OUT)
    run_queued_tasks()  # the first try fails and queues the next one for later

    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.CANCELLED, PaymentState.PAID)
    refund = Refund.objects.get(order=order)
    assert (refund.state, refund.attempts) == (Refund.State.PENDING, 1)
    assert StockMovement.objects.filter(order=order, kind=StockMovement.RELEASE).exists()  # released

    stripe_api.replace("POST", REFUNDS_URL, body=requests.ConnectionError("still down"))
    assert refunds_retry_due(now=refund.next_attempt_at) == 0
    assert Order.objects.get(pk=order.pk).payment_state == PaymentState.PAID

    stripe_api.remove("POST", REFUNDS_URL)
    refund_made(stripe_api, 950)
    assert refunds_retry_due(now=Refund.objects.get(pk=refund.pk).next_attempt_at) == 1
    order.refresh_from_db()
    assert order.payment_state == PaymentState.REFUNDED
    keys = {call.request.headers["Idempotency-Key"] for call in stripe_api.calls if call.request.url == REFUNDS_URL}
    assert len(keys) == 1  # every attempt is the same refund for Stripe
    assert refunds_retry_due(now=timezone.now() + datetime.timedelta(days=1)) == 0


def test_a_charge_stripe_already_refunded_is_recorded(shop, stripe_api, client):
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    order = paid_order(shop, stripe_api, client)
    stripe_api.post(
        REFUNDS_URL,
        status=400,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_1 has already been refunded.",
            }
        },
    )
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason=CancelReason.TOO_BUSY)
    run_queued_tasks()
    assert Order.objects.get(pk=order.pk).payment_state == PaymentState.REFUNDED


def test_unpaid_order_expires_its_stock_goes_back_and_its_stripe_page_closes(shop, stripe_api):
    dough = shop.level("dough")
    order = checkout(shop, stripe_api)
    stripe_api.post(EXPIRE_URL, json={"id": SESSION_ID, "object": "checkout.session", "status": "expired"})
    later = order.created_at + datetime.timedelta(minutes=31)

    assert orders_expire_unpaid(now=order.created_at + datetime.timedelta(minutes=29)) == 0
    assert orders_expire_unpaid(now=later) == 1
    assert run_queued_tasks() == 2  # the page closed, the customer told

    order.refresh_from_db()
    assert (order.state, order.cancel_reason) == (S.CANCELLED, CancelReason.PAYMENT_EXPIRED)
    assert shop.level("dough") == dough
    assert ledger_matches_levels()
    assert stripe_api.calls[-1].request.url == EXPIRE_URL
    assert Payment.objects.get(order=order).state == Payment.State.FAILED


def test_expiry_cancels_even_when_stripe_fails(shop, stripe_api, caplog):
    order = checkout(shop, stripe_api)
    stripe_api.post(EXPIRE_URL, status=503, body=json.dumps({"error": {"type": "api_error", "message": "down"}}))

    assert orders_expire_unpaid(now=order.created_at + datetime.timedelta(minutes=31)) == 1
    run_queued_tasks()

    assert Order.objects.get(pk=order.pk).state == S.CANCELLED
    assert Payment.objects.get(order=order).state == Payment.State.PENDING
    assert "Could not expire Stripe session" in caplog.text


def test_cancel_after_a_partial_refund_on_stripe_refunds_the_rest(shop, stripe_api, client):
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    order = paid_order(shop, stripe_api, client)
    charge = {"id": "ch_1", "object": "charge", "amount": 950, "amount_refunded": 300, "payment_intent": PAYMENT_INTENT}
    assert post_event(client, event("charge.refunded", charge, event_id="evt_partial")).status_code == 200
    refund_made(stripe_api, 650)

    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason=CancelReason.SOLD_OUT)
    run_queued_tasks()

    refund_call = stripe_api.calls[-1]
    assert form(refund_call)["amount"] == "650"
    assert refund_call.request.headers["Idempotency-Key"].startswith("ocpizza-refund-")
    payment = Payment.objects.get(order=order)
    assert (payment.state, payment.refunded_amount) == (Payment.State.REFUNDED, order.total)


def test_expiry_job_leaves_alone_an_order_paid_while_it_ran(shop, stripe_api, monkeypatch):
    order = checkout(shop, stripe_api)
    real_transition = services.order_transition

    def paid_just_before(**kwargs):
        stripe_event_handle(event=session_event(order))
        return real_transition(**kwargs)

    monkeypatch.setattr(services, "order_transition", paid_just_before)
    assert orders_expire_unpaid(now=order.created_at + datetime.timedelta(minutes=31)) == 0
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.RECEIVED, PaymentState.PAID)
