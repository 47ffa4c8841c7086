"""Stripe's webhook: signed events about payments and refunds.

The signature and its age are checked before anything is read; a bad,
missing, stale or future-dated one gets a 400 and changes nothing. The event
is applied by ``ventes.payments.stripe_event_handle``.

The stripe library refuses a signature older than the tolerance but takes any
from the future: a signed event that someone holds back with a clock set
ahead would be accepted for ever. The timestamp is checked here in both
directions.
"""

import json
import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .exceptions import WebhookRefused
from .gateway import webhook_signature_verify
from .payments import stripe_event_handle

logger = logging.getLogger(__name__)


def _signed_at(header: str | None) -> int | None:
    """The timestamp of a ``Stripe-Signature`` header (``t=...,v1=...``), as Stripe's library reads it."""
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _check_not_from_the_future(header: str | None, *, now: float) -> None:
    signed_at = _signed_at(header)
    if signed_at is None:
        raise WebhookRefused("No timestamp in the signature header.")
    if signed_at > now + settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRefused(f"Timestamp {signed_at} is ahead of this server's clock by more than the tolerance.")


def _verified_event(request: HttpRequest) -> dict | None:
    header = request.headers.get("Stripe-Signature")
    try:
        webhook_signature_verify(payload=request.body, header=header)
        _check_not_from_the_future(header, now=time.time())
        event = json.loads(request.body)
    except (WebhookRefused, ValueError) as error:
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
