"""The meal-voucher split of an order, as the receipt and the staff cards show it."""

from collections.abc import Iterable

from django import template

from ventes.models import Order, OrderLine
from ventes.selectors import order_meal_voucher_split

register = template.Library()


@register.inclusion_tag("ventes/_meal_voucher_split.html")
def meal_voucher_split(order: Order, lines: Iterable[OrderLine]) -> dict:
    """Nothing unless the order is paid by meal voucher and vouchers cannot pay all of it."""
    return {"split": order_meal_voucher_split(order=order, lines=lines)}
