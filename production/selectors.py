"""Reads of the production side: pizzerias, opening hours, live availability."""

import datetime
import functools
from collections.abc import Iterable
from dataclasses import dataclass

import holidays
from django.db.models import F, FilteredRelation, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from .models import (
    OpeningException,
    OpeningHours,
    Pizzeria,
    Product,
    RecipeLine,
    StaffMember,
    Stock,
    StockMovement,
)


def pizzeria_hours_prefetches() -> list[Prefetch]:
    """What the opening hours are read from: the week's hours and the dated exceptions still to come
    (from yesterday, whose hours may run past midnight)."""
    since = timezone.localdate() - datetime.timedelta(days=1)
    return [
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens")),
        Prefetch("opening_exceptions", queryset=OpeningException.objects.filter(day__gte=since)),
    ]


def pizzeria_list(*, active_only: bool = True) -> QuerySet[Pizzeria]:
    pizzerias = Pizzeria.objects.prefetch_related(*pizzeria_hours_prefetches())
    return pizzerias.filter(is_active=True) if active_only else pizzerias


@functools.cache
def _french_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", years=year, language="fr")


def public_holiday_on(day: datetime.date) -> str | None:
    """The name of the French public holiday on ``day``, or None."""
    return _french_holidays(day.year).get(day)


@dataclass(frozen=True)
class OpeningRange:
    """One opening of a pizzeria, as moments: ``closes`` may be the next day (Friday 18:00–01:00)."""

    opens: datetime.datetime
    closes: datetime.datetime

    def __contains__(self, at: datetime.datetime) -> bool:
        return self.opens <= at < self.closes


def _range(day: datetime.date, opens: datetime.time, closes: datetime.time) -> OpeningRange:
    start = timezone.make_aware(datetime.datetime.combine(day, opens))
    end_day = day if closes > opens else day + datetime.timedelta(days=1)
    return OpeningRange(start, timezone.make_aware(datetime.datetime.combine(end_day, closes)))


def pizzeria_hours_on(pizzeria: Pizzeria, day: datetime.date) -> list[OpeningRange]:
    """The openings that start on ``day``: its dated exception if it has one (closed, or special
    hours), else none on a public holiday the pizzeria closes for, else the week's hours.
    Uses the prefetched hours and exceptions when present (``pizzeria_hours_prefetches``)."""
    exception = next((row for row in pizzeria.opening_exceptions.all() if row.day == day), None)
    if exception is not None:
        if exception.closed or exception.opens is None or exception.closes is None:
            return []
        return [_range(day, exception.opens, exception.closes)]
    if not pizzeria.opens_on_public_holidays and public_holiday_on(day):
        return []
    return [
        _range(day, hours.opens, hours.closes)
        for hours in pizzeria.opening_hours.all()
        if hours.weekday == day.weekday()
    ]


def pizzeria_opening_at(pizzeria: Pizzeria, *, at: datetime.datetime | None = None) -> OpeningRange | None:
    """The opening ``at`` (default: now) falls in, perhaps yesterday's running past midnight; None when closed."""
    local = timezone.localtime(at or timezone.now())
    for day in (local.date() - datetime.timedelta(days=1), local.date()):
        for opening in pizzeria_hours_on(pizzeria, day):
            if local in opening:
                return opening
    return None


def pizzeria_closes_at(pizzeria: Pizzeria, *, at: datetime.datetime | None = None) -> datetime.datetime | None:
    """When the opening that ``at`` (default: now) falls in ends; None when the pizzeria is closed then."""
    opening = pizzeria_opening_at(pizzeria, at=at)
    return opening.closes if opening is not None else None


def pizzeria_business_day(pizzeria: Pizzeria, *, at: datetime.datetime | None = None) -> datetime.date:
    """The kitchen's day at ``at``: the day its opening started (Friday's until 01:00 on Saturday)."""
    local = timezone.localtime(at or timezone.now())
    opening = pizzeria_opening_at(pizzeria, at=local)
    return timezone.localtime(opening.opens).date() if opening is not None else local.date()


def pizzeria_is_open(pizzeria: Pizzeria, *, at: datetime.datetime | None = None) -> bool:
    return pizzeria_closes_at(pizzeria, at=at) is not None


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

    For each product: the minimum over its recipe of available stock (on hand
    less what orders hold) ÷ quantity (an ingredient the pizzeria does not
    stock counts as none left). Products
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
    lines = lines.annotate(available=F("stock_here__on_hand") - F("stock_here__reserved"))
    result: dict[int, Availability] = {}
    for product_id, ingredient_name, needed, available in lines.values_list(
        "product_id", "ingredient__name", "quantity", "available"
    ).order_by("product_id", "ingredient__name"):
        can_make = max(available or 0, 0) // needed
        current = result.get(product_id)
        if current is None or current.can_make is None or can_make < current.can_make:
            result[product_id] = Availability(can_make=can_make, limiting_ingredient=ingredient_name)
    return result


