"""Customer notifications: queued with the change that causes them, delivered once by the worker.

The worker runs in this process here (tests/queue.py); tests/ops/test_worker.py
runs real worker processes against a real SMTP server on PostgreSQL.
"""

import datetime
import smtplib

import pytest
import responses
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from production.models import StaffMember
from tests import factories
from tests.queue import run_queued_tasks
from tests.smtp_sink import SmtpSink
from ventes.models import Notification, Order, OrderState
from ventes.notifications import retry_delay
from ventes.workflow import order_transition

from .helpers import place


class RefusingEmailBackend(BaseEmailBackend):
    """A mail server that refuses the recipient for good (550)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"camille@example.com": (550, b"5.1.1 no such user")})


class DownEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


TWILIO_SID = "AC" + "0" * 32


def twilio_fake(settings, *, status: int = 201, body: dict | None = None) -> None:
    """SMS on, and Twilio's Messages endpoint faked at the HTTP level (the real client library makes the call)."""
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = TWILIO_SID, "secret", "+33700000000"
    responses.add(
        responses.POST,
        f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
        json=body or {"sid": "SM" + "1" * 32, "status": "queued"},
        status=status,
    )


@pytest.fixture
def pizzaiolo(shop):
    return factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user


def queued() -> list[tuple[str, dict]]:
    return [(row.task_path, row.args_kwargs["kwargs"]) for row in DBTaskResult.objects.ready().order_by("enqueued_at")]


def test_a_change_queues_its_message_in_its_own_transaction(shop, pizzaiolo, mailoutbox):
    order = place(shop)
    run_queued_tasks()
    with transaction.atomic():
        order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
        # Written before the commit, with the order: no window where the order is moved and its message not queued.
        assert queued() == [("ventes.notifications.order_notify", {"order_id": order.pk, "state": "preparing"})]
    assert len(mailoutbox) == 1  # only the placement's: nothing is sent in the transaction
    run_queued_tasks()
    assert [message.subject for message in mailoutbox][1:] == [f"Commande {order.number} : au four !"]


def test_a_rolled_back_change_queues_nothing(shop, pizzaiolo, mailoutbox):
    order = place(shop)
    run_queued_tasks()
    with pytest.raises(RuntimeError), transaction.atomic():
        order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
        raise RuntimeError("the stock write after it failed")
    assert queued() == []
    assert run_queued_tasks() == 0 and len(mailoutbox) == 1
    assert Order.objects.get(pk=order.pk).state == OrderState.RECEIVED


def test_an_undone_kitchen_tap_sends_one_au_four_email(shop, pizzaiolo, mailoutbox, django_capture_on_commit_callbacks):
    """« Commencer », « Annuler le geste », « Commencer »: the customer hears once that the order is in the oven."""
    order = place(shop)
    kitchen = Client()
    kitchen.force_login(pizzaiolo)
    slug = shop.pizzeria.slug
    for action in ("kitchen_start", "kitchen_undo", "kitchen_start"):
        with django_capture_on_commit_callbacks(execute=True):
            kitchen.post(reverse(f"production:{action}", kwargs={"slug": slug, "pk": order.pk}))
        run_queued_tasks()
    assert Order.objects.get(pk=order.pk).state == OrderState.PREPARING
    subjects = [message.subject for message in mailoutbox]
    assert subjects.count(f"Commande {order.number} : au four !") == 1
    assert list(order.notifications.values_list("state", "status")) == [("received", "sent"), ("preparing", "sent")]


@pytest.mark.parametrize(
    ("reason", "told"),
    [
        ("customer", "a été annulée à votre demande."),
        ("sold_out", "a été annulée par la pizzeria : un produit est en rupture de stock. Toutes nos excuses."),
    ],
)
def test_the_cancellation_email_tells_the_customer_why_without_the_staffs_words(shop, mailoutbox, reason, told):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    order = place(shop)
    run_queued_tasks()
    order_transition(
        order_id=order.pk, to_state=OrderState.CANCELLED, by=counter, cancel_reason=reason, note="a rappelé"
    )
    run_queued_tasks()
    body = mailoutbox[-1].body
    assert f"Votre commande {order.number} {told}" in body
    assert "a rappelé" not in body and "demande du client" not in body


def test_a_task_run_twice_sends_once(shop, mailoutbox):
    from ventes.notifications import order_notify

    order = place(shop)
    order_notify.enqueue(order_id=order.pk, state=OrderState.RECEIVED)
    assert run_queued_tasks() == 2
    assert len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"] == f"<ocpizza-{order.pk}-received-email@ocpizza>"


def test_mail_server_down_waits_then_delivers_once_when_back(shop, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.ventes.test_notifications.DownEmailBackend"
    order = place(shop)
    run_queued_tasks()
    notification = order.notifications.get()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in notification.last_error
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.task_path == "ventes.notifications.notification_send"
    assert retry.run_after - timezone.now() > datetime.timedelta(seconds=25)
    assert Order.objects.get(pk=order.pk).state == OrderState.RECEIVED

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())
    run_queued_tasks()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2) and notification.sent_at is not None
    assert len(mailoutbox) == 1


