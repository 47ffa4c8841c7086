"""Orders taken through the real workflow to the states that write the sales journal."""

from decimal import Decimal

from ventes.models import OrderState
from ventes.payments import refund_request
from ventes.services import LineRequest
from ventes.workflow import order_transition

from .helpers import place

TO_COMPLETED = [OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED]


def completed(shop, manager, lines=None, **overrides):
    """An order placed, cooked and handed over at the counter (collected there when paid at the door)."""
    order = place(shop, lines, **overrides)
    for state in TO_COMPLETED:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    order.refresh_from_db()
    return order


def refunded(shop, manager, amount="4.50"):
    order = completed(shop, manager, [LineRequest(shop.margherita.pk, 1), LineRequest(shop.beer.pk, 1)])
    refund_request(order_id=order.pk, reason="quality", by=manager, amount=Decimal(amount))
    return order
