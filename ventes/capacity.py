"""How much a pizzeria's ovens bake in a quarter hour, and how much of it orders already hold.

A slot is the quarter hour an order is promised in (delivered or picked up).
Its capacity is the pizzeria's ovens × pizzas per oven; every order not
cancelled holds its oven load there (``Order.slot``, ``Order.oven_load``: a
pizza 1, a drink 0, a calzone more). A pick-up and a delivery promised in the
same quarter hour leave the oven a delivery apart: counting them where they are
promised keeps one rule for the customer's picker, the placing and the kitchen.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from production.models import Pizzeria, Product

from .models import Order, OrderState

SLOT_MINUTES = 15
SLOT = datetime.timedelta(minutes=SLOT_MINUTES)


@dataclass(frozen=True)
class SlotRoom:
    """A slot, the load already due in it and what it can take."""

    at: datetime.datetime
    load: int
    capacity: int

    def fits(self, extra: int) -> bool:
        return self.load + extra <= self.capacity

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.load, 0)


def slot_start(at: datetime.datetime) -> datetime.datetime:
    """The quarter hour ``at`` falls in, in local time."""
    local = timezone.localtime(at)
    return local.replace(minute=local.minute - local.minute % SLOT_MINUTES, second=0, microsecond=0)


def slot_capacity(*, pizzeria: Pizzeria, at: datetime.datetime | None = None) -> int:
    """What the ovens take in the slot starting ``at`` (default: now).

    In busy mode each pizza takes longer: a slot holds what fits in its quarter
    hour once the busy minutes are added to it (+10 min: 15/25 of it), one at least.
    """
    full = pizzeria.ovens * pizzeria.pizzas_per_oven
    busy = pizzeria.busy_minutes_at(at or timezone.now())
    return max(1, full * SLOT_MINUTES // (SLOT_MINUTES + busy)) if busy else full


def oven_load_of(items: Iterable[tuple[Product, int]]) -> int:
    """The oven load of (product, quantity) pairs."""
    return sum(product.oven_load * quantity for product, quantity in items)


def slot_loads(*, pizzeria_id: int, start: datetime.datetime, end: datetime.datetime) -> dict[datetime.datetime, int]:
    """The load due in each slot from ``start`` to ``end``, in one query (slots with none are absent)."""
    rows = (
        Order.objects.filter(pizzeria_id=pizzeria_id, slot__gte=start, slot__lt=end)
        .exclude(state=OrderState.CANCELLED)
        .values_list("slot")
        .annotate(load=Sum("oven_load"))
        .order_by()
    )
    return dict(rows)


def slot_room(*, pizzeria: Pizzeria, at: datetime.datetime) -> SlotRoom:
    start = slot_start(at)
    loads = slot_loads(pizzeria_id=pizzeria.pk, start=start, end=start + SLOT)
    return SlotRoom(at=start, load=loads.get(start, 0), capacity=slot_capacity(pizzeria=pizzeria, at=start))


def first_slot_with_room(
    *, pizzeria: Pizzeria, earliest: datetime.datetime, until: datetime.datetime, load: int
) -> SlotRoom | None:
    """The first slot from the one ``earliest`` falls in, and starting before ``until``, that takes ``load`` more."""
    start = slot_start(earliest)
    loads = slot_loads(pizzeria_id=pizzeria.pk, start=start, end=until)
    at = start
    while at < until:
        room = SlotRoom(at=at, load=loads.get(at, 0), capacity=slot_capacity(pizzeria=pizzeria, at=at))
        if room.fits(load):
            return room
        at += SLOT
    return None
