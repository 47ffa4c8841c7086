from django.core.mail.backends.base import BaseEmailBackend

from production.models import Pizzeria
from ventes.models import Fulfilment, PaymentMethod
from ventes.services import DeliveryAddress, LineRequest, OrderRequest, order_place

# What a guest types into the checkout form.
GUEST = {
    "customer_name": "Camille Martin",
    "customer_phone": "06 12 34 56 78",
    "customer_email": "camille@example.com",
    "fulfilment": "pickup",
    "when": "asap",
    "payment_method": "cash",
}


def place(shop, lines=None, *, pizzeria_id=None, **overrides):
    """Place an order at the shop's pizzeria (or ``pizzeria_id``'s), as read now, through the real service."""
    if "pizzeria" not in overrides:
        overrides["pizzeria"] = Pizzeria.objects.prefetch_related("opening_hours").get(
            pk=pizzeria_id or shop.pizzeria.pk
        )
    kwargs = {
        "lines": lines if lines is not None else [LineRequest(shop.margherita.pk, 1)],
        "channel": "web",
        "fulfilment": Fulfilment.PICKUP,
        "payment_method": PaymentMethod.CASH,
        "customer_name": "Camille Martin",
        "customer_phone": "06 12 34 56 78",
        "customer_email": "camille@example.com",
    }
    kwargs.update(overrides)
    if kwargs["fulfilment"] == Fulfilment.DELIVERY and "delivery_address" not in overrides:
        kwargs["delivery_address"] = DeliveryAddress(line="8 rue Keller", postcode="75001")
    return order_place(request=OrderRequest(**kwargs))


class BrokenEmailBackend(BaseEmailBackend):
    """A mail server that refuses the connection."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")
