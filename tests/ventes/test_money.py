"""Money that stays right: every payment and refund an event of the order, refunds that happen, no double charge.

Stripe is the real library against ``responses``; webhooks are signed here with Stripe's scheme.
"""

import ast
import datetime
import json
import pathlib
import time
from decimal import Decimal

import pytest
import requests
from django.core import mail

from tests import factories
from tests.queue import run_queued_tasks
from ventes.exceptions import RefundNotAllowed
from ventes.models import (
    OrderEventType,
    OrderState,
    Payment,
    PaymentState,
    Refund,
    RefundReason,
    StripeEvent,
)
from ventes.payments import refund_request, refunds_retry_due
from ventes.workflow import order_transition

from .conftest import (
    PAYMENT_INTENT,
    STRIPE_API,
    checkout,
    event,
    form,
    post_event,
    session_created,
    session_event,
    signature,
)

pytestmark = pytest.mark.django_db
S = OrderState
T = OrderEventType
REFUNDS_URL = f"{STRIPE_API}/v1/refunds"
SECOND_SESSION, SECOND_INTENT = "cs_test_second", "pi_test_second"


def refund_made(stripe_api, amount, refund_id="re_test_1"):
    stripe_api.post(REFUNDS_URL, json={"id": refund_id, "object": "refund", "amount": amount, "status": "succeeded"})


def paid_order(shop, stripe_api, client, **overrides):
    order = checkout(shop, stripe_api, **overrides)
    assert post_event(client, session_event(order)).status_code == 200
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.RECEIVED, PaymentState.PAID)
    return order


def types(order):
    return list(order.events.order_by("at", "pk").values_list("type", flat=True))


def status_etag(client, order):
    response = client.get(f"/commande/{order.number}/suivi/")
    assert response.status_code == 200
    return response["ETag"]


def changed_since(client, order, etag) -> bool:
    response = client.get(f"/commande/{order.number}/suivi/", headers={"If-None-Match": etag})
    return response.status_code == 200


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


# Point 2: every change is a typed event, and moves the live page's ETag.


def test_a_full_refund_from_stripe_moves_the_order_status_etag(shop, stripe_api, client):
    customer = factories.CustomerFactory()
    order = paid_order(shop, stripe_api, client, customer=customer)
    client.force_login(customer.user)
    etag = status_etag(client, order)
    assert not changed_since(client, order, etag)

    charge = {"id": "ch_1", "object": "charge", "amount": 950, "amount_refunded": 950, "payment_intent": PAYMENT_INTENT}
    assert post_event(client, event("charge.refunded", charge, event_id="evt_refund")).status_code == 200

    assert changed_since(client, order, etag)
    response = client.get(f"/commande/{order.number}/suivi/")
    assert "remboursée" in response.content.decode()
    assert types(order)[-1] == T.REFUND_SUCCEEDED
    assert order.events.last().params["amount"] == "9.50"


def test_a_partial_refund_from_stripe_moves_the_etag_and_shows_in_the_history(shop, stripe_api, client):
    customer = factories.CustomerFactory()
    order = paid_order(shop, stripe_api, client, customer=customer)
    client.force_login(customer.user)
    etag = status_etag(client, order)

    charge = {"id": "ch_1", "object": "charge", "amount": 950, "amount_refunded": 300, "payment_intent": PAYMENT_INTENT}
    assert post_event(client, event("charge.refunded", charge, event_id="evt_partial")).status_code == 200

    assert changed_since(client, order, etag)
    html = client.get(f"/commande/{order.number}/suivi/").content.decode()
    assert "Remboursement effectué : 3,00 €" in html


def test_a_payment_webhook_moves_the_etag_and_is_a_typed_event(shop, stripe_api, client):
    customer = factories.CustomerFactory()
    order = checkout(shop, stripe_api, customer=customer)
    client.force_login(customer.user)
    etag = status_etag(client, order)

    assert post_event(client, session_event(order)).status_code == 200

    assert changed_since(client, order, etag)
    assert types(order) == [T.PLACED, T.PAYMENT_SUCCEEDED, T.STATE_MOVED]
    paid = order.events.get(type=T.PAYMENT_SUCCEEDED)
    assert (paid.from_state, paid.to_state) == ("", "")
    assert paid.params["payment_intent"] == PAYMENT_INTENT and paid.params["amount"] == "9.50"


def test_a_second_payment_of_a_paid_order_moves_the_etag(shop, stripe_api, client, django_capture_on_commit_callbacks):
    customer = factories.CustomerFactory()
    order = paid_order(shop, stripe_api, client, customer=customer)
    client.force_login(customer.user)
    etag = status_etag(client, order)
    refund_made(stripe_api, 950)

    with django_capture_on_commit_callbacks(execute=True):
        second = session_event(order, event_id="evt_second", id=SECOND_SESSION, payment_intent=SECOND_INTENT)
        assert post_event(client, second).status_code == 200

    assert changed_since(client, order, etag)


