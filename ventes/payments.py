"""The books of the money of orders: payments, refunds and the events they write.

Stripe itself is reached through ``ventes.gateway`` only; this module records
what happened (``Payment`` and ``Refund`` rows, and one order event per
change through ``ventes.events.order_event_record``, which also moves the
order's last-modified time so that every live page shows it).

How the shop calls it, after ``order_place(..., payment_method="online_card")``::

    try:
        url = checkout_session_create(order=order, success_url=..., cancel_url=...)
    except PaymentError as error:
        ...  # the order is already cancelled and its stock released: show error.message
    else:
        return redirect(url)

The order then waits in ``pending_payment`` until the signed webhook
(``ventes.webhooks``) confirms the payment and moves it to ``received``.

Refunds are rows first, money second: every refund (a cancelled order paid
online, a second payment of an order already paid, a manager's refund) is a
``Refund`` recorded in the transaction that decides it, with the task that
asks Stripe for it (``refund_send``): the request that decided it never waits
on Stripe, and a rolled-back decision queues nothing. A refund Stripe could
not make queues its next try with a growing delay; the ``retry_refunds`` job
(``refunds_retry_due``) takes up any refund that is due and whose task was
lost. After ``REFUND_ALERT_AFTER_ATTEMPTS`` failures the managers are told by
e-mail and on their dashboard; the tries go on.
"""

import contextlib
import datetime
import logging
import smtplib
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import number_format
from django_tasks import task

from production.models import StaffMember

from . import gateway, workflow
from .events import money, order_event_record
from .exceptions import IllegalTransition, PaymentError, PaymentNotExpected, RefundFailed, RefundNotAllowed
from .gateway import SessionCreateParams, SessionCreateParamsLineItem
from .models import (
    CancelReason,
    Order,
    OrderEventType,
    OrderLine,
    OrderState,
    Payment,
    PaymentMethod,
    PaymentState,
    Refund,
    RefundReason,
    StripeEvent,
)

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

PROVIDER = "stripe"
# Stripe refuses a Checkout Session that expires sooner or later than these after its creation.
STRIPE_MIN_EXPIRY = datetime.timedelta(minutes=30)
STRIPE_MAX_EXPIRY = datetime.timedelta(hours=24)
# Room for the time the request takes to reach Stripe.
EXPIRY_MARGIN = datetime.timedelta(minutes=1)
CENT = Decimal("0.01")


def _checkout_params(*, order: Order, success_url: str, cancel_url: str, now: datetime.datetime) -> SessionCreateParams:
    line_items: list[SessionCreateParamsLineItem] = [
        {
            "quantity": line.quantity,
            "price_data": {
                "currency": gateway.CURRENCY,
                "unit_amount": gateway.cents(line.unit_price),
                "product_data": {"name": line.product_name},
            },
        }
        for line in order.lines.all()
    ]
    if order.delivery_fee:
        line_items.append(
            {
                "quantity": 1,
                "price_data": {
                    "currency": gateway.CURRENCY,
                    "unit_amount": gateway.cents(order.delivery_fee),
                    "product_data": {"name": "Frais de livraison"},
                },
            }
        )
    expires_at = min(
        max(
            order.created_at + datetime.timedelta(minutes=settings.OCPIZZA["PAYMENT_EXPIRY_MINUTES"]),
            now + STRIPE_MIN_EXPIRY + EXPIRY_MARGIN,
        ),
        now + STRIPE_MAX_EXPIRY,
    )
    metadata = {"order_id": str(order.pk), "order_number": order.number}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": line_items,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(order.pk),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "description": f"OC Pizza {order.number}"},
        "expires_at": int(expires_at.timestamp()),
        "locale": "fr",
    }
    if order.customer_email:
        params["customer_email"] = order.customer_email
    return params


def order_abandon_checkout(*, order_id: int) -> None:
    """Cancel an order whose payment could not even start, so that its stock goes back on the shelf."""
    with contextlib.suppress(IllegalTransition):  # already cancelled
        workflow.order_transition(
            order_id=order_id, to_state=OrderState.CANCELLED, by=None, cancel_reason=CancelReason.PAYMENT_EXPIRED
        )


