"""What the shop keeps about a person, and how it lets go of it (GDPR articles 15, 17 and 20).

A customer downloads everything kept about them (``customer_data_export``,
as JSON or CSV) and may erase their account: ``customer_forget`` takes every
personal detail out of their orders (name, phone, e-mail, delivery address and
instructions, remarks, SMS number and consent, the recipients of their
messages) and deletes their profile, address book and consents. The orders stay, with
their lines, amounts and history, because the accounts must (Code de
commerce, art. L123-22: ten years); the sales journal and its closings never
held a name.

A guest leaves the same details on an order; ``guests_forget`` takes them out
``GUEST_DATA_MONTHS`` months after the order, run daily by the ``purge_guest_data`` job.
"""

import csv
import datetime
import io
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone

from .models import Customer, Fulfilment, Notification, Order

ERASED_NAME = "Client effacé"
# A delivery order must name an address (order_delivery_has_address): this says where it went, no more.
ERASED_ADDRESS = "adresse effacée"


def _when(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _order_data(order: Order) -> dict[str, Any]:
    return {
        "numéro": order.number,
        "pizzeria": order.pizzeria.name,
        "passée le": _when(order.created_at),
        "état": order.get_state_display(),
        "canal": order.get_channel_display(),
        "mode": order.get_fulfilment_display(),
        "nom": order.customer_name,
        "téléphone": order.customer_phone,
        "e-mail": order.customer_email,
        "adresse de livraison": order.delivery_address,
        "code postal": order.delivery_postcode,
        "ville": order.delivery_city,
        "instructions": order.delivery_instructions,
        "remarque": order.note,
        "mobile pour les SMS": str(order.sms_phone or ""),
        "accord SMS donné le": _when(order.sms_consent_at),
        "paiement": order.get_payment_method_display(),
        "état du paiement": order.get_payment_state_display(),
        "total TTC": str(order.total),
        "lignes": [
            {"produit": line.product_name, "quantité": line.quantity, "prix unitaire TTC": str(line.unit_price)}
            for line in order.lines.all()
        ],
        "messages": [
            {
                "canal": message.get_channel_display(),
                "destinataire": message.recipient,
                "état annoncé": message.get_state_display(),
                "statut": message.get_status_display(),
                "envoyé le": _when(message.sent_at),
            }
            for message in order.notifications.all()
        ],
    }


def customer_data_export(*, user) -> dict[str, Any]:
    """Everything kept about a signed-in person: account, profile, addresses, orders and their messages."""
    customer = Customer.objects.filter(user=user).prefetch_related("addresses", "consents").first()
    orders = (
        Order.objects.filter(customer=customer)
        .select_related("pizzeria")
        .prefetch_related("lines", "notifications")
        .order_by("created_at")
        if customer is not None
        else Order.objects.none()
    )
    return {
        "compte": {
            "e-mail": user.email,
            "prénom": user.first_name,
            "nom": user.last_name,
            "inscrit le": _when(user.date_joined),
            "dernière connexion": _when(user.last_login),
            "connexions externes": [
                {"fournisseur": social.provider, "identifiant": social.uid} for social in user.social_auth.all()
            ],
        },
        "profil": {
            "téléphone": customer.phone,
            "suivi par e-mail": customer.notify_email,
            "mobile pour les SMS": str(customer.sms_phone or ""),
            "accord SMS donné le": _when(customer.sms_consent_at),
            "accord aux offres par e-mail donné le": _when(customer.marketing_consent_at),
            "consentements": [
                {
                    "objet": consent.get_purpose_display(),
                    "accordé": consent.given,
                    "recueilli par": consent.source,
                    "le": _when(consent.recorded_at),
                }
                for consent in customer.consents.all()
            ],
        }
        if customer is not None
        else {},
        "adresses": [
            {
                "nom": address.label,
                "adresse": address.line1,
                "complément": address.line2,
                "code postal": address.postcode,
                "ville": address.city,
                "instructions au livreur": address.instructions,
            }
            for address in (customer.addresses.all() if customer is not None else [])
        ],
        "commandes": [_order_data(order) for order in orders],
    }


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(f"{prefix}.{key}" if prefix else key, inner)
    elif isinstance(value, list):
        for index, inner in enumerate(value, start=1):
            yield from _flat(f"{prefix}[{index}]", inner)
    else:
        yield prefix, "" if value is None else str(value)


def customer_data_csv(data: dict[str, Any]) -> str:
    """The export as one CSV of (rubrique, valeur) rows: every detail on its own line, readable in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["rubrique", "valeur"])
    writer.writerows(_flat("", data))
    return out.getvalue()


def _orders_forget(orders: QuerySet[Order]) -> int:
    """Take every personal detail out of these orders and of their messages; amounts and history stay."""
    ids = list(orders.values_list("pk", flat=True))
    Notification.objects.filter(order_id__in=ids).update(recipient="")
    return Order.objects.filter(pk__in=ids).update(
        customer=None,
        customer_name=ERASED_NAME,
        customer_phone="",
        customer_email="",
        delivery_address=Case(When(fulfilment=Fulfilment.DELIVERY, then=Value(ERASED_ADDRESS)), default=Value("")),
        delivery_postcode="",
        delivery_city="",
        delivery_instructions="",
        delivery_latitude=None,
        delivery_longitude=None,
        note="",
        notify_email=False,
        sms_phone="",
        sms_consent_at=None,
    )


@transaction.atomic
def customer_forget(*, user) -> int:
    """Erase a customer's personal data: their orders anonymised, their profile and addresses deleted.

    The user itself is the accounts app's to delete (``accounts.services.account_erase``). Returns the
    number of orders kept without personal data.
    """
    customer = Customer.objects.select_for_update().filter(user=user).first()
    if customer is None:
        return 0
    kept = _orders_forget(Order.objects.filter(customer=customer))
    customer.delete()  # its addresses and consents with it
    return kept


def _months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, 28)  # the cut-off may move a few days earlier at the end of a month, never later
    return moment.replace(year=year, month=month + 1, day=day)


def guests_forget(*, now: datetime.datetime) -> int:
    """Take the personal details out of the guests' orders placed ``GUEST_DATA_MONTHS`` months ago or more."""
    cutoff = _months_before(now, settings.OCPIZZA["GUEST_DATA_MONTHS"])
    due = Order.objects.filter(customer__isnull=True, created_at__lt=cutoff).exclude(customer_name=ERASED_NAME)
    with transaction.atomic():
        return _orders_forget(due)
