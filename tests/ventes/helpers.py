from urllib.parse import parse_qs, urlsplit

from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from production.models import Pizzeria
from ventes.models import Fulfilment, PaymentMethod
from ventes.services import DeliveryAddress, LineRequest, OrderRequest, order_place
from ventes.tracking import order_number_from_token

# What a guest types into the checkout form.
GUEST = {
    "customer_name": "Camille Martin",
    "customer_phone": "06 12 34 56 78",
    "customer_email": "camille@example.com",
    "fulfilment": "pickup",
    "when": "asap",
    "payment_method": "cash",
}


def is_tracking_link(url: str, *, number: str) -> bool:
    """Whether ``url`` is the guest's signed link to order ``number``'s page.

    Two links to one order differ when signed in different seconds (the token carries its time), so the
    link is read, not compared character by character.
    """
    parts = urlsplit(url)
    tokens = parse_qs(parts.query).get("t", [])
    return (
        parts.path == reverse("ventes:order_detail", kwargs={"number": number})
        and len(tokens) == 1
        and order_number_from_token(tokens[0]) == number
    )


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