def checkout_session_create(*, order: Order, success_url: str, cancel_url: str) -> str:
    """Open a Stripe Checkout page for an order waiting for its online payment; return its address.

    Amounts come from the order as priced on the server. When Stripe cannot be
    used (no key, down, slow, refusal), the order is cancelled, its stock
    released, and a ``PaymentError`` says so in French: nothing is left half-made.
    """
    if order.state != OrderState.PENDING_PAYMENT or order.payment_method != PaymentMethod.ONLINE_CARD:
        raise PaymentNotExpected()
    try:
        session = gateway.checkout_session_open(
            params=_checkout_params(order=order, success_url=success_url, cancel_url=cancel_url, now=timezone.now()),
            idempotency_key=f"ocpizza-checkout-{order.number}",
        )
    except PaymentError:
        order_abandon_checkout(order_id=order.pk)
        raise
    # A second submit of the same checkout gets the same session back (idempotency key): record it once.
    Payment.objects.get_or_create(
        order=order,
        provider=PROVIDER,
        provider_reference=session.id,
        defaults={"method": PaymentMethod.ONLINE_CARD, "amount": order.total, "state": Payment.State.PENDING},
    )
    # Only embedded Checkout pages come without an address, and this one is hosted.
    assert session.url is not None
    return session.url


# Refunds: the books.


def _refund_params(refund: Refund, **extra: object) -> dict[str, Any]:
    return {
        "refund_id": refund.pk,
        "payment_id": refund.payment_id,
        "amount": money(refund.amount),
        "method": refund.method,
        "reason": refund.reason,
        "reason_label": refund.get_reason_display(),
        **extra,
    }


def _pending_refunds(*, payment: Payment) -> Decimal:
    pending = payment.refunds.filter(state=Refund.State.PENDING).aggregate(total=Sum("amount"))["total"]
    return pending or Decimal("0")


def _refundable(*, payment: Payment) -> Decimal:
    """What may still be given back on a payment: never more than it took, counting the refunds under way."""
    return payment.amount - payment.refunded_amount - _pending_refunds(payment=payment)


def _refund_method(payment: Payment) -> str:
    # A meal voucher is never given back as a voucher: its value goes back in cash.
    if payment.method == PaymentMethod.MEAL_VOUCHER:
        return PaymentMethod.CASH
    return payment.method


def _paid_payments(*, order: Order) -> list[Payment]:
    return list(
        order.payments.select_for_update()
        .filter(state__in=[Payment.State.SUCCEEDED, Payment.State.REFUNDED])
        .order_by("pk")
    )


def _order_payment_state_after_refund(*, order: Order) -> bool:
    """Mark the order refunded once every payment it took is given back in full; True when it changed."""
    paid = order.payments.filter(state__in=[Payment.State.SUCCEEDED, Payment.State.REFUNDED])
    if order.payment_state == PaymentState.PAID and not paid.filter(state=Payment.State.SUCCEEDED).exists():
        order.payment_state = PaymentState.REFUNDED
        return True
    return False


def _payment_refunded(*, payment: Payment, amount: Decimal) -> None:
    """Count ``amount`` more as given back on a (locked) payment."""
    payment.refunded_amount = min(payment.amount, payment.refunded_amount + amount)
    if payment.refunded_amount == payment.amount:
        payment.state = Payment.State.REFUNDED
    payment.save(update_fields=["refunded_amount", "state", "updated_at"])


def _refund_open(
    *,
    order: Order,
    payment: Payment,
    amount: Decimal,
    reason: str,
    by: "User | None",
    note: str = "",
    params: Mapping[str, Any] | None = None,
    event_type: OrderEventType = OrderEventType.REFUND_REQUESTED,
) -> Refund:
    """Record a refund owed on a (locked) payment; an online one is asked of Stripe by the worker."""
    online = payment.method == PaymentMethod.ONLINE_CARD
    now = timezone.now()
    refund = Refund.objects.create(
        order=order,
        payment=payment,
        amount=amount,
        method=_refund_method(payment),
        reason=reason,
        note=note,
        state=Refund.State.PENDING if online else Refund.State.SUCCEEDED,
        next_attempt_at=now if online else None,
        by=by,
    )
    if online:
        order_event_record(
            order=order, type=event_type, by=by, params=_refund_params(refund, **(params or {})), note=note
        )
        refund_send.enqueue(refund_id=refund.pk)
    else:
        # Cash or card at the pizzeria: the staff member gives it back there and then.
        _payment_refunded(payment=payment, amount=amount)
        fields = ["payment_state"] if _order_payment_state_after_refund(order=order) else []
        order_event_record(
            order=order,
            type=OrderEventType.REFUND_SUCCEEDED,
            by=by,
            fields=fields,
            params=_refund_params(refund, **(params or {})),
            note=note,
        )
    return refund


