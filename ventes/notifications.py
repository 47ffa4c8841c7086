"""Customers told about their order, by e-mail and SMS, once per state and channel.

The change of an order queues one task row in its own transaction
(``order_notify_queue``): a committed change always has its messages queued, a
rolled-back one never, and the request that made it never waits on a mail
server or an SMS provider. A worker then writes one ``Notification`` row per
channel (unique per order, state and channel, so an undone kitchen tap or a
task run twice sends nothing more) and delivers it:

- a server that is down or slow: the row waits and a new task is queued for
  later, with a doubling delay capped at NOTIFY_RETRY_MAX_SECONDS;
- a message refused for good (unknown address, invalid number): marked
  failed at once and logged, for the managers' list;
- a worker killed mid-send: the row stays « sending » until its lease lapses,
  then the task that is run again takes it over.
"""

import datetime
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from . import sms
from .estimates import order_expected_range
from .models import CANCELLED_WHY_TO_CUSTOMER, Customer, Fulfilment, Notification, Order, OrderState
from .tracking import order_tracking_url

logger = logging.getLogger(__name__)

SUBJECTS: dict[str, str] = {
    OrderState.RECEIVED: "Commande {number} reçue",
    OrderState.PREPARING: "Commande {number} : au four !",
    OrderState.READY: "Commande {number} prête",
    OrderState.OUT_FOR_DELIVERY: "Commande {number} en route",
    OrderState.COMPLETED: "Commande {number} : bon appétit !",
    OrderState.CANCELLED: "Commande {number} annulée",
}
# One SMS segment (160 GSM-7 letters: é, è, à, ù but no ê, ô, ç) with the tracking link, whose
# signed token takes about 115 of them: the texts stay under 45.
SMS_TEXTS: dict[str, str] = {
    OrderState.RECEIVED: "OC Pizza : commande enregistrée. {url}",
    OrderState.PREPARING: "OC Pizza : commande au four ! {url}",
    OrderState.READY: "OC Pizza : à retirer au comptoir ! {url}",
    OrderState.OUT_FOR_DELIVERY: "OC Pizza : commande en route ! {url}",
    OrderState.COMPLETED: "OC Pizza : commande terminée. Bon appétit !",
    OrderState.CANCELLED: "OC Pizza : commande annulée. {url}",
}
SMS_READY_FOR_DELIVERY = "OC Pizza : sortie du four, le livreur arrive ! {url}"

Status = Notification.Status
Kind = Notification.Kind


class DeliveryRefused(Exception):
    """Refused for good: trying again would fail the same way."""


class DeliveryDelayed(Exception):
    """Could not be delivered now: try again later."""


def order_notify_queue(*, order_id: int, state: str) -> None:
    """Queue the customer's messages about ``state``, in the caller's transaction (one task row)."""
    if state in SUBJECTS:
        order_notify.enqueue(order_id=order_id, state=state)


def customer_notify_choice(*, customer: Customer) -> str:
    """The checkout's « suivi » choice matching what the customer chose in their account."""
    if customer.sms_consent_at is None or not customer.sms_phone:
        return "email"
    return "both" if customer.notify_email else "sms"


def order_channels(*, order: Order) -> dict[str, str]:
    """The channels this order's customer asked for, with the address of each."""
    channels: dict[str, str] = {}
    if order.notify_email and order.customer_email:
        channels[Kind.EMAIL] = order.customer_email
    if order.sms_phone and order.sms_consent_at is not None and sms.sms_enabled():
        channels[Kind.SMS] = str(order.sms_phone)
    return channels


def order_notifications_create(*, order_id: int, state: str) -> list[Notification]:
    """The order's notification rows for ``state``, one per channel; those already there are kept as they are."""
    order = Order.objects.get(pk=order_id)
    return [
        Notification.objects.get_or_create(order=order, state=state, channel=channel, defaults={"recipient": to})[0]
        for channel, to in order_channels(order=order).items()
    ]


def retry_delay(*, attempts: int) -> datetime.timedelta:
    """30 s, 1 min, 2 min... never more than NOTIFY_RETRY_MAX_SECONDS (defaults)."""
    seconds = settings.NOTIFY_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


@transaction.atomic
def _notification_claim(*, notification_id: int, now: datetime.datetime) -> Notification | None:
    """Take the row for one delivery attempt, or leave it to whoever else holds or will hold it."""
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    if notification.status in {Status.SENT, Status.FAILED}:
        return None
    if (
        notification.status == Status.SENDING
        and notification.lease_until is not None
        and notification.lease_until > now
    ):
        # Another worker is sending it; if that worker dies, this task takes it over when its lease lapses.
        notification_send.using(run_after=notification.lease_until).enqueue(notification_id=notification_id)
        return None
    if notification.status == Status.PENDING and notification.next_attempt_at and notification.next_attempt_at > now:
        return None  # its retry is queued for then
    notification.status = Status.SENDING
    notification.attempts += 1
    notification.lease_until = now + datetime.timedelta(seconds=settings.NOTIFY_SEND_LEASE_SECONDS)
    notification.save(update_fields=["status", "attempts", "lease_until"])
    return notification


