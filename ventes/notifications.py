"""Customer e-mails about their order. Sent after commit; a mail failure is
logged and never undoes or blocks the change that caused it."""

import logging
from functools import partial

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from .estimates import order_expected_range
from .models import Order, OrderState
from .tracking import order_tracking_url

logger = logging.getLogger(__name__)

SUBJECTS = {
    OrderState.RECEIVED: "Commande {number} reçue",
    OrderState.PREPARING: "Commande {number} : au four !",
    OrderState.READY: "Commande {number} prête",
    OrderState.OUT_FOR_DELIVERY: "Commande {number} en route",
    OrderState.COMPLETED: "Commande {number} : bon appétit !",
    OrderState.CANCELLED: "Commande {number} annulée",
}


def order_notify_after_commit(*, order_id: int, state: str, order: Order | None = None) -> None:
    """``order``: the order as it is committed, when the caller has just written all of it (a new order)."""
    if state in SUBJECTS:
        transaction.on_commit(partial(order_notify_customer, order_id=order_id, state=state, order=order))


def order_notify_customer(*, order_id: int, state: str, order: Order | None = None) -> bool:
    if order is None:
        order = Order.objects.select_related("pizzeria").get(pk=order_id)
    if not order.customer_email:
        return False
    context = {
        "order": order,
        "state": state,
        "expected": order_expected_range(order=order),
        "tracking_url": order_tracking_url(number=order.number, absolute=True),
    }
    try:
        send_mail(
            subject=SUBJECTS[OrderState(state)].format(number=order.number),
            message=render_to_string("ventes/email/order_state.txt", context),
            from_email=None,
            recipient_list=[order.customer_email],
        )
    except Exception:
        # The order has moved whatever the mail server says; the failure is for the log and Sentry.
        logger.exception("Could not e-mail order %s about state %s", order.number, state)
        return False
    return True