def _amount_of_lines(*, order: Order, lines: Mapping[int, int]) -> tuple[Decimal, list[dict[str, Any]]]:
    by_pk = {line.pk: line for line in OrderLine.objects.filter(order=order)}
    total, chosen = Decimal("0"), []
    for line_id, quantity in lines.items():
        line = by_pk.get(line_id)
        if line is None:
            raise RefundNotAllowed("Ce produit ne fait pas partie de la commande.", field="lines")
        if not 0 <= quantity <= line.quantity:
            raise RefundNotAllowed(f"On rembourse au plus {line.quantity} × {line.product_name}.", field="lines")
        if quantity:
            total += line.unit_price * quantity
            chosen.append({"line_id": line.pk, "name": line.product_name, "quantity": quantity})
    return total, chosen


@transaction.atomic
def refund_request(
    *,
    order_id: int,
    reason: str,
    by: "User",
    amount: Decimal | None = None,
    lines: Mapping[int, int] | None = None,
    note: str = "",
) -> list[Refund]:
    """A manager gives back money of an order: all that is left (neither ``amount`` nor ``lines``),
    the price of some lines ({line id: quantity}), or an amount.

    Paid online: Stripe refunds it (after commit, retried until it is made).
    Paid at the pizzeria: recorded as given back in cash or by card by ``by``.
    Never more than was paid: ``RefundNotAllowed`` in French, and nothing is written.
    """
    order = workflow.order_lock(order_id=order_id)
    if workflow.actor_role(order=order, user=by) != workflow.Role.MANAGER:
        raise RefundNotAllowed("Seul un responsable peut rembourser une commande.")
    if reason not in RefundReason.values or reason == RefundReason.DUPLICATE_PAYMENT:
        raise RefundNotAllowed("Choisissez le motif du remboursement.", field="reason")
    payments = _paid_payments(order=order)
    refundable = {payment.pk: _refundable(payment=payment) for payment in payments}
    left = sum(refundable.values(), Decimal("0"))
    if not payments:
        raise RefundNotAllowed("Cette commande n'a pas été réglée : il n'y a rien à rembourser.")
    if left <= 0:
        raise RefundNotAllowed("Cette commande est déjà entièrement remboursée.")
    params: dict[str, Any] = {}
    if lines:
        amount, params["lines"] = _amount_of_lines(order=order, lines=lines)
        if amount <= 0:
            raise RefundNotAllowed("Choisissez au moins un produit à rembourser.", field="lines")
    elif amount is None:
        amount = left
    if amount <= 0 or amount != amount.quantize(CENT):
        raise RefundNotAllowed("Indiquez un montant positif, en euros et centimes.", field="amount")
    if amount > left:
        raise RefundNotAllowed(
            f"On ne peut pas rembourser plus que ce qui a été payé : {number_format(left, 2)} € au plus.",
            field="amount",
        )
    refunds = []
    # The payments in the order they were taken; a refund larger than one payment is split over the next.
    for payment in payments:
        share = min(amount, refundable[payment.pk])
        if share <= 0:
            continue
        refunds.append(
            _refund_open(order=order, payment=payment, amount=share, reason=reason, by=by, note=note, params=params)
        )
        amount -= share
        if amount == 0:
            break
    return refunds


@task()
def refund_send(*, refund_id: int) -> str:
    """The worker's try of one refund; returns its state afterwards."""
    return refund_attempt(refund_id=refund_id).state


