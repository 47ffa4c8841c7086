"""Stripe's webhook: signed events about payments and refunds.

The signature and its age are checked with the stripe library before anything
is read; a bad, missing or stale one gets a 400 and changes nothing. The
event is applied by ``ventes.payments.stripe_event_handle``.
"""

import json
import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .payments import stripe_event_handle

logger = logging.getLogger(__name__)


def _verified_event(request: HttpRequest) -> dict | None:
    try:
        stripe.WebhookSignature.verify_header(
            request.body,
            request.headers.get("Stripe-Signature"),
            settings.STRIPE_WEBHOOK_SECRET,
            settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
        event = json.loads(request.body)
    except (stripe.SignatureVerificationError, ValueError) as error:
        logger.warning("Stripe webhook refused: %s", error)
        return None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("data"), dict)
        or not isinstance(event["data"].get("object"), dict)
    ):
        logger.warning("Stripe webhook refused: not an event")
        return None
    return event


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    event = _verified_event(request)
    if event is None:
        return HttpResponseBadRequest("invalid event")
    try:
        stripe_event_handle(event=event)
    except Exception:
        # Nothing was recorded: a 500 makes Stripe deliver the event again later.
        logger.exception("Stripe event %s (%s) failed", event["id"], event["type"])
        return HttpResponse("error", status=500)
    return HttpResponse("ok")