def availability_of(availabilities: dict[int, Availability], product_id: int) -> Availability:
    return availabilities.get(product_id, Availability(can_make=None))


# --- Staff screens -------------------------------------------------------------
# Scoped to a pizzeria here, so that a view cannot fetch another pizzeria's stock by mistake;
# the orders of the staff screens are read through ``ventes.selectors``.


def staff_member_for(*, user) -> StaffMember | None:
    """The staff role of ``user``; a superuser without one acts as a manager."""
    if not user.is_authenticated:
        return None
    member = StaffMember.objects.of_user(user)
    if member is None and user.is_superuser:
        return StaffMember(user=user, role=StaffMember.MANAGER, pizzeria=None)
    return member


def staff_pizzeria(*, member: StaffMember, slug: str) -> Pizzeria | None:
    """The active pizzeria ``slug`` if ``member`` works there (managers: any).

    A member's own pizzeria came with the member (``staff_member_for``), so
    only a manager's costs a query.
    """
    own = member.pizzeria  # None for a manager: no query then
    if own is not None:
        return own if own.slug == slug and own.is_active else None
    return Pizzeria.objects.filter(slug=slug, is_active=True).first()


def menu_products(*, pizzeria: Pizzeria) -> QuerySet[Product]:
    return pizzeria.products.filter(is_active=True).order_by("category", "position", "name")


def recipe_of(*, pizzeria: Pizzeria, product_id: int) -> Product | None:
    """A product of this pizzeria's menu with its recipe and its memo steps."""
    return (
        menu_products(pizzeria=pizzeria)
        .filter(pk=product_id)
        .prefetch_related(
            Prefetch("recipe_lines", queryset=RecipeLine.objects.select_related("ingredient")),
            "recipe_steps",
        )
        .first()
    )


@dataclass
class StockLineView:
    stock: Stock
    blocks: list[str]
    threatens: list[str]


def stock_overview(*, pizzeria: Pizzeria) -> list[StockLineView]:
    """Every stock line of the pizzeria, with the menu products each low line blocks.

    ``blocks``: products that cannot be made even once now; ``threatens``: the
    other products that use a low ingredient. Two queries whatever the sizes.
    """
    lines = list(Stock.objects.filter(pizzeria=pizzeria).select_related("ingredient").order_by("ingredient__name"))
    needs: dict[int, list[tuple[str, int]]] = {}
    for ingredient_id, product_name, quantity in (
        RecipeLine.objects.filter(product__pizzerias=pizzeria, product__is_active=True)
        .order_by("product__name")
        .values_list("ingredient_id", "product__name", "quantity")
    ):
        needs.setdefault(ingredient_id, []).append((product_name, quantity))
    overview = []
    for line in lines:
        used_by = needs.get(line.ingredient_id, []) if line.is_low else []
        overview.append(
            StockLineView(
                stock=line,
                blocks=[name for name, quantity in used_by if line.available < quantity],
                threatens=[name for name, quantity in used_by if line.available >= quantity],
            )
        )
    return overview


def stock_low(lines: QuerySet[Stock]) -> QuerySet[Stock]:
    """The lines whose available stock (on hand less what orders hold) is at or under their threshold."""
    return lines.alias(free=F("on_hand") - F("reserved")).filter(free__lte=F("low_threshold"))


def stock_line_of(*, pizzeria: Pizzeria, stock_id: int) -> Stock | None:
    return Stock.objects.filter(pizzeria=pizzeria, pk=stock_id).select_related("ingredient").first()


def stock_ledger(*, pizzeria: Pizzeria, stock_id: int | None = None) -> QuerySet[StockMovement]:
    movements = StockMovement.objects.filter(stock__pizzeria=pizzeria).select_related(
        "stock__ingredient", "by", "order"
    )
    return movements.filter(stock_id=stock_id) if stock_id is not None else movements


def stock_low_lines(*, pizzeria_ids: Iterable[int]) -> list[Stock]:
    """The low stock lines (``stock_low``) of these pizzerias, by ingredient name, in one query."""
    return list(
        stock_low(Stock.objects.filter(pizzeria_id__in=pizzeria_ids))
        .select_related("ingredient")
        .order_by("ingredient__name")
    )


def stock_last_movement_at() -> datetime.datetime | None:
    return StockMovement.objects.aggregate(last=Max("at"))["last"]


def pizzerias_accepting_flags(*, now: datetime.datetime | None = None) -> str:
    """One figure per active pizzeria: what a pause or a busy mode changes, as they stand at ``now``
    (a timed one that ended changes it too). "P" when paused, else the busy minutes."""
    now = now or timezone.now()
    pizzerias = Pizzeria.objects.filter(is_active=True).order_by("pk")
    paces = pizzerias.only("pk", "accepting_orders", "paused_until", "busy_minutes", "busy_until")
    # No comma: the figures end up in an ETag, which a comma would cut in two.
    return ".".join("P" if pizzeria.is_paused_at(now) else str(pizzeria.busy_minutes_at(now)) for pizzeria in paces)
