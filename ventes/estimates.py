"""When an order will be out of the oven, from the pizzeria's live queue."""

import datetime
import math
from collections.abc import Sequence

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from production.models import Product

from .models import Fulfilment, Order, OrderLine, OrderState

QUEUE_STATES = [OrderState.RECEIVED, OrderState.PREPARING]


def order_estimate_ready_at(
    *, order: Order, now: datetime.datetime | None = None, unsaved_lines: Sequence[OrderLine] = ()
) -> datetime.datetime:
    """Now plus the oven time of every pizza queued before this order's own, spread over the ovens,
    plus the busy minutes of the pizzeria if it is in busy mode (« coup de feu »).

    For a later slot, the order is planned to be ready just in time for it; so
    is an order pushed to a later slot because the earlier ones were full.
    An order not saved yet gives its lines (``unsaved_lines``, products attached).
    """
    now = now or timezone.now()
    ahead = Q(pizzeria_id=order.pizzeria_id, state__in=QUEUE_STATES, created_at__lt=order.created_at or now)
    # The OR is on the orders alone: PostgreSQL then combines two index scans
    # (the queue, this order) instead of reading every order line of the chain's history.
    queued = Order.objects.filter(ahead | Q(pk=order.pk) if order.pk else ahead)
    pizzas = (
        OrderLine.objects.filter(order__in=queued, product__category=Product.PIZZA)
        .aggregate(total=Sum("quantity"))
        .get("total")
        or 0
    )
    pizzas += sum(line.quantity for line in unsaved_lines if line.product.category == Product.PIZZA)
    batches = max(1, math.ceil(pizzas / max(1, order.pizzeria.ovens)))
    minutes = batches * settings.OCPIZZA["PREPARATION_MINUTES_PER_PIZZA"] + order.pizzeria.busy_minutes_at(now)
    ready_at = now + datetime.timedelta(minutes=minutes)
    promised = order.requested_for or order.slot
    if promised is not None:
        ready_at = max(ready_at, promised - order_delivery_duration(order=order))
    return ready_at


def order_fire_at(*, order: Order) -> datetime.datetime | None:
    """When the kitchen should start a scheduled order: its estimated ready time less its own oven
    time (its pizzas in batches over the ovens) and the busy minutes it was quoted with. None for
    an order for now, which the queue takes at once."""
    if order.requested_for is None or order.estimated_ready_at is None:
        return None
    batches = max(1, math.ceil(order.oven_load / max(1, order.pizzeria.ovens)))
    minutes = batches * settings.OCPIZZA["PREPARATION_MINUTES_PER_PIZZA"]
    return order.estimated_ready_at - datetime.timedelta(
        minutes=minutes + order.pizzeria.busy_minutes_at(timezone.now())
    )


def order_delivery_duration(*, order: Order) -> datetime.timedelta:
    minutes = order.pizzeria.delivery_minutes if order.fulfilment == Fulfilment.DELIVERY else 0
    return datetime.timedelta(minutes=minutes)


def order_expected_range(*, order: Order) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The window shown to the customer: when the pizzas reach them (or can be picked up)."""
    if order.estimated_ready_at is None:
        return None
    start = order.estimated_ready_at + order_delivery_duration(order=order)
    return start, start + datetime.timedelta(minutes=settings.OCPIZZA["ESTIMATE_SPREAD_MINUTES"])
