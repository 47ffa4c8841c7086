"""Reads of the production side: pizzerias, opening hours, live availability,
and the catalogue as one pizzeria sells it (sizes, options, its own prices)."""

import datetime
import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal

import holidays
from django.conf import settings
from django.db.models import F, FilteredRelation, Max, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Greatest, TruncDate
from django.utils import timezone

from .exceptions import InvalidConfiguration
from .models import (
    Allergen,
    Formula,
    FormulaChoice,
    FormulaSlot,
    Ingredient,
    IngredientCost,
    MenuOverride,
    OpeningException,
    OpeningHours,
    Option,
    OptionGroup,
    Pizzeria,
    PizzeriaEvent,
    Product,
    ProductSize,
    PurchaseOrder,
    PurchaseOrderLine,
    RecipeLine,
    StaffMember,
    Stock,
    StockMovement,
    Supplier,
    SupplierItem,
)


def pizzeria_hours_prefetches() -> list[Prefetch]:
    """What the opening hours are read from: the week's hours and the dated exceptions still to come
    (from yesterday, whose hours may run past midnight)."""
    since = timezone.localdate() - datetime.timedelta(days=1)
    return [
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens")),
        Prefetch("opening_exceptions", queryset=OpeningException.objects.filter(day__gte=since)),
    ]


def pizzeria_by_id(*, pizzeria_id: int) -> Pizzeria:
    """The pizzeria as it stands now: a kitchen's stream reads its busy mode again at each change."""
    return Pizzeria.objects.get(pk=pizzeria_id)


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
class CalendarEntry:
    """One exception of a day, for one pizzeria or (``pizzeria`` None) for the whole chain."""

    pizzeria: Pizzeria | None
    closed: bool
    opens: datetime.time | None
    closes: datetime.time | None
    label: str

    @property
    def past_midnight(self) -> bool:
        return self.opens is not None and self.closes is not None and self.closes < self.opens


@dataclass(frozen=True)
class CalendarDay:
    day: datetime.date
    holiday: str | None
    entries: list[CalendarEntry]
    # On a public holiday with no exception of their own: the pizzerias that close for it.
    closed_for_holiday: list[Pizzeria]


def opening_calendar(*, start: datetime.date, days: int, pizzerias: Sequence[Pizzeria]) -> list[CalendarDay]:
    """The days from ``start`` that differ from the usual week at any of ``pizzerias``: their exceptions (a
    chain-wide one once, as long as a pizzeria kept it) and the public holidays. One query."""
    end = start + datetime.timedelta(days=days)
    exceptions = (
        OpeningException.objects.filter(pizzeria__in=pizzerias, day__gte=start, day__lt=end)
        .select_related("pizzeria")
        .order_by("day", "pizzeria__name")
    )
    by_day: dict[datetime.date, list[OpeningException]] = defaultdict(list)
    for row in exceptions:
        by_day[row.day].append(row)
    holidays_ahead = {
        day: name
        for year in {start.year, end.year}
        for day, name in _french_holidays(year).items()
        if start <= day < end
    }
    calendar = []
    for day in sorted(by_day.keys() | holidays_ahead.keys()):
        rows = by_day.get(day, [])
        chain = next((row for row in rows if row.chain_wide), None)
        entries = [CalendarEntry(None, chain.closed, chain.opens, chain.closes, chain.label)] if chain else []
        entries += [
            CalendarEntry(row.pizzeria, row.closed, row.opens, row.closes, row.label)
            for row in rows
            if not row.chain_wide
        ]
        excepted = {row.pizzeria_id for row in rows}
        closed_for_holiday = (
            [p for p in pizzerias if not p.opens_on_public_holidays and p.pk not in excepted]
            if day in holidays_ahead
            else []
        )
        calendar.append(CalendarDay(day, holidays_ahead.get(day), entries, closed_for_holiday))
    return calendar


def pizzerias_pace_set_by_hand_since(*, since: datetime.datetime) -> set[int]:
    """The pizzerias where someone started or ended busy mode since ``since``: their choice stands."""
    return set(
        PizzeriaEvent.objects.filter(
            kind__in=[PizzeriaEvent.BUSY, PizzeriaEvent.CALM], by__isnull=False, at__gte=since
        ).values_list("pizzeria_id", flat=True)
    )


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
    """The lines whose available stock (on hand less what orders hold) is at or under their alert threshold:
    a share of their par level when they have one (``Stock.alert_threshold``), else their low threshold."""
    percent = settings.OCPIZZA["PAR_ALERT_PERCENT"]
    free = F("on_hand") - F("reserved")
    return lines.alias(
        # As the two indexes of Stock have them, so that the lines under their alert are read from those alone.
        above_threshold=free - F("low_threshold"),
        par_share=free * 100 / Greatest(F("par_level"), 1),
        # In hundredths, so that the share of the par level is compared without any rounding of its own.
        free_100=free * 100,
    ).filter(
        Q(par_level__isnull=True, above_threshold__lte=0)
        | Q(par_level__isnull=False, par_share__lte=percent, free_100__lte=F("par_level") * percent)
    )


def stock_line_of(*, pizzeria: Pizzeria, stock_id: int) -> Stock | None:
    return Stock.objects.filter(pizzeria=pizzeria, pk=stock_id).select_related("ingredient").first()