def refund_attempt(*, refund_id: int, now: datetime.datetime | None = None) -> Refund:
    """Ask Stripe for a refund still owed, and record its answer; a refund already made is left alone.

    Safe to call again and from several servers at once: the refund's own
    idempotency key makes Stripe answer with the refund it already made.
    """
    now = now or timezone.now()
    refund = Refund.objects.select_related("payment", "order").get(pk=refund_id)
    if refund.state != Refund.State.PENDING or refund.method != PaymentMethod.ONLINE_CARD:
        return refund
    try:
        if not refund.payment.provider_payment_id:
            raise RefundFailed("Aucun paiement Stripe à rembourser pour cette commande.")
        made = gateway.refund_create(
            payment_intent=refund.payment.provider_payment_id,
            amount=gateway.cents(refund.amount),
            idempotency_key=refund.idempotency_key,
            reason="duplicate" if refund.reason == RefundReason.DUPLICATE_PAYMENT else "requested_by_customer",
            metadata={"order_id": str(refund.order_id), "order_number": refund.order.number, "refund": str(refund.key)},
        )
    except PaymentError as error:
        return _refund_failed(refund_id=refund.pk, error=str(error.__cause__ or error), now=now)
    if made.status in {"failed", "canceled"}:
        return _refund_failed(refund_id=refund.pk, error=f"Stripe : remboursement {made.status}", now=now)
    return _refund_succeeded(refund_id=refund.pk, provider_refund_id=made.id)


def _refund_locked(*, refund_id: int) -> tuple[Order, Refund]:
    """The order then its refund, locked in that order like every other write of the order."""
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    order = workflow.order_lock(order_id=order_id)
    return order, Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)


@transaction.atomic
def _refund_succeeded(*, refund_id: int, provider_refund_id: str) -> Refund:
    order, refund = _refund_locked(refund_id=refund_id)
    if refund.state != Refund.State.PENDING:
        return refund
    refund.state = Refund.State.SUCCEEDED
    refund.attempts += 1
    refund.next_attempt_at = None
    refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
    refund.save(update_fields=["state", "attempts", "next_attempt_at", "provider_refund_id", "updated_at"])
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    _payment_refunded(payment=payment, amount=refund.amount)
    fields = ["payment_state"] if _order_payment_state_after_refund(order=order) else []
    order_event_record(
        order=order,
        type=OrderEventType.REFUND_SUCCEEDED,
        fields=fields,
        params=_refund_params(refund, stripe_refund=refund.provider_refund_id),
    )
    return refund


def refund_retry_delay(*, attempts: int) -> datetime.timedelta:
    """Wait before the next try after ``attempts`` failed ones: doubling from the base, up to the cap."""
    base = settings.OCPIZZA["REFUND_RETRY_BASE_MINUTES"]
    cap = settings.OCPIZZA["REFUND_RETRY_MAX_MINUTES"]
    return datetime.timedelta(minutes=min(base * 2 ** max(attempts - 1, 0), cap))


@transaction.atomic
def _refund_failed(*, refund_id: int, error: str, now: datetime.datetime) -> Refund:
    order, refund = _refund_locked(refund_id=refund_id)
    if refund.state != Refund.State.PENDING:
        return refund  # made meanwhile by another try
    if refund.next_attempt_at is not None and refund.next_attempt_at > now:
        return refund  # a try due at the same time (its task and the retry job) already counted this failure
    refund.attempts += 1
    refund.last_error = error[:300]
    refund.next_attempt_at = now + refund_retry_delay(attempts=refund.attempts)
    alert = refund.attempts >= settings.OCPIZZA["REFUND_ALERT_AFTER_ATTEMPTS"] and refund.managers_alerted_at is None
    if alert:
        refund.managers_alerted_at = now
    refund.save(update_fields=["attempts", "last_error", "next_attempt_at", "managers_alerted_at", "updated_at"])
    order_event_record(
        order=order,
        type=OrderEventType.REFUND_FAILED,
        params=_refund_params(
            refund,
            attempts=refund.attempts,
            error=refund.last_error,
            next_attempt_at=refund.next_attempt_at.isoformat(),
        ),
    )
    logger.warning("Refund %s of order %s failed (try %s): %s", refund.pk, order.number, refund.attempts, error)
    refund_send.using(run_after=refund.next_attempt_at).enqueue(refund_id=refund.pk)
    if alert:
        refund_managers_alert.enqueue(refund_id=refund.pk)
    return refund


