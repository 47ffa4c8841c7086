"""Interim expiry of unpaid online orders.

The order workflow (``ventes.services.orders_expire_unpaid``) is written on
another branch; this stand-in has its exact signature so that connecting it is
one import line in ``ocpizzapp/ops/daily.py`` and the deletion of this module.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from production.services import stock_set_order_needs
from ventes.models import CancelReason, Order, OrderEvent, OrderState, PaymentMethod, PaymentState


def orders_expire_unpaid(*, now: datetime.datetime | None = None) -> int:
    """Cancel online orders whose payment has not come within PAYMENT_EXPIRY_MINUTES."""
    now = now or timezone.now()
    deadline = now - datetime.timedelta(minutes=settings.OCPIZZA["PAYMENT_EXPIRY_MINUTES"])
    expired = 0
    with transaction.atomic():
        orders = (
            Order.objects.select_for_update(skip_locked=True)
            .filter(
                state=OrderState.PENDING_PAYMENT,
                payment_method=PaymentMethod.ONLINE_CARD,
                created_at__lt=deadline,
            )
            .order_by("pk")
        )
        for order in orders:
            stock_set_order_needs(pizzeria_id=order.pizzeria_id, order=order, needs={})
            order.state = OrderState.CANCELLED
            order.cancel_reason = CancelReason.PAYMENT_EXPIRED
            order.payment_state = PaymentState.FAILED
            order.save(update_fields=["state", "cancel_reason", "payment_state", "updated_at"])
            OrderEvent.objects.create(
                order=order,
                from_state=OrderState.PENDING_PAYMENT,
                to_state=OrderState.CANCELLED,
                note="Paiement non reçu dans le délai.",
            )
            expired += 1
    return expired