def test_retry_delay_doubles_and_is_capped(settings):
    settings.NOTIFY_RETRY_SECONDS, settings.NOTIFY_RETRY_MAX_SECONDS = 30, 900
    delays = [retry_delay(attempts=n).total_seconds() for n in range(1, 9)]
    assert delays == [30, 60, 120, 240, 480, 900, 900, 900]


def test_an_address_refused_for_good_is_not_retried(shop, settings, caplog):
    settings.EMAIL_BACKEND = "tests.ventes.test_notifications.RefusingEmailBackend"
    order = place(shop)
    run_queued_tasks()
    notification = order.notifications.get()
    assert (notification.status, notification.attempts) == ("failed", 1)
    assert "550" in notification.last_error
    assert not DBTaskResult.objects.ready().exists()
    assert f"ocpizza-{order.pk}-received-email refused for good" in caplog.text


def test_delivery_is_given_up_after_the_last_attempt(shop, settings):
    settings.EMAIL_BACKEND = "tests.ventes.test_notifications.DownEmailBackend"
    settings.NOTIFY_MAX_ATTEMPTS = 1
    order = place(shop)
    run_queued_tasks()
    assert order.notifications.get().status == "failed"
    assert not DBTaskResult.objects.ready().exists()


def test_a_notification_being_sent_elsewhere_is_left_to_that_worker(shop, mailoutbox):
    order = place(shop)
    Notification.objects.create(
        order=order,
        state="received",
        channel="email",
        recipient="camille@example.com",
        status="sending",
        attempts=1,
        lease_until=timezone.now() + datetime.timedelta(minutes=1),
    )
    run_queued_tasks()
    assert mailoutbox == []
    # Should that worker die, a task is queued to take the message over when its lease lapses.
    assert DBTaskResult.objects.filter(status="READY", task_path="ventes.notifications.notification_send").exists()


@pytest.mark.django_db(transaction=True)
@responses.activate(assert_all_requests_are_fired=False)
def test_the_request_that_moves_an_order_opens_no_connection_to_mail_or_sms(shop, settings, pizzaiolo):
    """Committed for real (on_commit runs): the kitchen tap answers without a word to the SMTP server or Twilio."""
    sink = SmtpSink().start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        twilio_fake(settings)
        order = place(shop)
        Order.objects.filter(pk=order.pk).update(sms_phone="+33612345678", sms_consent_at=timezone.now())
        run_queued_tasks()
        assert sink.connections == 1 and len(responses.calls) == 1
        kitchen = Client()
        kitchen.force_login(pizzaiolo)
        response = kitchen.post(
            reverse("production:kitchen_start", kwargs={"slug": shop.pizzeria.slug, "pk": order.pk})
        )
        assert response.status_code in (200, 302)
        assert Order.objects.get(pk=order.pk).state == OrderState.PREPARING
        assert sink.connections == 1 and len(responses.calls) == 1
        run_queued_tasks()
        assert sink.connections == 2 and len(responses.calls) == 2
        assert [message["Subject"] for message in sink.messages][-1] == f"Commande {order.number} : au four !"
    finally:
        sink.stop()


def test_the_order_page_shows_its_log_and_managers_list_the_failed_ones(client, django_user_model, shop, settings):
    settings.EMAIL_BACKEND = "tests.ventes.test_notifications.RefusingEmailBackend"
    failed = place(shop)
    run_queued_tasks()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent = place(shop, customer_email="dominique@example.com")
    run_queued_tasks()
    client.force_login(django_user_model.objects.create_superuser(email="boss@ocpizza.fr", password="x" * 12))

    page = client.get(f"/admin/ventes/order/{failed.pk}/change/").content.decode()
    assert "Notifications" in page and "échec" in page and "5.1.1 no such user" in page
    failures = client.get("/admin/ventes/notification/?status__exact=failed").content.decode()
    assert failed.number in failures and sent.number not in failures

    # The staff's own screens: the order page shows its log, the managers' dashboard the failures.
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    client.force_login(manager)
    order_page = client.get(f"/commande/{failed.number}/").content.decode()
    assert "Messages au client" in order_page and "5.1.1 no such user" in order_page and "échec" in order_page
    dashboard = client.get("/equipe/tableau-de-bord/").content.decode()
    assert "Messages clients en échec" in dashboard
    assert failed.number in dashboard and sent.number not in dashboard
    sent_page = client.get(f"/commande/{sent.number}/").content.decode()
    assert "Messages au client" in sent_page and "envoyée" in sent_page and "5.1.1" not in sent_page


def test_the_customer_does_not_see_the_staff_log(client, shop):
    customer = factories.CustomerFactory()
    order = place(shop, customer=customer)
    run_queued_tasks()
    client.force_login(customer.user)
    page = client.get(f"/commande/{order.number}/")
    assert page.status_code == 200
    assert "Messages au client" not in page.content.decode()
