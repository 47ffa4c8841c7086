"""Purchase orders e-mailed to their supplier, with the order as a CSV file.

Sending an order (``production.services.purchase_order_send``) queues one task
row in its own transaction; the worker then mails the order:

- a mail server that is down or slow: the order is marked « en échec » with
  the error and the time of its next try, and a new task is queued for then,
  with a doubling delay capped at NOTIFY_RETRY_MAX_SECONDS, at most
  NOTIFY_MAX_ATTEMPTS times; the manager may queue it again afterwards;
- an address the server refuses for good: « en échec » at once, no retry;
- sent: « envoyé », with the time it left.
"""

import csv
import datetime
import io
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import number_format
from django_tasks import task

from .models import PurchaseOrder

logger = logging.getLogger(__name__)
Email = PurchaseOrder.Email


class _Delayed(Exception):
    """The mail server could not take the message now: try again later."""


def purchase_order_csv(*, order: PurchaseOrder) -> str:
    """The order's lines as a CSV file a French spreadsheet opens as it is (semicolons, decimal commas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["Référence", "Ingrédient", "Conditionnement", "Colis", "Quantité", "Unité", "Prix du colis HT", "Total HT"]
    )
    for line in order.lines.select_related("ingredient").filter(packs__gt=0).order_by("ingredient__name"):
        writer.writerow(
            [
                line.reference,
                line.ingredient.name,
                line.pack_label,
                line.packs,
                line.quantity,
                line.ingredient.get_unit_display(),
                number_format(line.pack_price, 2),
                number_format(line.total, 2),
            ]
        )
    return buffer.getvalue()


def purchase_order_csv_name(*, order: PurchaseOrder) -> str:
    return f"bon-de-commande-{order.pizzeria.code}-{order.number}.csv"


def retry_delay(*, attempts: int) -> datetime.timedelta:
    """The same doubling delays as the customers' messages (NOTIFY_RETRY_SECONDS up to NOTIFY_RETRY_MAX_SECONDS)."""
    seconds = settings.NOTIFY_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


@transaction.atomic
def _claim(*, order_id: int, now: datetime.datetime) -> PurchaseOrder | None:
    """Take the order for one sending attempt, unless it left already or its retry is queued for later."""
    order = (
        PurchaseOrder.objects.select_for_update(of=("self",)).select_related("pizzeria", "supplier").get(pk=order_id)
    )
    if order.email_state not in (Email.PENDING, Email.FAILED) or order.status == PurchaseOrder.Status.DRAFT:
        return None
    if order.email_next_attempt_at is not None and order.email_next_attempt_at > now:
        return None
    order.email_attempts += 1
    order.save(update_fields=["email_attempts"])
    return order


def _send(*, order: PurchaseOrder) -> None:
    lines = list(order.lines.select_related("ingredient").filter(packs__gt=0).order_by("ingredient__name"))
    message = EmailMessage(
        subject=f"Bon de commande n° {order.number} — {order.pizzeria.name}",
        body=render_to_string("production/email/purchase_order.txt", {"order": order, "lines": lines}),
        to=[order.email_to],
        reply_to=[order.pizzeria.email] if order.pizzeria.email else None,
        # One id per order: should it go out twice after all, mail clients show it once.
        headers={"Message-ID": f"<bon-{order.pk}@ocpizza>"},
    )
    message.attach(purchase_order_csv_name(order=order), purchase_order_csv(order=order), "text/csv")
    message.send()


def purchase_order_email_deliver(*, order_id: int, now: datetime.datetime | None = None) -> str:
    """One attempt at mailing an order to its supplier; returns where its e-mail stands afterwards."""
    now = now or timezone.now()
    order = _claim(order_id=order_id, now=now)
    if order is None:
        return PurchaseOrder.objects.values_list("email_state", flat=True).get(pk=order_id)
    try:
        _send(order=order)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
        logger.error("Purchase order %s refused for good by the mail server: %s", order.pk, error)
        _failed(order=order, error=f"adresse refusée par le serveur de mail : {error}", retry_at=None)
        return Email.FAILED
    except (OSError, smtplib.SMTPException) as error:  # refused connection, time-out, dropped line, 4xx
        retry_at = None
        if order.email_attempts < settings.NOTIFY_MAX_ATTEMPTS:
            retry_at = timezone.now() + retry_delay(attempts=order.email_attempts)
        logger.warning(
            "Purchase order %s not sent (try %s), next try %s: %s", order.pk, order.email_attempts, retry_at, error
        )
        with transaction.atomic():
            _failed(
                order=order, error=f"serveur de mail injoignable : {type(error).__name__} {error}", retry_at=retry_at
            )
            if retry_at is not None:
                purchase_order_email.using(run_after=retry_at).enqueue(order_id=order.pk)
        return Email.FAILED
    PurchaseOrder.objects.filter(pk=order.pk).update(
        email_state=Email.SENT, email_sent_at=timezone.now(), email_error="", email_next_attempt_at=None
    )
    return Email.SENT


def _failed(*, order: PurchaseOrder, error: str, retry_at: datetime.datetime | None) -> None:
    PurchaseOrder.objects.filter(pk=order.pk).update(
        email_state=Email.FAILED, email_error=error[:300], email_next_attempt_at=retry_at
    )


@task()
def purchase_order_email(*, order_id: int) -> None:
    purchase_order_email_deliver(order_id=order_id)