@task()
def refund_managers_alert(*, refund_id: int, attempt: int = 1) -> None:
    """E-mail the managers that a refund keeps failing (queued once per refund: ``managers_alerted_at``).

    A mail server that is down only delays the alert, as it delays the customers' messages.
    """
    refund = Refund.objects.select_related("order__pizzeria").get(pk=refund_id)
    recipients = sorted(
        {
            email
            for email in StaffMember.objects.filter(role=StaffMember.MANAGER, user__is_active=True).values_list(
                "user__email", flat=True
            )
            if email
        }
    )
    if not recipients:
        logger.error("Refund %s keeps failing and no manager has an e-mail address", refund.pk)
        return
    order = refund.order
    try:
        send_mail(
            f"Remboursement bloqué : commande {order.number}",
            f"Le remboursement de {number_format(refund.amount, 2)} € de la commande {order.number} "
            f"({order.pizzeria.name}, {order.customer_name}) a échoué {refund.attempts} fois.\n"
            f"Dernière erreur : {refund.last_error}\n"
            "Il est retenté automatiquement ; s'il ne passe pas, remboursez le client autrement.\n"
            f"{settings.SITE_URL}/commande/{order.number}/",
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    except (OSError, smtplib.SMTPException) as error:
        if attempt >= settings.NOTIFY_MAX_ATTEMPTS:
            logger.error("Managers never told about refund %s: %s", refund.pk, error)
            return
        later = timezone.now() + datetime.timedelta(seconds=settings.NOTIFY_RETRY_MAX_SECONDS)
        logger.warning("Managers' alert about refund %s delayed until %s: %s", refund.pk, later, error)
        refund_managers_alert.using(run_after=later).enqueue(refund_id=refund.pk, attempt=attempt + 1)


def refunds_retry_due(*, now: datetime.datetime) -> int:
    """Try again every refund owed whose next try is due; return how many were made.

    Each failed try queues the next one; this takes up those whose task was
    lost (a queue emptied by hand, a refund older than the queue).
    """
    due = Refund.objects.filter(
        state=Refund.State.PENDING, method=PaymentMethod.ONLINE_CARD, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    made = 0
    for refund_id in list(due.values_list("pk", flat=True)):
        made += refund_attempt(refund_id=refund_id, now=now).state == Refund.State.SUCCEEDED
    return made


# Settling a cancelled order, asked by the workflow through ventes.signals.order_cancelled.


def _refund_rest(*, order: Order, reason: str, by: "User | None") -> None:
    for payment in _paid_payments(order=order):
        if payment.method != PaymentMethod.ONLINE_CARD:
            continue
        rest = _refundable(payment=payment)
        if rest > 0:
            _refund_open(order=order, payment=payment, amount=rest, reason=reason, by=by)


def order_cancelled_settle(*, sender: type[Order], order: Order, by: "User | None", **kwargs: object) -> None:
    """Receiver of ``order_cancelled``: what an online order paid is owed back; an open Stripe page is closed.

    Runs inside the cancel's transaction, so the refund owed is recorded with
    the cancel or not at all, with the task that asks Stripe; Stripe's answer
    never undoes the cancel.
    """
    if order.payment_method != PaymentMethod.ONLINE_CARD:
        return
    if order.payment_state == PaymentState.PAID:
        _refund_rest(order=order, reason=RefundReason.ORDER_CANCELLED, by=by)
    elif gateway.online_payment_enabled():
        checkout_sessions_expire.enqueue(order_id=order.pk)


@task()
def checkout_sessions_expire(*, order_id: int) -> None:
    """Close the Stripe pages still open for a cancelled order; Stripe's refusal changes nothing here."""
    pending = Payment.objects.filter(order_id=order_id, provider=PROVIDER, state=Payment.State.PENDING)
    for session_id in list(pending.values_list("provider_reference", flat=True)):
        try:
            gateway.checkout_session_expire(session_id=session_id)
        except PaymentError as error:
            # Already completed: its webhook will find the order cancelled and refund it.
            logger.warning("Could not expire Stripe session %s: %s", session_id, error)
            continue
        with transaction.atomic():
            order = workflow.order_lock(order_id=order_id)
            _session_failed(order=order, session_id=session_id)


# Webhook events, already verified by ventes.webhooks.


def _order_id_of(session: Mapping[str, Any]) -> int | None:
    reference = session.get("client_reference_id") or (session.get("metadata") or {}).get("order_id")
    if reference is None:
        return None
    try:
        return int(reference)
    except (TypeError, ValueError):
        return None


def _order_locked(*, order_id: int | None) -> Order | None:
    if order_id is None:
        return None
    try:
        return workflow.order_lock(order_id=order_id)
    except Order.DoesNotExist:
        return None


def _session_paid(*, order: Order, session: Mapping[str, Any]) -> None:
    payment, _ = Payment.objects.get_or_create(
        order=order,
        provider=PROVIDER,
        provider_reference=session["id"],
        defaults={"method": PaymentMethod.ONLINE_CARD, "amount": order.total},
    )
    if session.get("amount_total") is not None and session["amount_total"] != gateway.cents(payment.amount):
        logger.error(
            "Stripe session %s took %s cents for order %s of %s €",
            session["id"],
            session["amount_total"],
            order.number,
            payment.amount,
        )
    if payment.state not in {Payment.State.PENDING, Payment.State.FAILED}:
        return  # this payment was already taken into account
    payment.state = Payment.State.SUCCEEDED
    payment.provider_payment_id = session.get("payment_intent") or ""
    payment.save(update_fields=["state", "provider_payment_id", "updated_at"])
    stripe_ids = {"session": session["id"], "payment_intent": payment.provider_payment_id}
    if order.payment_state != PaymentState.PENDING:
        # A second Checkout page of an order already paid was paid too: that money goes straight back.
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        _refund_open(
            order=order,
            payment=payment,
            amount=payment.amount,
            reason=RefundReason.DUPLICATE_PAYMENT,
            by=None,
            params=stripe_ids,
            event_type=OrderEventType.DUPLICATE_PAYMENT_REFUNDED,
        )
        logger.warning("Order %s was paid twice (session %s): refunding the second", order.number, session["id"])
        return
    order.payment_state = PaymentState.PAID
    order_event_record(
        order=order,
        type=OrderEventType.PAYMENT_SUCCEEDED,
        fields=["payment_state"],
        params={"payment_id": payment.pk, "method": payment.method, "amount": money(payment.amount), **stripe_ids},
    )
    if order.state == OrderState.PENDING_PAYMENT:
        workflow.order_transition(order_id=order.pk, to_state=OrderState.RECEIVED, by=None, note="paiement en ligne")
    elif order.state == OrderState.CANCELLED:
        # Paid after the order expired or was cancelled: the money goes back.
        _refund_rest(order=order, reason=RefundReason.ORDER_CANCELLED, by=None)


def _session_failed(*, order: Order, session_id: str) -> None:
    payment = (
        Payment.objects.select_for_update()
        .filter(order=order, provider=PROVIDER, provider_reference=session_id, state=Payment.State.PENDING)
        .first()
    )
    if payment is None:
        return
    payment.state = Payment.State.FAILED
    payment.save(update_fields=["state", "updated_at"])
    order_event_record(
        order=order,
        type=OrderEventType.PAYMENT_FAILED,
        params={"payment_id": payment.pk, "amount": money(payment.amount), "session": session_id},
    )


def _session_unpaid(*, order: Order, session: Mapping[str, Any]) -> None:
    _session_failed(order=order, session_id=session["id"])
    if order.state == OrderState.PENDING_PAYMENT and order.payment_state == PaymentState.PENDING:
        workflow.order_transition(
            order_id=order.pk, to_state=OrderState.CANCELLED, by=None, cancel_reason=CancelReason.PAYMENT_EXPIRED
        )
    # Otherwise it was paid through another session or is already cancelled: nothing to undo.


def _stripe_payment_locked(*, payment_intent: str | None) -> tuple[Order, Payment] | None:
    """The order then the payment of a payment intent, locked in that order."""
    if not payment_intent:
        return None
    found = (
        Payment.objects.filter(provider=PROVIDER, provider_payment_id=payment_intent)
        .order_by("-created_at", "-pk")
        .values_list("pk", "order_id")
        .first()
    )
    if found is None:
        return None
    order = workflow.order_lock(order_id=found[1])
    return order, Payment.objects.select_for_update().get(pk=found[0])


def _charge_refunded(*, charge: Mapping[str, Any]) -> Order | None:
    """Stripe's total refunded on a charge: counts what our own refunds under way do not explain (the dashboard's)."""
    return _refunded_at_least(
        payment_intent=charge.get("payment_intent"),
        reported=Decimal(charge.get("amount_refunded") or 0) / 100,
        stripe_id=charge.get("id") or "",
    )


def _refunded_at_least(*, payment_intent: str | None, reported: Decimal, stripe_id: str) -> Order | None:
    """Stripe says at least ``reported`` euros of a payment are back: record what is not counted yet."""
    locked = _stripe_payment_locked(payment_intent=payment_intent)
    if locked is None:
        return None
    order, payment = locked
    # Our refunds still pending are counted when they are recorded as made, whichever of us hears first.
    extra = reported - _pending_refunds(payment=payment) - payment.refunded_amount
    if extra > 0:
        _payment_refunded(payment=payment, amount=extra)
        fields = ["payment_state"] if _order_payment_state_after_refund(order=order) else []
        order_event_record(
            order=order,
            type=OrderEventType.REFUND_SUCCEEDED,
            fields=fields,
            params={"payment_id": payment.pk, "amount": money(extra), "stripe": stripe_id},
            note="remboursé depuis Stripe",
        )
    return order


def _refund_updated(*, refund: Mapping[str, Any]) -> Order | None:
    """A refund's fate as Stripe tells it later: made, or refused by the card's bank."""
    ours = Refund.objects.filter(provider_refund_id=refund.get("id") or "-").values_list("pk", "state").first()
    status = refund.get("status")
    if ours is not None and status == "succeeded" and ours[1] == Refund.State.PENDING:
        return _refund_succeeded(refund_id=ours[0], provider_refund_id=refund["id"]).order
    if status == "succeeded" and ours is None:
        # Made on Stripe's dashboard: at least its amount is back (charge.refunded gives the total).
        return _refunded_at_least(
            payment_intent=refund.get("payment_intent"),
            reported=Decimal(refund.get("amount") or 0) / 100,
            stripe_id=refund.get("id") or "",
        )
    if status not in {"failed", "canceled"}:
        return None
    locked = _stripe_payment_locked(payment_intent=refund.get("payment_intent"))
    if locked is None:
        return None
    order, payment = locked
    # The card cannot take the money back: a manager must refund this customer another way.
    logger.error("Stripe refund %s of order %s is %s", refund.get("id"), order.number, status)
    if ours is not None and ours[1] == Refund.State.SUCCEEDED:
        failed = Refund.objects.select_for_update().get(pk=ours[0])
        failed.state = Refund.State.FAILED
        failed.last_error = f"Stripe : remboursement {status}"
        failed.managers_alerted_at = timezone.now()
        failed.save(update_fields=["state", "last_error", "managers_alerted_at", "updated_at"])
        payment.refunded_amount = max(payment.refunded_amount - failed.amount, Decimal("0"))
        payment.state = Payment.State.SUCCEEDED
        payment.save(update_fields=["refunded_amount", "state", "updated_at"])
        order.payment_state = PaymentState.PAID if order.payment_state == PaymentState.REFUNDED else order.payment_state
        order_event_record(
            order=order,
            type=OrderEventType.REFUND_FAILED,
            fields=["payment_state"],
            params=_refund_params(failed, error=failed.last_error),
        )
        refund_managers_alert.enqueue(refund_id=failed.pk)
    return order


SESSION_HANDLERS = {
    "checkout.session.completed": _session_paid,
    "checkout.session.async_payment_succeeded": _session_paid,
    "checkout.session.async_payment_failed": _session_unpaid,
    "checkout.session.expired": _session_unpaid,
}


@transaction.atomic
def stripe_event_handle(*, event: Mapping[str, Any]) -> bool:
    """Apply a verified Stripe event once; False when it was already handled.

    The event id is recorded in the same transaction as its effect: if the
    effect fails, the event is not recorded and Stripe's retry applies it.
    Events may come in any order: each handler looks at where the order stands.
    """
    event_type, data = event["type"], event["data"]["object"]
    stored, created = StripeEvent.objects.get_or_create(event_id=event["id"], defaults={"type": event_type})
    if not created:
        return False
    order = None
    if event_type in SESSION_HANDLERS:
        order = _order_locked(order_id=_order_id_of(data))
        if order is None:
            logger.warning("Stripe event %s names no order of ours", event["id"])
        elif event_type == "checkout.session.completed" and data.get("payment_status") != "paid":
            pass  # a delayed payment method: its async_payment_succeeded or _failed event will follow
        else:
            SESSION_HANDLERS[event_type](order=order, session=data)
    elif event_type == "charge.refunded":
        order = _charge_refunded(charge=data)
    elif event_type in {"refund.updated", "refund.failed"}:
        order = _refund_updated(refund=data)
    if order is not None:
        stored.order = order
        stored.save(update_fields=["order"])
    return True