def stock_ledger(*, pizzeria: Pizzeria, stock_id: int | None = None) -> QuerySet[StockMovement]:
    movements = StockMovement.objects.filter(stock__pizzeria=pizzeria).select_related(
        "stock__ingredient", "by", "order", "transfer__source", "transfer__destination"
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


# --- Food cost ---------------------------------------------------------------------
# Each ingredient's cost has a history (IngredientCost); a figure holds from its day until the next.


class CostHistory:
    """Every ingredient's costs, read once: the cost on any day without a query."""

    def __init__(self, rows: Iterable[tuple[int, datetime.date, Decimal]]):
        self._by_ingredient: dict[int, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
        for ingredient_id, valid_from, unit_cost in sorted(rows, key=lambda row: (row[0], row[1])):
            self._by_ingredient[ingredient_id].append((valid_from, unit_cost))

    def on(self, ingredient_id: int, day: datetime.date) -> Decimal | None:
        """The unit cost valid on ``day``, None when none was set by then."""
        cost = None
        for valid_from, unit_cost in self._by_ingredient.get(ingredient_id, []):
            if valid_from > day:
                break
            cost = unit_cost
        return cost


def cost_history() -> CostHistory:
    return CostHistory(IngredientCost.objects.values_list("ingredient_id", "valid_from", "unit_cost"))


@dataclass(frozen=True)
class ProductMargin:
    """What one product earns on a day: its price without VAT, the cost of its recipe, the difference."""

    product: Product
    price_excl_vat: Decimal
    recipe_cost: Decimal
    missing: tuple[str, ...]  # ingredients of the recipe with no cost yet: the cost is then too low

    @property
    def margin(self) -> Decimal:
        return self.price_excl_vat - self.recipe_cost

    @property
    def food_cost_rate(self) -> Decimal | None:
        """The recipe's cost as a share of the price without VAT (the trade's « ratio matière »)."""
        return self.recipe_cost / self.price_excl_vat if self.price_excl_vat else None


CENT = Decimal("0.01")


def product_margins(*, day: datetime.date) -> list[ProductMargin]:
    """Every active product's margin on ``day``, pizzas first, in three queries."""
    history = cost_history()
    products = Product.objects.filter(is_active=True).prefetch_related(
        Prefetch("recipe_lines", queryset=RecipeLine.objects.select_related("ingredient"))
    )
    # Pizzas first, then drinks and desserts: the order of Product.CATEGORIES, not the alphabet.
    rank = {category: index for index, (category, _label) in enumerate(Product.CATEGORIES)}
    margins = []
    for product in sorted(products, key=lambda product: (rank[product.category], product.name)):
        cost, missing = Decimal("0"), []
        for line in product.recipe_lines.all():
            unit_cost = history.on(line.ingredient_id, day)
            if unit_cost is None:
                missing.append(line.ingredient.name)
            else:
                cost += unit_cost * line.quantity
        price = (product.price / (1 + product.vat_rate / 100)).quantize(CENT)
        margins.append(ProductMargin(product, price, cost.quantize(CENT), tuple(missing)))
    return margins


@dataclass(frozen=True)
class WasteCost:
    pizzeria: Pizzeria
    cost: Decimal
    uncosted: int  # waste rows of ingredients that had no cost on their day


def waste_costs(*, since: datetime.date, until: datetime.date) -> list[WasteCost]:
    """What each active pizzeria threw away between the two days (included), valued at the cost of each day."""
    history = cost_history()
    totals: dict[int, Decimal] = defaultdict(Decimal)
    uncosted: dict[int, int] = defaultdict(int)
    wastes = StockMovement.objects.filter(
        kind=StockMovement.WASTE, at__date__gte=since, at__date__lte=until
    ).values_list("stock__pizzeria_id", "stock__ingredient_id", "on_hand_delta", "at")
    for pizzeria_id, ingredient_id, delta, at in wastes:
        unit_cost = history.on(ingredient_id, timezone.localdate(at))
        if unit_cost is None:
            uncosted[pizzeria_id] += 1
        else:
            totals[pizzeria_id] += unit_cost * -delta
    return [
        WasteCost(pizzeria, totals[pizzeria.pk].quantize(CENT), uncosted[pizzeria.pk])
        for pizzeria in Pizzeria.objects.filter(is_active=True).order_by("name")
    ]


# --- The catalogue as a pizzeria sells it ----------------------------------------------
# Sizes, option groups, the pizzeria's own prices and withdrawals, and the recipe of
# each configured line: what the menu shows, what an order is priced and reserved by.


def scaled(quantity: int, factor: Decimal) -> int:
    """A recipe quantity for a size: rounded up, so that a large pizza never gets less than its share."""
    return max(int((Decimal(quantity) * factor).to_integral_value(rounding=ROUND_CEILING)), 1)


KIND_ORDER = {OptionGroup.CHOICE: 0, OptionGroup.REMOVE: 1, OptionGroup.EXTRA: 2}


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


@dataclass(frozen=True)
class ConfiguredLine:
    """One product as chosen: its size, its options, its price here and its exact recipe (per unit)."""

    product: Product
    size: ProductSize | None
    options: tuple[Option, ...]
    unit_price: Decimal
    recipe: Mapping[int, int]
    option_prices: tuple[Decimal, ...] = ()  # each option's price here, in the order of ``options``
    sized: bool = False  # the product comes in several sizes: the description names the one chosen
    half: Product | None = None  # the pizza of the second half, for a half-and-half

    @property
    def key(self) -> str:
        return line_key(
            self.product.pk,
            self.size.pk if self.size else None,
            [o.pk for o in self.options],
            self.half.pk if self.half else None,
        )

    @property
    def description(self) -> str:
        """« Grande, sans champignons, + mozzarella »: what the cart, the ticket and the kitchen card say."""
        parts = [self.size.name] if self.size is not None and self.sized else []
        if self.half is not None:
            parts.append(f"moitié {self.product.name} / moitié {self.half.name}")
        for option in self.options:
            kind = option.group.kind
            if kind == OptionGroup.REMOVE:
                parts.append(f"sans {_lower_first(option.name)}")
            elif kind == OptionGroup.EXTRA:
                parts.append(f"+ {_lower_first(option.name)}")
            else:
                parts.append(option.name)
        return ", ".join(parts)

    @property
    def label(self) -> str:
        return f"{self.product.name} ({self.description})" if self.description else self.product.name

    def can_make(self, levels: Mapping[int, int]) -> int | None:
        """How many of this line the stock ``levels`` ({ingredient id: available}) allow; None without a recipe."""
        if not self.recipe:
            return None
        return min(max(levels.get(ingredient_id, 0), 0) // quantity for ingredient_id, quantity in self.recipe.items())


def line_key(product_id: int, size_id: int | None, option_ids: Iterable[int], half_id: int | None = None) -> str:
    """One string per configuration: equal lines of a cart or an order merge under it."""
    options = ",".join(str(option_id) for option_id in sorted(set(option_ids)))
    return f"{product_id}:{size_id or ''}:{options}" + (f":{half_id}" if half_id else "")


def parse_line_key(key: str) -> tuple[int, int | None, tuple[int, ...], int | None] | None:
    """(product id, size id, option ids, second half's product id) of a ``line_key``, or None when it is not one.

    A bare product id (a cart from before sizes and options) is that product as it comes.
    """
    parts = key.split(":")
    if len(parts) == 1:
        parts += ["", ""]
    if len(parts) == 3:
        parts.append("")
    if len(parts) != 4 or not parts[0].isdigit() or len(key) > 200:
        return None
    size, options, half = parts[1], parts[2].split(",") if parts[2] else [], parts[3]
    if not all(part == "" or part.isdigit() for part in (size, half)) or not all(o.isdigit() for o in options):
        return None
    return (
        int(parts[0]),
        int(size) if size else None,
        tuple(int(option) for option in options),
        int(half) if half else None,
    )


def formula_key(formula_id: int, choice_ids: Iterable[int]) -> str:
    """The cart key of a formula with its choices (``FormulaChoice`` ids): « F3:12,15,19 »."""
    return f"F{formula_id}:" + ",".join(str(choice_id) for choice_id in sorted(set(choice_ids)))


def parse_formula_key(key: str) -> tuple[int, tuple[int, ...]] | None:
    """(formula id, choice ids) of a ``formula_key``, or None when it is not one."""
    head, _, choices = key.partition(":")
    parts = choices.split(",") if choices else []
    if len(key) > 200 or not head.startswith("F") or not head[1:].isdigit() or not all(p.isdigit() for p in parts):
        return None
    return int(head[1:]), tuple(int(part) for part in parts)


def price_split(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``total`` shared in proportion to ``weights`` (the parts' usual prices), in whole cents that sum exactly
    to it: each part its rounded-down share, the cents left to the largest remainders; never a part of 0."""
    cents = int((total * 100).to_integral_value())
    whole = sum(weights, Decimal(0))
    shares = [Decimal(cents) * weight / whole if whole else Decimal(cents) / len(weights) for weight in weights]
    parts = [int(share) for share in shares]
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - shares[i], i))
    for i in by_remainder[: cents - sum(parts)]:
        parts[i] += 1
    # A line is never free (order lines are priced above zero): a cent from the dearest part, when it can spare it.
    for i, part in enumerate(parts):
        dearest = max(range(len(parts)), key=lambda j: parts[j])
        if part == 0 and parts[dearest] > 1:
            parts[i], parts[dearest] = 1, parts[dearest] - 1
    return [Decimal(part) / 100 for part in parts]


def formula_served_at(formula: Formula, at: datetime.datetime) -> bool:
    """True when ``at`` (in the pizzerias' local time) is in one of the formula's windows; always without any."""
    windows = formula.windows.all()
    local = timezone.localtime(at)
    return not windows or any(
        window.weekday == local.weekday() and window.starts <= local.time() < window.ends for window in windows
    )


def formula_hours(formula: Formula) -> str:
    """« du lundi au vendredi de 11h30 à 14h00 »: the formula's windows in words, "" when it is always served."""
    days_by_time: dict[tuple[datetime.time, datetime.time], list[int]] = defaultdict(list)
    for window in formula.windows.all():
        days_by_time[(window.starts, window.ends)].append(window.weekday)
    said = []
    for (starts, ends), days in days_by_time.items():
        days = sorted(set(days))
        names = [OpeningHours.WEEKDAYS[day][1] for day in days]
        run = len(days) >= 3 and days == list(range(days[0], days[-1] + 1))
        when = f"du {names[0]} au {names[-1]}" if run else ", ".join(names)
        said.append(f"{when} de {starts:%H}h{starts:%M} à {ends:%H}h{ends:%M}")
    return " ; ".join(said)


@dataclass(frozen=True)
class ConfiguredFormula:
    """A formula as chosen: one configured line per slot, each priced at its share of the set price
    (``price_split`` of their usual prices here), so that each part carries its own VAT rate."""

    formula: Formula
    choices: tuple[FormulaChoice, ...]
    parts: tuple[ConfiguredLine, ...]

    @property
    def key(self) -> str:
        return formula_key(self.formula.pk, [choice.pk for choice in self.choices])

    @property
    def unit_price(self) -> Decimal:
        return self.formula.price

    @property
    def description(self) -> str:
        return ", ".join(part.label for part in self.parts)

    @property
    def label(self) -> str:
        return f"{self.formula.name} ({self.description})"

    @property
    def recipe(self) -> dict[int, int]:
        recipe: dict[int, int] = defaultdict(int)
        for part in self.parts:
            for ingredient_id, quantity in part.recipe.items():
                recipe[ingredient_id] += quantity
        return dict(recipe)

    def can_make(self, levels: Mapping[int, int]) -> int | None:
        recipe = self.recipe
        if not recipe:
            return None
        return min(max(levels.get(ingredient_id, 0), 0) // quantity for ingredient_id, quantity in recipe.items())


@dataclass
class Catalogue:
    """Products of one pizzeria's menu with their sizes, options and recipes, and its overrides.

    Built in a fixed number of queries whatever the menu (``catalogue_for``);
    ``configure`` checks and prices a line against it without any query.
    """

    pizzeria: Pizzeria
    products: dict[int, Product]
    overrides: dict[tuple[str, int], MenuOverride] = field(default_factory=dict)
    formulas: dict[int, Formula] = field(default_factory=dict)

    def _override(self, kind: str, pk: int) -> MenuOverride | None:
        return self.overrides.get((kind, pk))

    def withdrawn(self, kind: str, pk: int) -> bool:
        override = self._override(kind, pk)
        return override is not None and override.withdrawn

    def _price(self, kind: str, pk: int, default: Decimal) -> Decimal:
        override = self._override(kind, pk)
        return override.price if override is not None and override.price is not None else default

    def sellable(self, product: Product) -> bool:
        return not self.withdrawn("product", product.pk) and (not product.sizes.all() or bool(self.sizes(product)))

    def sizes(self, product: Product) -> list[ProductSize]:
        return [size for size in product.sizes.all() if not self.withdrawn("size", size.pk)]

    def size_price(self, size: ProductSize) -> Decimal:
        return self._price("size", size.pk, size.price)

    def base_price(self, product: Product) -> Decimal:
        """The price of the product as sold here without options: its first size's, or its own."""
        sizes = self.sizes(product)
        return self.size_price(sizes[0]) if sizes else self._price("product", product.pk, product.price)

    def groups(self, product: Product) -> list[tuple[OptionGroup, list[Option]]]:
        return [
            (group, [option for option in group.options.all() if not self.withdrawn("option", option.pk)])
            for group in product.option_groups.all()
        ]

    def default_options(self, product: Product) -> list[int]:
        """The options a product comes with when none is chosen: the first ones of each group that requires some."""
        return [option.pk for group, options in self.groups(product) for option in options[: group.min_choices]]

    def option_price(self, option: Option) -> Decimal:
        return self._price("option", option.pk, option.price)

    def recipe(
        self, product: Product, size: ProductSize | None, options: Sequence[Option], half: Product | None = None
    ) -> dict[int, int]:
        """The product's recipe scaled to ``size`` (half of it and half of ``half``'s for a half-and-half),
        without its removed ingredients, with its extras."""
        factor = size.recipe_factor if size is not None else Decimal(1)
        recipe: dict[int, int] = defaultdict(int)
        if half is None:
            for line in product.recipe_lines.all():
                recipe[line.ingredient_id] += scaled(line.quantity, factor)
        else:
            for line in [*product.recipe_lines.all(), *half.recipe_lines.all()]:
                recipe[line.ingredient_id] += scaled(line.quantity, factor / 2)
        recipe = dict(recipe)
        for option in options:
            if option.ingredient_id is None:
                continue
            if option.group.kind == OptionGroup.REMOVE:
                recipe.pop(option.ingredient_id, None)
            elif option.quantity:
                recipe[option.ingredient_id] = recipe.get(option.ingredient_id, 0) + scaled(option.quantity, factor)
        return recipe

    def configure(
        self,
        *,
        product_id: int,
        size_id: int | None = None,
        option_ids: Iterable[int] = (),
        half_id: int | None = None,
    ) -> ConfiguredLine:
        """The line as asked, checked against this pizzeria's menu; ``InvalidConfiguration`` in French otherwise.

        Without a size, a product sold in sizes comes in its first one here. ``half_id``: the pizza of
        the second half, in the same size; the options apply to the whole pizza.
        """
        where = self.pizzeria.name
        product = self.products.get(product_id)
        if product is None or self.withdrawn("product", product_id):
            raise InvalidConfiguration(f"Un des produits demandés n'est pas à la carte de {where} en ce moment.")
        all_sizes = list(product.sizes.all())
        size = None
        if size_id is None:
            sizes = self.sizes(product)
            if all_sizes and not sizes:
                raise InvalidConfiguration(f"{product.name} n'est plus proposée à {where}.")
            size = sizes[0] if sizes else None
        else:
            size = next((candidate for candidate in all_sizes if candidate.pk == size_id), None)
            if size is None:
                raise InvalidConfiguration(f"Cette taille n'existe pas pour {product.name}.")
            if self.withdrawn("size", size.pk):
                raise InvalidConfiguration(f"{product.name} {size.name} n'est plus proposée à {where}.")
        wanted = list(option_ids)
        if len(set(wanted)) != len(wanted):
            raise InvalidConfiguration(f"Une option est choisie deux fois pour {product.name}.")
        by_id = {option.pk: option for group in product.option_groups.all() for option in group.options.all()}
        chosen: list[Option] = []
        for option_id in wanted:
            option = by_id.get(option_id)
            if option is None:
                raise InvalidConfiguration(f"Une des options choisies n'existe pas pour {product.name}.")
            if self.withdrawn("option", option.pk):
                raise InvalidConfiguration(f"L'option « {option.name} » n'est plus proposée à {where}.")
            chosen.append(option)
        counts: dict[int, int] = defaultdict(int)
        for option in chosen:
            counts[option.group_id] += 1
        for group in product.option_groups.all():
            count = counts[group.pk]
            if count < group.min_choices:
                raise InvalidConfiguration(
                    f"{product.name} : choisissez au moins {group.min_choices} option(s) dans « {group.name} »."
                )
            if count > group.max_choices:
                raise InvalidConfiguration(
                    f"{product.name} : au plus {group.max_choices} option(s) dans « {group.name} »."
                )
        # The base first, then what comes off, then what goes on: « Grande, sans champignons, + mozzarella ».
        position = {option.pk: index for index, option in enumerate(by_id.values())}
        chosen.sort(key=lambda option: (KIND_ORDER[option.group.kind], position[option.pk]))
        base = self.size_price(size) if size is not None else self._price("product", product.pk, product.price)
        half = None
        if half_id is not None:
            half, base = self._half(product=product, size=size, half_id=half_id, base=base)
        return ConfiguredLine(
            product=product,
            size=size,
            options=tuple(chosen),
            unit_price=base + sum((self.option_price(option) for option in chosen), Decimal("0")),
            recipe=self.recipe(product, size, chosen, half),
            option_prices=tuple(self.option_price(option) for option in chosen),
            sized=len(all_sizes) > 1,
            half=half,
        )

    def configure_formula(self, *, formula_id: int, choice_ids: Iterable[int]) -> ConfiguredFormula:
        """The formula with one choice per slot, checked against this pizzeria's menu (a part withdrawn here,
        in its product or its size, cannot be chosen); ``InvalidConfiguration`` in French otherwise.
        Its hours are checked when the order is placed (``formula_served_at``)."""
        where = self.pizzeria.name
        formula = self.formulas.get(formula_id)
        if formula is None:
            raise InvalidConfiguration(f"Cette formule n'est pas proposée à {where} en ce moment.")
        offered = {choice.pk: (slot, choice) for slot in formula.slots.all() for choice in slot.choices.all()}
        taken: dict[int, FormulaChoice] = {}
        for choice_id in choice_ids:
            if choice_id not in offered:
                raise InvalidConfiguration(f"Un des choix ne fait pas partie de la formule « {formula.name} ».")
            slot, choice = offered[choice_id]
            if slot.pk in taken:
                raise InvalidConfiguration(f"{formula.name} : un seul choix pour « {slot.name} ».")
            taken[slot.pk] = choice
        choices, parts = [], []
        for slot in formula.slots.all():
            if slot.pk not in taken:
                raise InvalidConfiguration(f"{formula.name} : choisissez « {slot.name} ».")
            choice = taken[slot.pk]
            product = self.products.get(choice.product_id)
            if product is None or not self.sellable(product):
                raise InvalidConfiguration(f"{choice} n'est plus proposé dans la formule « {formula.name} » à {where}.")
            choices.append(choice)
            parts.append(
                self.configure(product_id=product.pk, size_id=choice.size_id, option_ids=self.default_options(product))
            )
        shares = price_split(formula.price, [part.unit_price for part in parts])
        return ConfiguredFormula(
            formula=formula,
            choices=tuple(choices),
            parts=tuple(replace(part, unit_price=share) for part, share in zip(parts, shares, strict=True)),
        )

    def _half(
        self, *, product: Product, size: ProductSize | None, half_id: int, base: Decimal
    ) -> tuple[Product, Decimal]:
        """The second half's pizza, in the size of the first, and the price of the whole (HALF_AND_HALF_PRICE)."""
        half = self.products.get(half_id)
        if half is None or self.withdrawn("product", half_id):
            raise InvalidConfiguration(f"La seconde moitié n'est pas à la carte de {self.pizzeria.name} en ce moment.")
        if product.category != Product.PIZZA or half.category != Product.PIZZA:
            raise InvalidConfiguration("Seules deux pizzas se partagent en deux moitiés.")
        if half.pk == product.pk:
            raise InvalidConfiguration(f"Une moitié-moitié associe deux pizzas différentes, pas deux {product.name}.")
        if size is None:
            half_price = self._price("product", half.pk, half.price)
        else:
            twin = next((s for s in self.sizes(half) if s.name == size.name), None)
            if twin is None:
                raise InvalidConfiguration(f"{half.name} n'est pas proposée en {size.name} à {self.pizzeria.name}.")
            half_price = self.size_price(twin)
        if settings.OCPIZZA["HALF_AND_HALF_PRICE"] == "average":
            return half, ((base + half_price) / 2).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        return half, max(base, half_price)


def catalogue_for(
    *, pizzeria: Pizzeria, product_ids: Iterable[int] | None = None, formula_ids: Iterable[int] | None = None
) -> Catalogue:
    """The active products and formulas of ``pizzeria``'s menu, in ten queries; with ``product_ids``, only
    those products, and the formulas of ``formula_ids`` (none without) with the products they offer."""
    formulas = Formula.objects.filter(pizzerias=pizzeria, is_active=True)
    if product_ids is not None:
        formulas = formulas.filter(pk__in=list(formula_ids or []))
    formulas = formulas.prefetch_related(
        "windows",
        Prefetch(
            "slots",
            queryset=FormulaSlot.objects.prefetch_related(
                Prefetch("choices", queryset=FormulaChoice.objects.select_related("product", "size"))
            ),
        ),
    )
    formulas_by_id = {formula.pk: formula for formula in formulas}
    products = Product.objects.filter(pizzerias=pizzeria, is_active=True)
    overrides = MenuOverride.objects.filter(pizzeria=pizzeria)
    if product_ids is not None:
        ids = list(product_ids) + [
            choice.product_id
            for formula in formulas_by_id.values()
            for slot in formula.slots.all()
            for choice in slot.choices.all()
        ]
        products, overrides = products.filter(pk__in=ids), overrides.filter(product_id__in=ids)
    products = products.order_by("position", "name").prefetch_related(
        "sizes",
        Prefetch(
            "option_groups",
            # Each option knows its group from this prefetch: its kind costs no query.
            queryset=OptionGroup.objects.prefetch_related("options"),
        ),
        # With their ingredients: the name of the one that limits a product, at no further query.
        Prefetch("recipe_lines", queryset=RecipeLine.objects.select_related("ingredient")),
    )
    by_target: dict[tuple[str, int], MenuOverride] = {}
    for override in overrides:
        if override.size_id is not None:
            by_target[("size", override.size_id)] = override
        elif override.option_id is not None:
            by_target[("option", override.option_id)] = override
        else:
            by_target[("product", override.product_id)] = override
    # Pizzas first, then drinks and desserts: the order of Product.CATEGORIES, not the alphabet.
    rank = {category: index for index, (category, _label) in enumerate(Product.CATEGORIES)}
    ordered = sorted(products, key=lambda product: rank[product.category])
    return Catalogue(
        pizzeria=pizzeria,
        products={product.pk: product for product in ordered},
        overrides=by_target,
        formulas=formulas_by_id,
    )


def stock_levels(*, pizzeria_id: int) -> dict[int, int]:
    """{ingredient id: available now} of every stock line of the pizzeria, in one query."""
    return {
        ingredient_id: max(on_hand - reserved, 0)
        for ingredient_id, on_hand, reserved in Stock.objects.filter(pizzeria_id=pizzeria_id).values_list(
            "ingredient_id", "on_hand", "reserved"
        )
    }


def allergens_by_ingredient(*, ingredient_ids: Iterable[int] | None) -> dict[int, list[str]]:
    """{ingredient id: names of its allergens}, in one query; ``ingredient_ids`` None: of every ingredient."""
    names: dict[int, list[str]] = defaultdict(list)
    allergens = Allergen.objects.filter(ingredient__isnull=False)
    if ingredient_ids is not None:
        allergens = allergens.filter(ingredient__in=list(ingredient_ids))
    for ingredient_id, name in allergens.order_by("name").values_list("ingredient", "name"):
        names[ingredient_id].append(name)
    return names


def recipe_allergens(recipe: Iterable[int], allergens: Mapping[int, list[str]]) -> list[str]:
    """The allergens of a recipe's ingredients (a removed ingredient is no longer in it), by name."""
    return sorted({name for ingredient_id in recipe for name in allergens.get(ingredient_id, [])})


@dataclass(frozen=True)
class MemoRow:
    """One ingredient of a configured pizza on the memo: what goes on it, against the recipe at its size."""

    name: str
    unit: str
    quantity: int
    usual: int
    change: str  # "" as the recipe says for the size, "retiré", or "supplément" (more than the recipe, or not in it)


def recipe_memo_rows(
    *, product: Product, recipe: Mapping[int, int], factor: Decimal, half: Product | None = None
) -> list[MemoRow]:
    """The memo of one configured line (``recipe``: {ingredient id: quantity} of one unit) against the recipe
    of ``product`` scaled to its size (``factor``) — for a half-and-half, half of each pizza's — the products'
    lines prefetched with their ingredients as ``recipe_of`` reads them: one query, for the ingredients only
    an extra brings."""
    lines = [*product.recipe_lines.all(), *(half.recipe_lines.all() if half is not None else [])]
    share = factor / 2 if half is not None else factor
    usual: dict[int, tuple[Ingredient, int]] = {}
    for line in lines:
        _ingredient, sized = usual.get(line.ingredient_id, (line.ingredient, 0))
        usual[line.ingredient_id] = (line.ingredient, sized + scaled(line.quantity, share))
    added = {ingredient.pk: ingredient for ingredient in Ingredient.objects.filter(pk__in=set(recipe) - set(usual))}
    rows = []
    for ingredient_id, (ingredient, sized) in usual.items():
        quantity = recipe.get(ingredient_id, 0)
        change = "retiré" if not quantity else "supplément" if quantity > sized else ""
        rows.append(MemoRow(ingredient.name, ingredient.get_unit_display(), quantity, sized, change))
    for ingredient_id, ingredient in added.items():
        rows.append(MemoRow(ingredient.name, ingredient.get_unit_display(), recipe[ingredient_id], 0, "supplément"))
    return rows


# --- Pause and busy time, for the managers' reports -----------------------------------------

PAUSE_KINDS = (PizzeriaEvent.PAUSED, PizzeriaEvent.RESUMED)
BUSY_KINDS = (PizzeriaEvent.BUSY, PizzeriaEvent.CALM)


def till_day_start(day: datetime.date) -> datetime.datetime:
    """When ``day``'s till day begins: at the hour the evening before ends (``TILL_DAY_ENDS_AT``), local time."""
    return timezone.make_aware(datetime.datetime.combine(day, settings.OCPIZZA["TILL_DAY_ENDS_AT"]))


def _pace_intervals(events: list[PizzeriaEvent], *, starts: frozenset[str], end: datetime.datetime):
    """The spans a pizzeria spent paused (or busy): from each start to its ``until``, the next change or ``end``."""
    spans = []
    for index, event in enumerate(events):
        if event.kind not in starts:
            continue
        stop = events[index + 1].at if index + 1 < len(events) else end
        if event.until is not None:
            stop = min(stop, event.until)
        spans.append((event.at, min(stop, end)))
    return spans


def pizzeria_pace_seconds(
    *, pizzeria_ids: Sequence[int] | None, since: datetime.date, until: datetime.date, now: datetime.datetime
) -> dict[tuple[int, datetime.date], tuple[int, int]]:
    """Seconds each pizzeria (of ``pizzeria_ids``, None: all) spent paused and busy (« coup de feu ») on each till
    day from ``since`` to ``until``.

    Read from its ``PizzeriaEvent`` rows: those of the period and, for a pause or busy spell begun
    before it, the last change of each kind before it. Two queries, however long the period.
    """
    start, end = till_day_start(since), min(till_day_start(until + datetime.timedelta(days=1)), now)
    if end <= start:
        return {}
    scope = {"pizzeria_id__in": pizzeria_ids} if pizzeria_ids is not None else {}
    before = (
        PizzeriaEvent.objects.filter(at__lt=start, **scope)
        .values("pizzeria_id")
        .annotate(pause=Max("pk", filter=Q(kind__in=PAUSE_KINDS)), busy=Max("pk", filter=Q(kind__in=BUSY_KINDS)))
    )
    carried = [pk for row in before for pk in (row["pause"], row["busy"]) if pk is not None]
    events: dict[int, list[PizzeriaEvent]] = defaultdict(list)
    for event in PizzeriaEvent.objects.filter(Q(pk__in=carried) | Q(at__gte=start, at__lt=end, **scope)).order_by(
        "at", "pk"
    ):
        events[event.pizzeria_id].append(event)
    days = [since + datetime.timedelta(days=n) for n in range((until - since).days + 1)]
    windows = [(day, till_day_start(day), till_day_start(day + datetime.timedelta(days=1))) for day in days]
    seconds: dict[tuple[int, datetime.date], tuple[int, int]] = {}
    for pizzeria_id, history in events.items():
        figures = []
        for kinds in (PAUSE_KINDS, BUSY_KINDS):
            spans = _pace_intervals(
                [event for event in history if event.kind in kinds], starts=frozenset(kinds[:1]), end=end
            )
            figures.append(
                {
                    day: sum(
                        max(0, (min(stop, day_end) - max(begin, day_start)).total_seconds()) for begin, stop in spans
                    )
                    for day, day_start, day_end in windows
                }
            )
        paused, busy = figures
        for day in days:
            if paused[day] or busy[day]:
                seconds[(pizzeria_id, day)] = (round(paused[day]), round(busy[day]))
    return seconds


# --- Purchasing --------------------------------------------------------------------


def supplier_list() -> QuerySet[Supplier]:
    """The active suppliers with what each sells, in two queries."""
    items = SupplierItem.objects.select_related("ingredient").order_by("ingredient__name")
    return Supplier.objects.filter(is_active=True).prefetch_related(Prefetch("items", queryset=items))


def supplier_of(*, supplier_id: int) -> Supplier | None:
    return Supplier.objects.filter(pk=supplier_id, is_active=True).first()


def par_level_lines(*, pizzeria: Pizzeria) -> list[Stock]:
    """The pizzeria's stock lines, by ingredient name, for setting their par levels."""
    return list(Stock.objects.filter(pizzeria=pizzeria).select_related("ingredient").order_by("ingredient__name"))


def _consumption_by_day(
    *, pizzeria_id: int, ingredient_ids: Iterable[int], since: datetime.date, until: datetime.date
) -> dict[tuple[int, datetime.date], int]:
    """{(ingredient id, local day): what orders took off the shelf that day}, over [since, until), in one query.

    Consumption less the taps taken back (``unconsumed``): what really went into pizzas.
    """
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(until, datetime.time.min))
    rows = (
        StockMovement.objects.filter(
            stock__pizzeria_id=pizzeria_id,
            stock__ingredient_id__in=list(ingredient_ids),
            kind__in=[StockMovement.CONSUMPTION, StockMovement.UNCONSUMED],
            at__gte=start,
            at__lt=end,
        )
        .annotate(day=TruncDate("at"))
        .values("stock__ingredient_id", "day")
        .annotate(used=Sum("on_hand_delta"))
        .order_by()
    )
    return {(row["stock__ingredient_id"], row["day"]): -row["used"] for row in rows}


def past_same_weekdays(*, day: datetime.date, today: datetime.date, weeks: int) -> list[datetime.date]:
    """The ``weeks`` latest days before ``today`` that fall on ``day``'s weekday, latest first."""
    last = today - datetime.timedelta(days=(today.weekday() - day.weekday() - 1) % 7 + 1)
    return [last - datetime.timedelta(weeks=week) for week in range(weeks)]


def _on_order(*, pizzeria_id: int, ingredient_ids: Iterable[int]) -> dict[int, int]:
    """{ingredient id: quantity ordered from any supplier and not received yet}, in one query."""
    on_order: dict[int, int] = defaultdict(int)
    for line in PurchaseOrderLine.objects.filter(
        order__pizzeria_id=pizzeria_id,
        order__status__in=[PurchaseOrder.Status.SENT, PurchaseOrder.Status.PARTIAL],
        ingredient_id__in=list(ingredient_ids),
        packs__gt=F("packs_received"),
    ).only("ingredient_id", "packs", "packs_received", "pack_size"):
        on_order[line.ingredient_id] += line.packs_missing * line.pack_size
    return on_order


@dataclass(frozen=True)
class SuggestedLine:
    """What to order of one supplier item for one pizzeria, and the figures it comes from (ingredient's unit)."""

    item: SupplierItem
    on_hand: int
    reserved: int
    par_level: int | None
    forecast: int  # expected use until the delivery comes, from the same weekdays of the past weeks
    on_order: int  # already ordered and not received yet
    needed: int  # what is lacking: par level + forecast + reserved − on hand − on order (never below 0)
    packs: int  # ``needed`` in whole packs, rounded up


def purchase_suggestion(
    *, pizzeria: Pizzeria, supplier: Supplier, today: datetime.date | None = None, weeks: int | None = None
) -> list[SuggestedLine]:
    """What ``pizzeria`` should order from ``supplier`` today, item by item, in four queries.

    An order sent today comes in ``supplier.lead_time_days`` days: until then
    the shelf has to feed the orders already placed (what they reserve) and
    those still to come, forecast day by day as the average use of the same
    weekday over the last ``weeks`` weeks (PURCHASE_HISTORY_WEEKS). What the
    delivery brings must make up what the shelf lacks for that, and bring what
    is left when it arrives up to the line's par level. What is on order
    already (sent, not received) counts as on its way.
    """
    today = today or timezone.localdate()
    weeks = weeks or settings.OCPIZZA["PURCHASE_HISTORY_WEEKS"]
    items = list(supplier.items.select_related("ingredient").order_by("ingredient__name"))
    ingredient_ids = [item.ingredient_id for item in items]
    lines = {
        line.ingredient_id: line for line in Stock.objects.filter(pizzeria=pizzeria, ingredient_id__in=ingredient_ids)
    }
    cover = [today + datetime.timedelta(days=offset) for offset in range(supplier.lead_time_days)]
    samples = {day: past_same_weekdays(day=day, today=today, weeks=weeks) for day in cover}
    since = min(min(days) for days in samples.values())
    used = _consumption_by_day(pizzeria_id=pizzeria.pk, ingredient_ids=ingredient_ids, since=since, until=today)
    on_order = _on_order(pizzeria_id=pizzeria.pk, ingredient_ids=ingredient_ids)
    suggestion = []
    for item in items:
        line = lines.get(item.ingredient_id)
        on_hand, reserved = (line.on_hand, line.reserved) if line is not None else (0, 0)
        par_level = line.par_level if line is not None else None
        # Summed over the sample days and divided once by the weeks: a single rounding, up.
        total = sum(used.get((item.ingredient_id, day), 0) for days in samples.values() for day in days)
        forecast = max(math.ceil(total / weeks), 0)
        coming = on_order.get(item.ingredient_id, 0)
        needed = max((par_level or 0) + forecast + reserved - on_hand - coming, 0)
        suggestion.append(
            SuggestedLine(
                item=item,
                on_hand=on_hand,
                reserved=reserved,
                par_level=par_level,
                forecast=forecast,
                on_order=coming,
                needed=needed,
                packs=math.ceil(needed / item.pack_size),
            )
        )
    return suggestion


def purchase_orders_of(*, pizzeria: Pizzeria) -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.filter(pizzeria=pizzeria).select_related("supplier").order_by("-created_at", "-pk")


def purchase_order_of(*, pizzeria: Pizzeria, order_id: int) -> PurchaseOrder | None:
    """One purchase order of this pizzeria with its lines (their ingredients) and its ledger rows."""
    return (
        PurchaseOrder.objects.filter(pizzeria=pizzeria, pk=order_id)
        .select_related("supplier", "created_by", "sent_by")
        .prefetch_related(
            Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("ingredient")),
            Prefetch(
                "movements",
                queryset=StockMovement.objects.select_related("stock__ingredient", "by").order_by("at", "pk"),
            ),
        )
        .first()
    )


@dataclass(frozen=True)
class OverrideRow:
    """One thing a pizzeria may price or withdraw on its own: a product, one of its sizes or one of its options.

    ``price``: its own price here, None for the chain's; ``priced``: False for a product sold in sizes
    (each size has its price).
    """

    key: str
    product: Product
    label: str
    chain_price: Decimal | None
    price: Decimal | None
    withdrawn: bool
    size_id: int | None = None
    option_id: int | None = None
    priced: bool = True


def menu_override_rows(*, pizzeria: Pizzeria) -> list[tuple[Product, list[OverrideRow]]]:
    """Each product of the pizzeria's menu with what it may price or withdraw there, in a fixed number of queries."""
    catalogue = catalogue_for(pizzeria=pizzeria)
    listed = []
    for product in catalogue.products.values():
        sizes = list(product.sizes.all())
        own = catalogue._override("product", product.pk)
        rows = [
            OverrideRow(
                key=f"p{product.pk}",
                product=product,
                label=f"{product.name} (tout le produit)" if sizes else product.name,
                chain_price=None if sizes else product.price,
                price=own.price if own is not None else None,
                withdrawn=own is not None and own.withdrawn,
                priced=not sizes,
            )
        ]
        for size in sizes:
            own = catalogue._override("size", size.pk)
            rows.append(
                OverrideRow(
                    key=f"s{size.pk}",
                    product=product,
                    label=f"{product.name} {size.name}",
                    chain_price=size.price,
                    price=own.price if own is not None else None,
                    withdrawn=own is not None and own.withdrawn,
                    size_id=size.pk,
                )
            )
        for group in product.option_groups.all():
            for option in group.options.all():
                own = catalogue._override("option", option.pk)
                name = f"sans {_lower_first(option.name)}" if group.kind == OptionGroup.REMOVE else option.name
                rows.append(
                    OverrideRow(
                        key=f"o{option.pk}",
                        product=product,
                        label=f"{group.name} : {name}",
                        chain_price=option.price,
                        price=own.price if own is not None else None,
                        withdrawn=own is not None and own.withdrawn,
                        option_id=option.pk,
                    )
                )
        listed.append((product, rows))
    return listed
