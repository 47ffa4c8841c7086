"""Reads of the production side: pizzerias, opening hours, live availability."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, FilteredRelation, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ventes.models import (
    REFUND_NEEDS_MANAGER,
    STATE_EVENT_TYPES,
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    PaymentState,
    Refund,
)
from ventes.workflow import STOCK_HELD_STATES, UNDO_TRANSITIONS, UNDO_WINDOW

from .models import OpeningHours, Pizzeria, Product, RecipeLine, StaffMember, Stock, StockMovement


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
        if current is None or can_make < current.can_make:
            result[product_id] = Availability(can_make=can_make, limiting_ingredient=ingredient_name)
    return result


def availability_of(availabilities: dict[int, Availability], product_id: int) -> Availability:
    return availabilities.get(product_id, Availability(can_make=None))


# --- Staff screens -------------------------------------------------------------
# Every read of the staff screens is scoped to a pizzeria here, so that a view
# cannot list or fetch another pizzeria's orders or stock by mistake.

KITCHEN_STATES = [OrderState.RECEIVED, OrderState.PREPARING, OrderState.READY]
COOKING_STATES = [OrderState.RECEIVED, OrderState.PREPARING]
# A card turns amber this long before its due time, and red once it is past.
LATE_WARNING = datetime.timedelta(minutes=5)


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
    if member.pizzeria_id is not None:
        own = member.pizzeria
        return own if own.slug == slug and own.is_active else None
    return Pizzeria.objects.filter(slug=slug, is_active=True).first()


def _lines_prefetch() -> Prefetch:
    # Ordered by its own key: the model's default ordering ("order") would join every line to its order.
    # Prices and the alcohol flag: what meal vouchers may pay, on the rider's and the counter's cards.
    lines = (
        OrderLine.objects.select_related("product")
        .only("pk", "order_id", "product__contains_alcohol", "product_name", "quantity", "unit_price", "vat_rate")
        .order_by("pk")
    )
    return Prefetch("lines", queryset=lines)


def pizzeria_orders(*, pizzeria: Pizzeria) -> QuerySet[Order]:
    """Every order of one pizzeria, lines prefetched: the base of the staff screens."""
    return Order.objects.filter(pizzeria=pizzeria).prefetch_related(_lines_prefetch())


def order_due_at(order) -> datetime.datetime | None:
    return order.estimated_ready_at or order.requested_for


def order_lateness(order, *, now: datetime.datetime) -> str:
    """How late an order still in the kitchen runs: "late", "soon" or ""."""
    due = order_due_at(order)
    if order.state not in COOKING_STATES or due is None:
        return ""
    if now > due:
        return "late"
    return "soon" if now >= due - LATE_WARNING else ""


def kitchen_columns(*, pizzeria: Pizzeria, now: datetime.datetime) -> dict[str, list]:
    """The kitchen display: its three columns, oldest order first, in two queries.

    Each order gets ``undo_to`` (the state its last tap came from) and
    ``undo_until`` while that tap may still be taken back.
    """
    recent = (
        # A payment or refund event leaves the last kitchen tap undoable: only state moves count here.
        OrderEvent.objects.filter(at__gte=now - UNDO_WINDOW, type__in=STATE_EVENT_TYPES)
        .order_by("at", "pk")
        .only("pk", "order_id", "from_state", "to_state", "at")
    )
    orders = (
        pizzeria_orders(pizzeria=pizzeria)
        .filter(state__in=KITCHEN_STATES)
        .prefetch_related(Prefetch("events", queryset=recent, to_attr="recent_events"))
        .order_by("created_at", "pk")
    )
    columns: dict[str, list] = {state: [] for state in KITCHEN_STATES}
    for order in orders:
        last = order.recent_events[-1] if order.recent_events else None
        undoable = last is not None and last.to_state == order.state
        undoable = undoable and (order.state, last.from_state) in UNDO_TRANSITIONS
        order.undo_to = last.from_state if undoable else ""
        order.undo_until = last.at + UNDO_WINDOW if undoable else None
        order.due_at = order_due_at(order)
        order.lateness = order_lateness(order, now=now)
        columns[order.state].append(order)
    return columns


# In SQL: every kitchen screen asks for it every 4 s, and the ORM takes ten
# times longer to build this query than the database takes to answer it.
_COOKING = ", ".join(["%s"] * len(COOKING_STATES))
_KITCHEN_FINGERPRINT_SQL = f"""
    SELECT COUNT(DISTINCT o.id), MAX(o.updated_at), SUM(e.id),
        COUNT(DISTINCT CASE WHEN o.state IN ({_COOKING}) AND COALESCE(o.estimated_ready_at, o.requested_for) <= %s
                            THEN o.id END),
        COUNT(DISTINCT CASE WHEN o.state IN ({_COOKING}) AND COALESCE(o.estimated_ready_at, o.requested_for) < %s
                            THEN o.id END),
        COUNT(CASE WHEN e.at >= %s THEN e.id END)
    FROM {Order._meta.db_table} o
    LEFT JOIN {OrderEvent._meta.db_table} e ON e.order_id = o.id
    WHERE o.pizzeria_id = %s AND o.state IN ({", ".join(["%s"] * len(KITCHEN_STATES))})
