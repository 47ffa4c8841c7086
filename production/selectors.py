"""Reads of the production side: pizzerias, opening hours, live availability."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import FilteredRelation, Prefetch, Q, QuerySet
from django.utils import timezone

from .models import OpeningHours, Pizzeria, RecipeLine


def pizzeria_list(*, active_only: bool = True) -> QuerySet[Pizzeria]:
    pizzerias = Pizzeria.objects.prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens"))
    )
    return pizzerias.filter(is_active=True) if active_only else pizzerias


def pizzeria_hours_on(pizzeria: Pizzeria, day: datetime.date) -> list[OpeningHours]:
    """The opening ranges of that day (uses the prefetched hours when present)."""
    return [hours for hours in pizzeria.opening_hours.all() if hours.weekday == day.weekday()]


def pizzeria_is_open(pizzeria: Pizzeria, *, at: datetime.datetime | None = None) -> bool:
    local = timezone.localtime(at or timezone.now())
    now = local.time()
    return any(hours.opens <= now < hours.closes for hours in pizzeria_hours_on(pizzeria, local.date()))


@dataclass(frozen=True)
class Availability:
    """How many of a product a pizzeria can make now, and what limits it.

    ``can_make`` is None for a product without a recipe: nothing is counted for it.
    """

    can_make: int | None
    limiting_ingredient: str | None = None

    @property
    def sold_out(self) -> bool:
        return self.can_make == 0

    def is_low(self, threshold: int) -> bool:
        return self.can_make is not None and 0 < self.can_make <= threshold


def product_availability(*, pizzeria_id: int, product_ids: Iterable[int] | None = None) -> dict[int, Availability]:
    """Availability of a pizzeria's products, in a single query whatever the menu size.

    For each product: the minimum over its recipe of stock ÷ quantity (an
    ingredient the pizzeria does not stock counts as none left). Products
    without a recipe are absent from the result: callers read them as unlimited.
    """
    lines = RecipeLine.objects.annotate(
        stock_here=FilteredRelation(
            "ingredient__stock_lines", condition=Q(ingredient__stock_lines__pizzeria_id=pizzeria_id)
        )
    )
    lines = (
        lines.filter(product_id__in=product_ids)
        if product_ids is not None
        else lines.filter(product__pizzerias=pizzeria_id)
    )
    result: dict[int, Availability] = {}
    for product_id, ingredient_name, needed, level in lines.values_list(
        "product_id", "ingredient__name", "quantity", "stock_here__quantity"
    ).order_by("product_id", "ingredient__name"):
        can_make = (level or 0) // needed
        current = result.get(product_id)
        if current is None or can_make < current.can_make:
            result[product_id] = Availability(can_make=can_make, limiting_ingredient=ingredient_name)
    return result


def availability_of(availabilities: dict[int, Availability], product_id: int) -> Availability:
    return availabilities.get(product_id, Availability(can_make=None))
