"""Online card payment through Stripe Checkout, its refunds and its webhook events.

Off when a Stripe key is missing (``online_payment_enabled``): the shop then
offers payment at the door only.

How the shop calls it, after ``order_place(..., payment_method="online_card")``::

    try:
        url = checkout_session_create(order=order, success_url=..., cancel_url=...)
    except PaymentError as error:
        ...  # the order is already cancelled and its stock released: show error.message
    else:
        return redirect(url)

The order then waits in ``pending_payment`` until the signed webhook
(``ventes.webhooks``) confirms the payment and moves it to ``received``.
Cancelling an order paid online refunds it: ``ventes.workflow.order_transition``
schedules ``payment_refund`` after commit, and a scheduled job calls
``payments_retry_refunds`` for the refunds Stripe could not take at that moment.
"""

import contextlib
import datetime
import functools
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

from ocpizzapp.exceptions import BusinessError

from . import workflow
from .exceptions import IllegalTransition
from .models import CancelReason, Order, OrderState, Payment, PaymentMethod, PaymentState, StripeEvent

logger = logging.getLogger(__name__)

PROVIDER = "stripe"
CURRENCY = "eur"
# Stripe refuses a Checkout Session that expires sooner or later than these after its creation.
STRIPE_MIN_EXPIRY = datetime.timedelta(minutes=30)
STRIPE_MAX_EXPIRY = datetime.timedelta(hours=24)
# Room for the time the request takes to reach Stripe.
EXPIRY_MARGIN = datetime.timedelta(minutes=1)
# Errors that say Stripe could not be reached or could not answer now, rather than that it refused the request.
UNAVAILABLE_ERRORS = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError, stripe.AuthenticationError)


class PaymentError(BusinessError):
    code = "payment_error"
    default_message = "Le paiement en ligne a échoué."


class OnlinePaymentDisabled(PaymentError):
    code = "online_payment_disabled"
    default_message = "Le paiement en ligne n'est pas proposé : vous réglerez à la livraison ou au comptoir."


class PaymentProviderUnavailable(PaymentError):
    code = "payment_provider_unavailable"
    default_message = (
        "Le paiement en ligne est indisponible pour le moment : votre commande est annulée et rien n'a été débité. "
        "Réessayez dans quelques minutes ou choisissez de régler à la livraison ou au comptoir."
    )


class PaymentDeclined(PaymentError):
    code = "payment_declined"
    default_message = (
        "Le paiement en ligne a été refusé pour cette commande : elle est annulée et rien n'a été débité. "
        "Choisissez de régler à la livraison ou au comptoir."
    )


class PaymentNotExpected(PaymentError):
    code = "payment_not_expected"
    default_message = "Cette commande n'attend pas de paiement en ligne."


class RefundFailed(PaymentError):
    code = "refund_failed"
    default_message = "Le remboursement n'a pas pu être fait : il sera retenté automatiquement."


def online_payment_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY and settings.STRIPE_WEBHOOK_SECRET)


@functools.cache
def _client(secret_key: str, timeout: float, max_network_retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=max_network_retries,
    )