"""


def kitchen_fingerprint(*, pizzeria_id: int, now: datetime.datetime) -> str:
    """The ETag of the kitchen display at ``now``, in one query.

    Its orders: each one placed, moved or edited writes a history row, whose
    number the database gives, so their sum moves with every change, whatever
    the order in which transactions commit and whatever the clocks of the
    servers that made them; an order leaving the kitchen lowers the count, and
    any other save of an order moves the latest ``updated_at``.
    The clock: cards turn amber then red (``order_lateness``) and undo buttons
    expire (``kitchen_columns``). Without a change to the orders each of these
    only goes one way, so counting the cards past each threshold and the taps
    still undoable is enough.
    """
    at = connection.ops.adapt_datetimefield_value
    params = [
        *COOKING_STATES,
        at(now + LATE_WARNING),
        *COOKING_STATES,
        at(now),
        at(now - UNDO_WINDOW),
        pizzeria_id,
        *KITCHEN_STATES,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_KITCHEN_FINGERPRINT_SQL, params)
        count, last, history, soon, late, undoable = cursor.fetchone()
    stamp = str(last).replace(" ", "T")  # a datetime, or SQLite's text of one: never a space in an ETag
    return f'"kitchen-{pizzeria_id}-{count}-{stamp}-{history}-{soon}-{late}-{undoable}"'


def rider_orders(*, pizzeria: Pizzeria, member: StaffMember) -> dict[str, list]:
    """Ready deliveries anyone may take, and the ones on the road (a rider sees only his own)."""
    on_road = Q(state=OrderState.OUT_FOR_DELIVERY)
    if member.role != StaffMember.MANAGER:
        on_road &= Q(rider_id=member.user_id)
    orders = (
        pizzeria_orders(pizzeria=pizzeria)
        .filter(Q(state=OrderState.READY) | on_road, fulfilment=Fulfilment.DELIVERY)
        .select_related("rider")
        .order_by("estimated_ready_at", "created_at", "pk")
    )
    lists: dict[str, list] = {"ready": [], "out_for_delivery": []}
    for order in orders:
        lists[order.state].append(order)
    return lists


def counter_orders(*, pizzeria: Pizzeria) -> list:
    return list(
        pizzeria_orders(pizzeria=pizzeria)
        .filter(state=OrderState.READY, fulfilment=Fulfilment.PICKUP)
        .order_by("estimated_ready_at", "created_at", "pk")
    )


def orders_fingerprint(*, pizzeria_id: int | None = None, extra: str = "") -> str:
    """The ETag of a live screen, in one query.

    Every state change saves its order (``updated_at``) and every new order adds
    a row, so the latest change and the count of recent orders move whenever
    a screen would change; ``extra`` carries what else the screen shows.
    """
    orders = Order.objects.filter(updated_at__gte=timezone.now() - datetime.timedelta(days=1))
    if pizzeria_id is not None:
        orders = orders.filter(pizzeria_id=pizzeria_id)
    summary = orders.aggregate(last=Max("updated_at"), count=Count("pk"))
    stamp = summary["last"].timestamp() if summary["last"] else 0
    return f'"{pizzeria_id or "all"}-{stamp}-{summary["count"]}-{extra}"'


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


@dataclass(frozen=True)
class LedgerDrift:
    """A stock line whose figures its ledger does not explain."""

    stock_id: int
    pizzeria_id: int
    pizzeria: str
    ingredient: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    open_reservations: int
    held_by_closed_orders: int

    def __str__(self) -> str:
        parts = []
        if self.on_hand != self.ledger_on_hand:
            parts.append(
                f"en stock {self.on_hand}, registre {self.ledger_on_hand} ({self.on_hand - self.ledger_on_hand:+d})"
            )
        if self.reserved != self.open_reservations:
            parts.append(
                f"réservé {self.reserved}, commandes en attente {self.open_reservations} "
                f"({self.reserved - self.open_reservations:+d})"
            )
        if self.held_by_closed_orders:
            parts.append(f"{self.held_by_closed_orders} encore tenus par des commandes lancées ou annulées")
        return f"{self.pizzeria} — {self.ingredient} (ligne {self.stock_id}) : " + " ; ".join(parts)


def stock_check_ledger(*, pizzeria_id: int | None = None) -> list[LedgerDrift]:
    """Every stock line whose figures drift from its ledger, in one query.

    On hand must be the sum of the line's movements' on-hand deltas; reserved
    the sum of what the orders still waiting (awaiting payment or received)
    hold, i.e. their reservations less their releases and consumptions; and
    an order in the oven, past it or cancelled holds nothing.
    """
    waiting = Q(movements__order__state__in=STOCK_HELD_STATES)
    moved_on = Q(movements__order__state__in=[state for state in OrderState.values if state not in STOCK_HELD_STATES])
    lines = (
        Stock.objects.annotate(
            ledger_on_hand=Coalesce(Sum("movements__on_hand_delta"), 0),
            open_reservations=Coalesce(Sum("movements__reserved_delta", filter=waiting), 0),
            held_by_closed=Coalesce(Sum("movements__reserved_delta", filter=moved_on), 0),
        )
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(reserved=F("open_reservations")) | ~Q(held_by_closed=0))
        .values_list(
            "pk",
            "pizzeria_id",
            "pizzeria__name",
            "ingredient__name",
            "on_hand",
            "ledger_on_hand",
            "reserved",
            "open_reservations",
            "held_by_closed",
        )
        .order_by("pizzeria__name", "ingredient__name")
    )
    if pizzeria_id is not None:
        lines = lines.filter(pizzeria_id=pizzeria_id)
    return [LedgerDrift(*row) for row in lines]


def stock_line_of(*, pizzeria: Pizzeria, stock_id: int) -> Stock | None:
    return Stock.objects.filter(pizzeria=pizzeria, pk=stock_id).select_related("ingredient").first()


def stock_ledger(*, pizzeria: Pizzeria, stock_id: int | None = None) -> QuerySet[StockMovement]:
    movements = StockMovement.objects.filter(stock__pizzeria=pizzeria).select_related(
        "stock__ingredient", "by", "order"
    )
    return movements.filter(stock_id=stock_id) if stock_id is not None else movements


@dataclass
class PizzeriaSummary:
    pizzeria: Pizzeria
    by_state: dict[str, int] = field(default_factory=dict)
    late: list = field(default_factory=list)
    today_count: int = 0
    today_takings: Decimal = Decimal("0")
    kitchen_minutes: float | None = None
    oven_minutes: float | None = None
    low_stock: list[Stock] = field(default_factory=list)

    @property
    def state_counts(self) -> list[tuple[str, int]]:
        return [(label, self.by_state[value]) for value, label in OrderState.choices if value in self.by_state]


def _average_minutes(durations: list[datetime.timedelta]) -> float | None:
    if not durations:
        return None
    return round(sum(d.total_seconds() for d in durations) / len(durations) / 60, 1)


def dashboard_summaries(*, now: datetime.datetime) -> list[PizzeriaSummary]:
    """Every active pizzeria's day at a glance, in a fixed number of queries."""
    today = timezone.localdate(now)
    # Refunds the managers must look at, counted in the same query as the pizzerias.
    stuck = (
        Refund.objects.filter(REFUND_NEEDS_MANAGER, order__pizzeria=OuterRef("pk"))
        .order_by()
        .values("order__pizzeria")
        .annotate(count=Count("pk"))
        .values("count")
    )
    pizzerias = Pizzeria.objects.filter(is_active=True).annotate(stuck_refunds=Coalesce(Subquery(stuck), 0))
    summaries = {p.pk: PizzeriaSummary(pizzeria=p) for p in pizzerias}
    active = Q(state__in=[*KITCHEN_STATES, OrderState.OUT_FOR_DELIVERY, OrderState.PENDING_PAYMENT])
    for pizzeria_id, state, count in (
        Order.objects.filter(active | Q(business_date=today), pizzeria_id__in=summaries)
        .values_list("pizzeria_id", "state")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        summaries[pizzeria_id].by_state[state] = count
    late = (
        _late_orders(now=now)
        .filter(pizzeria_id__in=summaries)
        .order_by("due")
        .only("pk", "pizzeria_id", "number", "daily_sequence", "state", "estimated_ready_at", "requested_for")
    )
    for order in late:
        summaries[order.pizzeria_id].late.append(order)
    for pizzeria_id, count, takings in (
        Order.objects.filter(pizzeria_id__in=summaries, business_date=today)
        .exclude(state__in=[OrderState.CANCELLED, OrderState.PENDING_PAYMENT])
        .values_list("pizzeria_id")
        .annotate(count=Count("pk"), takings=Sum("total", filter=Q(payment_state=PaymentState.PAID)))
        .order_by()
    ):
        summaries[pizzeria_id].today_count = count
        summaries[pizzeria_id].today_takings = takings or Decimal("0")
    times: dict[int, dict[str, datetime.datetime]] = {}
    pizzeria_of: dict[int, int] = {}
    for pizzeria_id, order_id, state, at in (
        OrderEvent.objects.filter(
            order__pizzeria_id__in=summaries, order__business_date=today, to_state__in=KITCHEN_STATES
        )
        .order_by("at", "pk")
        .values_list("order__pizzeria_id", "order_id", "to_state", "at")
    ):
        times.setdefault(order_id, {})[state] = at
        pizzeria_of[order_id] = pizzeria_id
    kitchen: dict[int, list] = {}
    oven: dict[int, list] = {}
    for order_id, stamps in times.items():
        if "ready" in stamps and "preparing" in stamps:
            oven.setdefault(pizzeria_of[order_id], []).append(stamps["ready"] - stamps["preparing"])
            if "received" in stamps:
                kitchen.setdefault(pizzeria_of[order_id], []).append(stamps["ready"] - stamps["received"])
    for pizzeria_id, summary in summaries.items():
        summary.kitchen_minutes = _average_minutes(kitchen.get(pizzeria_id, []))
        summary.oven_minutes = _average_minutes(oven.get(pizzeria_id, []))
    for line in (
        stock_low(Stock.objects.filter(pizzeria_id__in=summaries))
        .select_related("ingredient")
        .order_by("ingredient__name")
    ):
        summaries[line.pizzeria_id].low_stock.append(line)
    return list(summaries.values())


def _late_orders(*, now: datetime.datetime) -> QuerySet[Order]:
    return (
        Order.objects.filter(state__in=COOKING_STATES, pizzeria__is_active=True)
        .annotate(due=Coalesce("estimated_ready_at", "requested_for"))
        .filter(due__lt=now)
    )


def dashboard_fingerprint(*, now: datetime.datetime) -> str:
    """What the dashboard shows changes with orders, stock, pauses, and the clock.

    The clock only matters through orders turning late: without any change to
    them, the number of late orders can only grow, so it is enough to count them.
    """
    last_move = StockMovement.objects.aggregate(last=Max("at"))["last"]
    accepting = Pizzeria.objects.filter(is_active=True).order_by("pk").values_list("accepting_orders", flat=True)
    flags = "".join("1" if flag else "0" for flag in accepting)
    late = _late_orders(now=now).count()
    return orders_fingerprint(extra=f"{last_move.timestamp() if last_move else 0}-{flags}-{late}")