def _record(*, notification: Notification, **changes: object) -> None:
    """Write the outcome of this attempt, unless another worker took the row over meanwhile."""
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING, attempts=notification.attempts).update(
        lease_until=None, **changes
    )


def notification_deliver(*, notification_id: int) -> str:
    """One delivery attempt of one notification; returns its status afterwards."""
    now = timezone.now()
    notification = _notification_claim(notification_id=notification_id, now=now)
    if notification is None:
        return Notification.objects.values_list("status", flat=True).get(pk=notification_id)
    try:
        provider_id = _send(notification=notification)
    except DeliveryRefused as error:
        logger.error("Notification %s refused for good: %s", notification.idempotency_key, error)
        _record(notification=notification, status=Status.FAILED, last_error=str(error)[:300])
        return Status.FAILED
    except DeliveryDelayed as error:
        if notification.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            logger.error(
                "Notification %s given up after %s attempts: %s",
                notification.idempotency_key,
                notification.attempts,
                error,
            )
            _record(notification=notification, status=Status.FAILED, last_error=str(error)[:300])
            return Status.FAILED
        later = timezone.now() + retry_delay(attempts=notification.attempts)
        logger.warning("Notification %s delayed until %s: %s", notification.idempotency_key, later, error)
        with transaction.atomic():
            _record(
                notification=notification, status=Status.PENDING, next_attempt_at=later, last_error=str(error)[:300]
            )
            notification_send.using(run_after=later).enqueue(notification_id=notification.pk)
        return Status.PENDING
    _record(
        notification=notification,
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id[:100],
        next_attempt_at=None,
    )
    return Status.SENT


def _send(*, notification: Notification) -> str:
    order = Order.objects.select_related("pizzeria").get(pk=notification.order_id)
    if notification.channel == Kind.SMS:
        return _send_sms(notification=notification, order=order)
    return _send_email(notification=notification, order=order)


def _send_email(*, notification: Notification, order: Order) -> str:
    state = notification.state
    context = {
        "order": order,
        "state": state,
        "expected": order_expected_range(order=order),
        "tracking_url": order_tracking_url(number=order.number, absolute=True),
        "cancelled_why": CANCELLED_WHY_TO_CUSTOMER.get(order.cancel_reason, ""),
    }
    # The key as Message-ID: should a message go out twice after all, mail clients show it once.
    message_id = f"<{notification.idempotency_key}@ocpizza>"
    message = EmailMessage(
        subject=SUBJECTS[OrderState(state)].format(number=order.number),
        body=render_to_string("ventes/email/order_state.txt", context),
        to=[notification.recipient],
        headers={"Message-ID": message_id},
    )
    try:
        message.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        raise DeliveryRefused(f"adresse refusée par le serveur de mail : {error}") from error
    except smtplib.SMTPResponseException as error:
        if error.smtp_code >= 500:
            raise DeliveryRefused(f"refusé par le serveur de mail : {error.smtp_code} {error.smtp_error!r}") from error
        raise DeliveryDelayed(f"serveur de mail : {error.smtp_code} {error.smtp_error!r}") from error
    except (OSError, smtplib.SMTPException) as error:  # refused connection, time-out, dropped line
        raise DeliveryDelayed(f"serveur de mail injoignable : {type(error).__name__} {error}") from error
    return message_id


def sms_text(*, order: Order, state: str) -> str:
    text = SMS_TEXTS[OrderState(state)]
    if state == OrderState.READY and order.fulfilment == Fulfilment.DELIVERY:
        text = SMS_READY_FOR_DELIVERY
    return text.format(url=order_tracking_url(number=order.number, absolute=True))


def _send_sms(*, notification: Notification, order: Order) -> str:
    if not sms.sms_enabled():
        raise DeliveryRefused("SMS désactivés depuis (TWILIO_* absents)")
    try:
        return sms.sms_send(to=notification.recipient, body=sms_text(order=order, state=notification.state))
    except sms.SmsRejected as error:
        raise DeliveryRefused(error.message) from error
    except sms.SmsUnavailable as error:
        raise DeliveryDelayed(error.message) from error


@task()
def order_notify(*, order_id: int, state: str) -> None:
    for notification in order_notifications_create(order_id=order_id, state=state):
        notification_deliver(notification_id=notification.pk)


@task()
def notification_send(*, notification_id: int) -> None:
    notification_deliver(notification_id=notification_id)