def test_lines_edited_keeps_before_and_after(shop, client):
    from ventes.services import LineRequest, order_edit_lines

    from .helpers import place

    customer = factories.CustomerFactory()
    order = place(shop, customer=customer)
    order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 2)], by=customer.user)

    edited = order.events.get(type=T.LINES_EDITED)
    assert edited.params["before"][0]["quantity"] == 1 and edited.params["after"][0]["quantity"] == 2
    assert (edited.from_state, edited.to_state) == ("", "")


# Point 5: no double charge, and no webhook from the future.


def test_a_second_paid_session_is_refunded_automatically_once(shop, stripe_api, client):
    order = paid_order(shop, stripe_api, client)
    refund_made(stripe_api, 950)
    second = session_event(order, event_id="evt_second", id=SECOND_SESSION, payment_intent=SECOND_INTENT)

    for _ in range(3):  # Stripe delivers at least once
        assert post_event(client, second).status_code == 200
    async_twin = session_event(
        order,
        "checkout.session.async_payment_succeeded",
        event_id="evt_second_async",
        id=SECOND_SESSION,
        payment_intent=SECOND_INTENT,
    )
    assert post_event(client, async_twin).status_code == 200
    run_queued_tasks()

    refund_calls = [call for call in stripe_api.calls if call.request.url == REFUNDS_URL]
    assert len(refund_calls) == 1
    sent = form(refund_calls[0])
    assert (sent["payment_intent"], sent["amount"], sent["reason"]) == (SECOND_INTENT, "950", "duplicate")
    assert refund_calls[0].request.headers["Idempotency-Key"].startswith("ocpizza-refund-")
    refund = Refund.objects.get(order=order)
    assert (refund.reason, refund.state, refund.payment.provider_payment_id) == (
        RefundReason.DUPLICATE_PAYMENT,
        Refund.State.SUCCEEDED,
        SECOND_INTENT,
    )
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.RECEIVED, PaymentState.PAID)  # the first payment stands
    assert types(order).count(T.DUPLICATE_PAYMENT_REFUNDED) == 1
    assert types(order)[-1] == T.REFUND_SUCCEEDED
    first, duplicate = Payment.objects.filter(order=order).order_by("pk")
    assert (first.state, duplicate.state) == (Payment.State.SUCCEEDED, Payment.State.REFUNDED)


def test_sessions_completing_out_of_order_still_charge_once(shop, stripe_api, client):
    order = checkout(shop, stripe_api)
    session_created(stripe_api, session_id=SECOND_SESSION)
    refund_made(stripe_api, 950)
    second = session_event(order, event_id="evt_second", id=SECOND_SESSION, payment_intent=SECOND_INTENT)
    expired_first = session_event(order, "checkout.session.expired", event_id="evt_first_expired")
    first = session_event(order, event_id="evt_first")

    for payload in [second, expired_first, first, second]:
        assert post_event(client, payload).status_code == 200
    run_queued_tasks()

    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.RECEIVED, PaymentState.PAID)
    refund = Refund.objects.get(order=order)
    # The session that paid first is the order's; the other (late, whatever Stripe's order of events) goes back.
    assert refund.payment.provider_payment_id == PAYMENT_INTENT
    assert refund.state == Refund.State.SUCCEEDED
    assert StripeEvent.objects.count() == 3


@pytest.mark.parametrize("seconds", [3600, 301])
def test_a_signature_from_the_future_is_refused(shop, stripe_api, client, seconds):
    order = checkout(shop, stripe_api)
    body = json.dumps(session_event(order))

    response = client.post(
        "/paiement/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body, timestamp=int(time.time()) + seconds),
    )

    assert response.status_code == 400
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (S.PENDING_PAYMENT, PaymentState.PENDING)
    assert not StripeEvent.objects.exists()


def test_a_signature_a_little_ahead_is_still_taken(shop, stripe_api, client):
    order = checkout(shop, stripe_api)
    body = json.dumps(session_event(order))
    response = client.post(
        "/paiement/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(body, timestamp=int(time.time()) + 30),
    )
    assert response.status_code == 200


# Point 4: refunds that happen.


