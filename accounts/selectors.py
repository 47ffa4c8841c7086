"""Reads of the customer accounts: profile, address book, order history."""

from django.db.models import QuerySet

from production.models import StaffMember
from ventes.models import Address, Customer, Order


def customer_for(*, user) -> Customer | None:
    return Customer.objects.filter(user=user).first()


def customer_addresses(*, user) -> QuerySet[Address]:
    """The user's address book, in one query whatever its size."""
    return Address.objects.filter(customer__user=user).order_by("label", "pk")


def customer_order_history(*, user) -> QuerySet[Order]:
    """The user's orders, newest first, each with its pizzeria (no query per order)."""
    return Order.objects.filter(customer__user=user).select_related("pizzeria").order_by("-created_at", "-pk")


def user_is_staff_member(*, user) -> bool:
    return StaffMember.objects.filter(user=user).exists()
