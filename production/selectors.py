"""Reads of the production side: pizzerias, opening hours."""

import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import OpeningHours, Pizzeria


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
