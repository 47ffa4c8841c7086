"""The one way an order's history is written.

Every change of an order or of its payment goes through ``order_event_record``:
it saves the order's changed fields together with its last-modified time (the
ETag and Last-Modified of the customer's live page), then writes one typed
event, and hands it to the sales journal (``ventes.journal``), which keeps the
ones that move money. A change that does not touch the order's own columns (a partial
refund, a second payment) still moves that time, so every live page shows it
at its next poll; and it tells the stream servers (``ocpizzapp.live``), which push it to
the pages that follow the order or its pizzeria.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ocpizzapp.live import live_notify

from .journal import journal_record_event
from .models import STATE_EVENT_TYPES, Order, OrderEvent, OrderEventType

if TYPE_CHECKING:
    from accounts.models import User


def money(amount: Decimal) -> str:
    """An amount as events keep it: a string of euros with two places, exact in JSON."""
    return str(amount.quantize(Decimal("0.01")))


def order_event_record(
    *,
    order: Order,
    type: OrderEventType,
    by: "User | None" = None,
    fields: Sequence[str] = (),
    order_saved: bool = False,
    from_state: str = "",
    to_state: str = "",
    params: Mapping[str, Any] | None = None,
    note: str = "",
) -> OrderEvent:
    """Save ``fields`` of ``order`` with its ``updated_at``, then write the event of that change.

    ``order_saved``: the caller has just saved the whole order (its ``updated_at`` with it).
    ``from_state``/``to_state`` belong to placing and state moves only.
    """
    if type not in STATE_EVENT_TYPES and (from_state or to_state):
        raise ValueError(f"An event of type {type} does not move the order's state.")
    if not order_saved:
        order.save(update_fields=[*fields, "updated_at"])
    event = OrderEvent.objects.create(
        order=order,
        type=type,
        from_state=from_state,
        to_state=to_state,
        by=by,
        params=dict(params or {}),
        note=note[:300],
    )
    # Money moved by this change goes to the sales journal in the same transaction (ventes.journal).
    journal_record_event(order=order, event=event)
    # The live screens showing the order hear of it when the transaction commits (ocpizzapp.live).
    live_notify(order_id=order.pk, pizzeria_id=order.pizzeria_id)
    return event
