"""Stripe deliveries racing each other and the expiry job, on a real PostgreSQL."""

import datetime
import threading

import pytest
from django.db import connection

from tests.queue import run_queued_tasks
from ventes.models import Order, OrderEvent, OrderState, Payment, PaymentState, StripeEvent
from ventes.payments import stripe_event_handle
from ventes.services import orders_expire_unpaid

from .conftest import STRIPE_API, checkout, session_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = OrderState


def together(*calls):
    """Run every call in its own thread and connection, released at the same instant; return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index):
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as error:  # anything raised is the failure these tests exist to catch
            results[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_one_event_delivered_eight_times_at_once_is_applied_once(shop, stripe_api):
    order = checkout(shop, stripe_api)
    paid = session_event(order)

    results = together(*[lambda: stripe_event_handle(event=paid)] * 8)

    assert sorted(results, key=str) == [False] * 7 + [True]
    assert StripeEvent.objects.count() == 1
    assert Payment.objects.get(order=order).state == Payment.State.SUCCEEDED
    assert OrderEvent.objects.filter(order=order, to_state=S.RECEIVED).count() == 1
    assert Order.objects.get(pk=order.pk).state == S.RECEIVED


@pytest.mark.parametrize("attempt", range(6))
def test_payment_racing_the_expiry_job_never_keeps_money_for_a_cancelled_order(shop, stripe_api, attempt):
    order = checkout(shop, stripe_api)
    stripe_api.post(f"{STRIPE_API}/v1/checkout/sessions/{order.payments.get().provider_reference}/expire", status=400)
    stripe_api.post(
        f"{STRIPE_API}/v1/refunds", json={"id": "re_1", "object": "refund", "amount": 950, "status": "succeeded"}
    )
    later = order.created_at + datetime.timedelta(minutes=31)

    results = together(lambda: stripe_event_handle(event=session_event(order)), lambda: orders_expire_unpaid(now=later))

    assert results[0] is True and results[1] in (0, 1), results
    run_queued_tasks()  # the worker asks Stripe for what a cancelled order had paid
    order.refresh_from_db()
    assert (order.state, order.payment_state) in {
        (S.RECEIVED, PaymentState.PAID),
        (S.CANCELLED, PaymentState.REFUNDED),
    }
    assert Payment.objects.get(order=order).state in {Payment.State.SUCCEEDED, Payment.State.REFUNDED}