def stripe_client() -> stripe.StripeClient:
    """One client per process (and per key), with short timeouts and few retries."""
    if not online_payment_enabled():
        raise OnlinePaymentDisabled()
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_TIMEOUT_SECONDS, settings.STRIPE_MAX_NETWORK_RETRIES)


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _checkout_params(*, order: Order, success_url: str, cancel_url: str, now: datetime.datetime) -> SessionCreateParams:
    line_items: list[SessionCreateParamsLineItem] = [
        {
            "quantity": line.quantity,
            "price_data": {
                "currency": CURRENCY,
                "unit_amount": cents(line.unit_price),
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
                    "currency": CURRENCY,
                    "unit_amount": cents(order.delivery_fee),
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
        client = stripe_client()
        session = client.v1.checkout.sessions.create(
            params=_checkout_params(order=order, success_url=success_url, cancel_url=cancel_url, now=timezone.now()),
            options={"idempotency_key": f"ocpizza-checkout-{order.number}"},
        )
    except OnlinePaymentDisabled:
        order_abandon_checkout(order_id=order.pk)
        raise
    except UNAVAILABLE_ERRORS as error:
        logger.warning("Stripe unavailable for the checkout of order %s: %s", order.number, error)
        order_abandon_checkout(order_id=order.pk)
        raise PaymentProviderUnavailable() from error
    except stripe.StripeError as error:
        # A refusal of a request built here is a bug or a configuration mistake: for Sentry, not just the log.
        logger.exception("Stripe refused the checkout of order %s", order.number)
        order_abandon_checkout(order_id=order.pk)
        raise PaymentDeclined() from error
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


# Refunds.


def _online_payment(*, order: Order) -> Payment | None:
    return (
        order.payments.filter(provider=PROVIDER, state__in=[Payment.State.SUCCEEDED, Payment.State.REFUNDED])
        .order_by("-created_at", "-pk")
        .first()
    )


@transaction.atomic
def _refund_record(*, payment_id: int, refunded: Decimal) -> None:
    """Record that ``refunded`` euros of a payment are back with the customer, in total (never less than before)."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    refunded = min(max(refunded, payment.refunded_amount), payment.amount)
    payment.refunded_amount = refunded
    if refunded == payment.amount:
        payment.state = Payment.State.REFUNDED
    payment.save(update_fields=["refunded_amount", "state", "updated_at"])
    if payment.state == Payment.State.REFUNDED:
        Order.objects.filter(pk=payment.order_id).update(payment_state=PaymentState.REFUNDED)


def payment_refund(*, order_id: int) -> None:
    """Give back through Stripe the whole online payment of an order, and record it.

    Safe to call again: the same idempotency key makes Stripe answer with the
    refund it already made, and a payment already refunded is left alone.
    """
    order = Order.objects.get(pk=order_id)
    if order.payment_method != PaymentMethod.ONLINE_CARD or order.payment_state != PaymentState.PAID:
        return
    payment = _online_payment(order=order)
    if payment is None or not payment.provider_payment_id:
        raise RefundFailed(f"Aucun paiement Stripe à rembourser pour la commande {order.number}.")
    remaining = payment.amount - payment.refunded_amount
    if remaining > 0:
        try:
            stripe_client().v1.refunds.create(
                params={
                    "payment_intent": payment.provider_payment_id,
                    "amount": cents(remaining),
                    "reason": "requested_by_customer",
                    "metadata": {"order_id": str(order.pk), "order_number": order.number},
                },
                # One key per amount still owed: a retry is the same refund for Stripe, a partial refund
                # made meanwhile on Stripe's dashboard asks for a new one.
                options={"idempotency_key": f"ocpizza-refund-{payment.pk}-{cents(payment.refunded_amount)}"},
            )
        except stripe.InvalidRequestError as error:
            if error.code != "charge_already_refunded":
                raise RefundFailed() from error
        except UNAVAILABLE_ERRORS as error:
            raise PaymentProviderUnavailable(
                "Stripe ne répond pas : le remboursement sera retenté automatiquement."
            ) from error
        except stripe.StripeError as error:
            raise RefundFailed() from error
    _refund_record(payment_id=payment.pk, refunded=payment.amount)


def _checkout_session_expire(*, order_id: int) -> None:
    """Close the Stripe pages still open for a cancelled order; Stripe's refusal changes nothing here."""
    pending = Payment.objects.filter(order_id=order_id, provider=PROVIDER, state=Payment.State.PENDING)
    for payment in pending:
        try:
            stripe_client().v1.checkout.sessions.expire(payment.provider_reference)
        except stripe.StripeError as error:
            # Already completed: its webhook will find the order cancelled and refund it.
            logger.warning("Could not expire Stripe session %s: %s", payment.provider_reference, error)
            continue
        Payment.objects.filter(pk=payment.pk, state=Payment.State.PENDING).update(state=Payment.State.FAILED)


def _online_payment_settle(*, order_id: int) -> None:
    try:
        order = Order.objects.get(pk=order_id)
        if order.payment_state == PaymentState.PAID:
            payment_refund(order_id=order_id)
        elif online_payment_enabled():
            _checkout_session_expire(order_id=order_id)
    except Exception:
        # The order stays cancelled whatever Stripe says; payments_retry_refunds tries again.
        logger.exception("Could not settle the online payment of cancelled order %s", order_id)


def online_payment_settle_after_commit(*, order_id: int) -> None:
    """After a cancel commits: refund what was paid, or close the Stripe page still open."""
    transaction.on_commit(functools.partial(_online_payment_settle, order_id=order_id))


def payments_retry_refunds() -> int:
    """Refund the cancelled orders still paid online (Stripe failed at cancel time); return how many were."""
    owed = Order.objects.filter(
        state=OrderState.CANCELLED, payment_method=PaymentMethod.ONLINE_CARD, payment_state=PaymentState.PAID
    ).values_list("pk", flat=True)
    refunded = 0
    for order_id in owed:
        try:
            payment_refund(order_id=order_id)
        except PaymentError as error:
            logger.error("Refund of order %s failed again: %s", order_id, error.__cause__ or error)
            continue
        refunded += 1
    return refunded


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
    if session.get("amount_total") is not None and session["amount_total"] != cents(payment.amount):
        logger.error(
            "Stripe session %s took %s cents for order %s of %s €",
            session["id"],
            session["amount_total"],
            order.number,
            payment.amount,
        )
    if payment.state in {Payment.State.PENDING, Payment.State.FAILED}:
        payment.state = Payment.State.SUCCEEDED
        payment.provider_payment_id = session.get("payment_intent") or ""
        payment.save(update_fields=["state", "provider_payment_id", "updated_at"])
    if order.payment_state != PaymentState.PENDING:
        return  # this payment was already taken into account
    order.payment_state = PaymentState.PAID
    order.save(update_fields=["payment_state", "updated_at"])
    if order.state == OrderState.PENDING_PAYMENT:
        workflow.order_transition(order_id=order.pk, to_state=OrderState.RECEIVED, by=None, note="paiement en ligne")
    elif order.state == OrderState.CANCELLED:
        # Paid after the order expired or was cancelled: the money goes back.
        online_payment_settle_after_commit(order_id=order.pk)


def _session_unpaid(*, order: Order, session: Mapping[str, Any]) -> None:
    Payment.objects.filter(
        order=order, provider=PROVIDER, provider_reference=session["id"], state=Payment.State.PENDING
    ).update(state=Payment.State.FAILED)
    if order.state == OrderState.PENDING_PAYMENT and order.payment_state == PaymentState.PENDING:
        workflow.order_transition(
            order_id=order.pk, to_state=OrderState.CANCELLED, by=None, cancel_reason=CancelReason.PAYMENT_EXPIRED
        )
    # Otherwise it was paid through another session or is already cancelled: nothing to undo.


def _charge_refunded(*, charge: Mapping[str, Any]) -> Order | None:
    payment = _stripe_payment(payment_intent=charge.get("payment_intent"))
    if payment is not None:
        _refund_record(payment_id=payment.pk, refunded=Decimal(charge.get("amount_refunded") or 0) / 100)
    return payment.order if payment else None


def _refund_updated(*, refund: Mapping[str, Any]) -> Order | None:
    payment = _stripe_payment(payment_intent=refund.get("payment_intent"))
    if payment is None:
        return None
    if refund.get("status") == "succeeded":
        _refund_record(payment_id=payment.pk, refunded=Decimal(refund.get("amount") or 0) / 100)
    elif refund.get("status") in {"failed", "canceled"}:
        # The card cannot take the money back: a manager must refund this customer another way.
        logger.error("Stripe refund %s of order %s is %s", refund.get("id"), payment.order.number, refund["status"])
    return payment.order


def _stripe_payment(*, payment_intent: str | None) -> Payment | None:
    if not payment_intent:
        return None
    return (
        Payment.objects.select_related("order")
        .filter(provider=PROVIDER, provider_payment_id=payment_intent)
        .order_by("-created_at", "-pk")
        .first()
    )


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
    elif event_type == "refund.updated":
        order = _refund_updated(refund=data)
    if order is not None:
        stored.order = order
        stored.save(update_fields=["order"])
    return True
