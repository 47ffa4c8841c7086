"""Reads of the customer accounts; profile and address book come from ``ventes.selectors``."""

from django.db.models import QuerySet

from production.models import StaffMember
from ventes.models import Order


def customer_order_history(*, user) -> QuerySet[Order]:
    """The user's orders, newest first, each with its pizzeria (no query per order)."""
    return Order.objects.filter(customer__user=user).select_related("pizzeria").order_by("-created_at", "-pk")


def user_is_staff_member(*, user) -> bool:
    return StaffMember.objects.filter(user=user).exists()