def test_a_failing_refund_is_retried_with_backoff_and_managers_are_told(shop, stripe_api, client, manager, settings):
    settings.OCPIZZA = {
        **settings.OCPIZZA,
        "REFUND_RETRY_BASE_MINUTES": 5,
        "REFUND_RETRY_MAX_MINUTES": 15,
        "REFUND_ALERT_AFTER_ATTEMPTS": 3,
    }
    manager.email = "chef@ocpizza.test"
    manager.save()
    order = paid_order(shop, stripe_api, client)
    stripe_api.post(REFUNDS_URL, body=requests.ConnectionError("Stripe down"))

    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason="sold_out")
    run_queued_tasks()  # the first try fails and queues the next one for later
    refund = Refund.objects.get(order=order)
    delays = []
    for _ in range(3):
        before = refund.next_attempt_at
        assert refunds_retry_due(now=before - datetime.timedelta(seconds=1)) == 0  # not due yet
        assert refunds_retry_due(now=before) == 0
        refund.refresh_from_db()
        delays.append(refund.next_attempt_at - before)
    assert not [m for m in mail.outbox if m.subject.startswith("Remboursement bloqué")]  # the worker sends it
    run_queued_tasks()

    assert refund.attempts == 4
    assert delays == [datetime.timedelta(minutes=m) for m in (10, 15, 15)]  # doubling, capped
    assert "Stripe down" in refund.last_error
    alerts = [message for message in mail.outbox if message.subject.startswith("Remboursement bloqué")]
    assert len(alerts) == 1  # told once, at the third failure
    assert order.number in alerts[0].subject and alerts[0].to == ["chef@ocpizza.test"]
    assert types(order).count(T.REFUND_FAILED) == 4

    client.force_login(manager)
    dashboard = client.get("/equipe/tableau-de-bord/").content.decode()
    assert "Remboursements bloqués" in dashboard and order.number in dashboard

    stripe_api.remove("POST", REFUNDS_URL)
    refund_made(stripe_api, 950)
    assert refunds_retry_due(now=refund.next_attempt_at) == 1
    order.refresh_from_db()
    assert order.payment_state == PaymentState.REFUNDED
    keys = {call.request.headers["Idempotency-Key"] for call in stripe_api.calls if call.request.url == REFUNDS_URL}
    assert keys == {refund.idempotency_key}
    assert "Remboursements bloqués" not in client.get("/equipe/tableau-de-bord/").content.decode()


def test_the_retry_job_queues_the_work_and_the_worker_makes_the_refund_once(
    settings, shop, stripe_api, client, manager
):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    assert ("*/5 * * * *", "ocpizzapp.cron.retry_refunds") in settings.CRONJOBS
    order = paid_order(shop, stripe_api, client)
    stripe_api.post(REFUNDS_URL, body=requests.ConnectionError("Stripe down"))
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason="sold_out")
    run_queued_tasks()
    refund = Refund.objects.get(order=order)
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=refund.next_attempt_at - datetime.timedelta(hours=1))
    stripe_api.remove("POST", REFUNDS_URL)
    refund_made(stripe_api, 950)

    DBTaskResult.objects.all().delete()  # as if the retry the failed try queued were lost
    call_command("cron_job", "retry_refunds")
    call_command("cron_job", "retry_refunds")  # two servers' cron, or a late one: the refund is still made once
    assert Refund.objects.get(pk=refund.pk).state == Refund.State.PENDING  # cron only queued it
    assert set(DBTaskResult.objects.values_list("task_path", flat=True)) == {"ocpizzapp.tasks.refunds_retry"}
    run_queued_tasks()
    assert Refund.objects.get(pk=refund.pk).state == Refund.State.SUCCEEDED
    assert sorted(DBTaskResult.objects.values_list("return_value", flat=True)) == [0, 1]
    refund_calls = [call for call in stripe_api.calls if call.request.url == REFUNDS_URL]
    assert len({call.request.headers["Idempotency-Key"] for call in refund_calls}) == 1


def test_a_try_due_from_its_task_and_from_the_job_counts_one_failure(shop, stripe_api, client, manager):
    from ventes.payments import refund_attempt

    order = paid_order(shop, stripe_api, client)
    stripe_api.post(REFUNDS_URL, body=requests.ConnectionError("Stripe down"))
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason="sold_out")
    run_queued_tasks()
    due = Refund.objects.get(order=order).next_attempt_at

    refund_attempt(refund_id=Refund.objects.get(order=order).pk, now=due)  # the queued try
    assert refunds_retry_due(now=due) == 0  # and the job, at the same moment

    refund = Refund.objects.get(order=order)
    assert refund.attempts == 2
    assert types(order).count(T.REFUND_FAILED) == 2


def test_the_managers_alert_waits_for_a_mail_server_that_is_down(shop, stripe_api, client, manager, settings):
    from django_tasks_db.models import DBTaskResult

    from ventes.payments import refund_managers_alert

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    manager.email = "chef@ocpizza.test"
    manager.save()
    order = paid_order(shop, stripe_api, client)
    stripe_api.post(REFUNDS_URL, body=requests.ConnectionError("Stripe down"))
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=manager, cancel_reason="sold_out")
    refund = Refund.objects.get(order=order)
    DBTaskResult.objects.all().delete()

    refund_managers_alert.enqueue(refund_id=refund.pk)
    assert run_queued_tasks() == 1
    (later,) = DBTaskResult.objects.filter(status="READY")
    assert later.task_path == "ventes.payments.refund_managers_alert"
    assert later.args_kwargs["kwargs"] == {"refund_id": refund.pk, "attempt": 2}
    assert later.run_after is not None


