"""Busy mode that starts by itself when a kitchen runs late (``AUTO_BUSY_LATE_MINUTES``, 0: never).

Every few minutes (the ``watch_kitchens`` job) each open kitchen's lateness is
measured: how late, on average, the orders it is still cooking run past the
time they were promised for (an order on time counts 0, so one forgotten order
does not set it off). At the threshold, busy mode starts for half an hour with
the smallest step that covers that lateness, and says why on the staff screens;
it then ends by itself like any busy mode. A busy mode someone started or ended
in the last hour is their choice: the watch leaves that kitchen alone.
"""

import datetime
import math
from collections import defaultdict

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce

from production.models import BUSY_STEPS, Pizzeria
from production.selectors import pizzeria_closes_at, pizzerias_pace_set_by_hand_since
from production.services import pizzeria_set_busy

from .models import Order
from .selectors import COOKING_STATES

AUTO_BUSY_FOR = datetime.timedelta(minutes=30)
HAND_SET_HOLDS_FOR = datetime.timedelta(hours=1)


def kitchens_lateness(*, now: datetime.datetime) -> dict[int, int]:
    """Per active pizzeria with orders in its kitchen: their average lateness in whole minutes, rounded up."""
    overdue: dict[int, list[float]] = defaultdict(list)
    cooking = (
        Order.objects.filter(state__in=COOKING_STATES, pizzeria__is_active=True)
        .annotate(due=Coalesce("estimated_ready_at", "requested_for"))
        # Scheduled orders still waiting for their fire time are not in the kitchen yet.
        .filter(Q(fire_at__isnull=True) | Q(fire_at__lte=now), due__isnull=False)
        .values_list("pizzeria_id", "due")
    )
    for pizzeria_id, due in cooking:
        overdue[pizzeria_id].append(max((now - due).total_seconds(), 0) / 60)
    return {pizzeria_id: math.ceil(sum(late) / len(late)) for pizzeria_id, late in overdue.items()}


def busy_step_for(lateness: int) -> int:
    """The smallest busy step that covers ``lateness`` minutes, the largest when none does."""
    return next((step for step in BUSY_STEPS if step >= lateness), BUSY_STEPS[-1])


def kitchens_busy_when_late(*, now: datetime.datetime) -> list[Pizzeria]:
    """Start busy mode in every open kitchen running later than the threshold. Returns those it started."""
    threshold = settings.OCPIZZA["AUTO_BUSY_LATE_MINUTES"]
    if not threshold:
        return []
    late = {pk: minutes for pk, minutes in kitchens_lateness(now=now).items() if minutes >= threshold}
    hands_on = pizzerias_pace_set_by_hand_since(since=now - HAND_SET_HOLDS_FOR)
    started = []
    for pizzeria in Pizzeria.objects.filter(pk__in=late.keys() - hands_on).order_by("pk"):
        closes = pizzeria_closes_at(pizzeria, at=now)
        if pizzeria.busy_minutes_at(now) or closes is None:
            continue
        minutes = late[pizzeria.pk]
        started.append(
            pizzeria_set_busy(
                pizzeria=pizzeria,
                minutes=busy_step_for(minutes),
                until=min(now + AUTO_BUSY_FOR, closes),
                now=now,
                reason=f"retard moyen de {minutes} min en cuisine",
            )
        )
    return started
