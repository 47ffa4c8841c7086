"""Real task workers (``manage.py run_worker`` processes) on the PostgreSQL test database, mailing a real SMTP server.

Orders are placed in this process and committed for real; the workers are
separate processes that see only what was committed, as on a server.
"""

import os
import signal

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult
from maintenance_mode.core import set_maintenance_mode

from production.models import StaffMember
from tests import factories
from tests.ops.servers import wait_until
from tests.security.conftest import database_url
from tests.smtp_sink import SmtpSink
from tests.stripe_fake import StripeFake
from tests.ventes.conftest import CANCEL_URL, SUCCESS_URL, WEBHOOK_SECRET, session_event
from tests.ventes.helpers import place
from ventes.models import CancelReason, Notification, Order, OrderState, PaymentState, Refund
from ventes.payments import checkout_session_create, stripe_event_handle
from ventes.workflow import order_transition

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sink():
    server = SmtpSink()
    yield server
    server.stop()


@pytest.fixture
def worker_env(sink):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "DATABASE_URL": database_url()}
    for name in ("ENV_MODE", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        EMAIL_URL=sink.email_url,
        EMAIL_TIMEOUT="20",
        # Short delays so that a test sees retries and recoveries within seconds.
        WORKER_HEARTBEAT_SECONDS="0.5",
        WORKER_LOST_SECONDS="3",
        NOTIFY_RETRY_SECONDS="0.5",
        NOTIFY_RETRY_MAX_SECONDS="1",
        NOTIFY_SEND_LEASE_SECONDS="4",
        LOG_LEVEL="WARNING",
    )
    return env


def notification_of(order: Order) -> Notification:
    return Notification.objects.get(order=order)


def test_a_committed_order_is_mailed_and_a_rolled_back_change_never(shop, sink, worker_env, workers):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    sink.start()
    workers(worker_env)
    order = place(shop)
    with pytest.raises(RuntimeError), transaction.atomic():
        order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
        raise RuntimeError("something after the kitchen tap failed")
    assert DBTaskResult.objects.count() == 1  # the placement's only
    # Maintenance mode closes the shop to customers, not the worker.
    set_maintenance_mode(True)
    try:
        wait_until(lambda: len(sink.messages) == 1, what="the order's confirmation", limit=90)
    finally:
        set_maintenance_mode(False)
    assert sink.messages[0]["Subject"] == f"Commande {order.number} reçue"
    assert sink.messages[0]["To"] == "camille@example.com"
    wait_until(lambda: notification_of(order).status == "sent", what="the notification marked sent")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert len(sink.messages) == 1


def test_mail_server_down_then_back_delivers_once(shop, sink, worker_env, workers):
    workers(worker_env)  # the sink is not started: nothing listens on its port
    order = place(shop)
    wait_until(lambda: Notification.objects.filter(order=order, attempts__gte=2).exists(), what="retries", limit=90)
    assert Order.objects.get(pk=order.pk).state == OrderState.RECEIVED
    assert "injoignable" in notification_of(order).last_error
    sink.start()
    wait_until(lambda: notification_of(order).status == "sent", what="delivery once the server is back", limit=90)
    assert len(sink.messages) == 1


def test_a_worker_killed_mid_send_leaves_one_message(shop, sink, worker_env, workers):
    sink.start()
    sink.handler.holding.set()  # the server takes the message but does not answer: the worker waits
    first = workers(worker_env)
    order = place(shop)
    assert sink.handler.held.wait(90), "the worker never reached the mail server"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    sink.handler.holding.clear()  # never acknowledged: not delivered
    assert notification_of(order).status == "sending"

    workers(worker_env)
    wait_until(lambda: notification_of(order).status == "sent", what="the message taken over", limit=90)
    assert len(sink.messages) == 1
    assert notification_of(order).attempts == 2


def test_two_workers_send_each_message_once(shop, sink, worker_env, workers):
    sink.start()
    workers(worker_env)
    workers(worker_env)
    orders = [place(shop, customer_email=f"client{n}@example.com") for n in range(8)]
    wait_until(lambda: len(sink.messages) >= 8, what="eight confirmations", limit=120)
    wait_until(lambda: Notification.objects.filter(status="sent").count() == 8, what="eight sent", limit=30)
    assert sorted(message["To"] for message in sink.messages) == sorted(order.customer_email for order in orders)
    assert len({message["Message-ID"] for message in sink.messages}) == 8


@pytest.fixture
def stripe_server():
    server = StripeFake(refund_failures=2).start()
    yield server
    server.stop()


def test_a_refund_stripe_refuses_is_retried_by_the_worker_until_made(
    shop, settings, stripe_server, worker_env, workers
):
    stripe = {
        "STRIPE_SECRET_KEY": "sk_test_not_real",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_not_real",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_server.url,
    }
    for name, value in stripe.items():
        setattr(settings, name, value)
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    # Tries 0.6 s then 1.2 s apart rather than minutes.
    worker_env.update(
        stripe, STRIPE_MAX_NETWORK_RETRIES="0", REFUND_RETRY_BASE_MINUTES="0.01", REFUND_RETRY_MAX_MINUTES="0.02"
    )
    order = place(shop, payment_method="online_card")
    checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    stripe_event_handle(event=session_event(order))
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user

    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=manager, cancel_reason=CancelReason.SOLD_OUT)
    assert not stripe_server.refund_calls()  # the cancel asked the worker, not Stripe
    workers(worker_env)

    wait_until(lambda: Refund.objects.get(order=order).state == "succeeded", what="the refund made", limit=90)
    refund = Refund.objects.get(order=order)
    assert refund.attempts == 3
    calls = stripe_server.refund_calls()
    assert len(calls) == 3  # refused twice, then made; nothing more
    assert {call.headers["Idempotency-Key"] for call in calls} == {refund.idempotency_key}
    assert calls[-1].form["amount"] == str(int(order.total * 100))
    assert Order.objects.get(pk=order.pk).payment_state == PaymentState.REFUNDED