def test_no_message_promises_a_retry_that_no_job_makes():
    root = pathlib.Path(__file__).resolve().parents[2]
    promising = [
        path for path in [*root.glob("ventes/**/*.py"), *root.glob("ventes/**/*.html")] if "retenté" in path.read_text()
    ]
    assert promising  # the promise is made...
    cron = (root / "ocpizzapp" / "settings.py").read_text()
    assert "ocpizzapp.cron.retry_refunds" in cron  # ...and kept


# Point 3: refunds a manager makes.


def test_a_manager_refunds_part_of_an_online_order_through_stripe(shop, stripe_api, client, manager):
    order = paid_order(shop, stripe_api, client)
    refund_made(stripe_api, 250)

    (refund,) = refund_request(order_id=order.pk, reason=RefundReason.QUALITY, by=manager, amount=Decimal("2.50"))
    run_queued_tasks()

    refund.refresh_from_db()
    assert (refund.state, refund.amount, refund.by) == (Refund.State.SUCCEEDED, Decimal("2.50"), manager)
    call = stripe_api.calls[-1]
    assert form(call)["amount"] == "250"
    assert call.request.headers["Idempotency-Key"] == refund.idempotency_key
    order.refresh_from_db()
    assert order.payment_state == PaymentState.PAID  # part of it only
    assert types(order)[-2:] == [T.REFUND_REQUESTED, T.REFUND_SUCCEEDED]


def test_never_more_than_was_paid(shop, stripe_api, client, manager):
    order = paid_order(shop, stripe_api, client)
    refund_made(stripe_api, 900)
    refund_request(order_id=order.pk, reason=RefundReason.LATE, by=manager, amount=Decimal("9.00"))
    run_queued_tasks()
    before = (Refund.objects.count(), order.events.count(), len(stripe_api.calls))

    with pytest.raises(RefundNotAllowed) as refused:
        refund_request(order_id=order.pk, reason=RefundReason.LATE, by=manager, amount=Decimal("0.51"))

    assert "0,50 € au plus" in refused.value.message
    assert (Refund.objects.count(), order.events.count(), len(stripe_api.calls)) == before


def test_a_door_payment_is_refunded_in_cash_by_the_manager(shop, manager):
    from .helpers import place

    order = place(shop)
    for state in [S.PREPARING, S.READY, S.COMPLETED]:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    line = order.lines.get()

    (refund,) = refund_request(order_id=order.pk, reason=RefundReason.MISSING_ITEM, by=manager, lines={line.pk: 1})

    assert (refund.method, refund.state, refund.amount, refund.by) == (
        "cash",
        Refund.State.SUCCEEDED,
        line.unit_price,
        manager,
    )
    order.refresh_from_db()
    assert order.payment_state == PaymentState.REFUNDED
    assert types(order)[-1] == T.REFUND_SUCCEEDED
    completed = order.events.get(to_state=S.COMPLETED)
    assert completed.params["payment"] == {
        "payment_id": refund.payment_id,
        "method": "cash",
        "amount": str(order.total),
    }


def test_only_a_manager_refunds(shop, manager):
    from .helpers import place

    order = place(shop)
    for state in [S.PREPARING, S.READY, S.COMPLETED]:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    counter = factories.StaffMemberFactory(role="counter", pizzeria=shop.pizzeria).user
    with pytest.raises(RefundNotAllowed):
        refund_request(order_id=order.pk, reason=RefundReason.QUALITY, by=counter)
    assert not Refund.objects.exists()


# Point 11: the shape.


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names |= {f"{base}.{alias.name}" if node.module else f"{base}{alias.name}" for alias in node.names}
    return names


def test_stripe_is_called_from_the_gateway_only():
    root = pathlib.Path(__file__).resolve().parents[2]
    sources = [p for app in ["ventes", "production", "ocpizzapp", "accounts"] for p in (root / app).rglob("*.py")]
    users = sorted(str(p.relative_to(root)) for p in sources if any(n.split(".")[0] == "stripe" for n in _imports(p)))
    assert users == ["ventes/gateway.py"]


def test_the_workflow_and_the_payments_do_not_import_each_other():
    root = pathlib.Path(__file__).resolve().parents[2] / "ventes"
    workflow_imports = _imports(root / "workflow.py")
    assert not any("payments" in name or "gateway" in name for name in workflow_imports)
