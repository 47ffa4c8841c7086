"""Stripe, behind one small module: the only place that calls the Stripe SDK.

It speaks in cents and Stripe ids and turns every Stripe error into one of the
typed errors of ``ventes.exceptions``: ``PaymentProviderUnavailable`` when
the same request may work later (network, Stripe's own errors, rate limits, a
key Stripe does not take right now), ``PaymentDeclined`` or ``RefundFailed``
when Stripe refused it. It records nothing: the payment services
(``ventes.payments``) keep the books.

Off when a key is missing (``online_payment_enabled``): the shop then offers
payment at the door only.
"""

import functools
import logging
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings

# The payments module types its Checkout parameters with these, without importing stripe itself.
from stripe.params.checkout import SessionCreateParams as SessionCreateParams
from stripe.params.checkout import SessionCreateParamsLineItem as SessionCreateParamsLineItem

from .exceptions import (
    OnlinePaymentDisabled,
    PaymentDeclined,
    PaymentProviderUnavailable,
    RefundFailed,
    WebhookRefused,
)

logger = logging.getLogger(__name__)

CURRENCY = "eur"
# Errors that say Stripe could not be reached or could not answer now, rather than that it refused the request.
UNAVAILABLE_ERRORS = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError, stripe.AuthenticationError)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class StripeRefund:
    id: str
    # Stripe's status: "succeeded" or "pending" (taken, the bank will follow), "failed", "canceled"...
    status: str


def online_payment_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY and settings.STRIPE_WEBHOOK_SECRET)


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


@functools.cache
def _client(secret_key: str, timeout: float, max_network_retries: int, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=max_network_retries,
        base_addresses={"api": api_base},
    )


def _stripe_client() -> stripe.StripeClient:
    """One client per process (and per key), with short timeouts and few retries."""
    if not online_payment_enabled():
        raise OnlinePaymentDisabled()
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_API_BASE,
    )


def checkout_session_open(*, params: SessionCreateParams, idempotency_key: str) -> CheckoutSession:
    """Create a Checkout Session; the same key gives the same session back."""
    client = _stripe_client()
    try:
        session = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": idempotency_key})
    except UNAVAILABLE_ERRORS as error:
        logger.warning("Stripe unavailable for checkout %s: %s", idempotency_key, error)
        raise PaymentProviderUnavailable() from error
    except stripe.StripeError as error:
        # A refusal of a request built here is a bug or a configuration mistake: for Sentry, not just the log.
        logger.exception("Stripe refused checkout %s", idempotency_key)
        raise PaymentDeclined() from error
    return CheckoutSession(id=session.id, url=session.url or "")


def checkout_session_expire(*, session_id: str) -> None:
    """Close a Checkout page still open; ``PaymentDeclined`` when Stripe will not (already completed...)."""
    try:
        _stripe_client().v1.checkout.sessions.expire(session_id)
    except UNAVAILABLE_ERRORS as error:
        raise PaymentProviderUnavailable(str(error)) from error
    except stripe.StripeError as error:
        raise PaymentDeclined(str(error)) from error


def refund_create(
    *, payment_intent: str, amount: int, idempotency_key: str, reason: str, metadata: dict[str, str]
) -> StripeRefund:
    """Give ``amount`` cents of a payment back; a retry with the same key is the same refund for Stripe.

    A charge Stripe says is already refunded counts as refunded: the money is back with the customer.
    """
    try:
        refund = _stripe_client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": amount, "reason": reason, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.InvalidRequestError as error:
        if error.code == "charge_already_refunded":
            return StripeRefund(id="", status="succeeded")
        raise RefundFailed(f"Stripe a refusé le remboursement : {error.user_message or error.code}.") from error
    except UNAVAILABLE_ERRORS as error:
        raise PaymentProviderUnavailable(
            "Stripe ne répond pas : le remboursement sera retenté automatiquement."
        ) from error
    except stripe.StripeError as error:
        raise RefundFailed() from error
    return StripeRefund(id=refund.id, status=refund.status or "")


def webhook_signature_verify(*, payload: bytes, header: str | None) -> None:
    """Check Stripe's signature of a webhook and that it is not older than the tolerance.

    The library refuses old signatures only; ``ventes.webhooks`` refuses those from the future.
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookRefused("No webhook secret: every event is refused.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            header or "",
            settings.STRIPE_WEBHOOK_SECRET,
            settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise WebhookRefused(str(error)) from error
