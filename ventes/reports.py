"""The managers' reports: each pizzeria's till days summed once into facts, then read over any period.

``facts_refresh`` writes a ``SalesFact`` row per pizzeria and day (and its ``SalesFactCount`` rows: channels,
fulfilments, cancellation reasons, products, bands of kitchen, oven and late minutes); the daily update runs it
for the day that just ended, a manager for any period on demand. ``sales_report`` reads those rows for the past
days of a period and sums today's orders live: a report never scans the orders of a past day, so its cost
follows the number of days and pizzerias, not the number of orders.

A sale is an order neither cancelled nor waiting for its online payment; takings are their totals (tax
included), the basket their average. Kitchen time runs from the order entering the queue (or its fire time,
when scheduled) to « prête »; oven time from « en préparation » to « prête »; lateness compares « prête » with
the time quoted to the customer.
"""

import datetime
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Min, Sum
from django.utils import timezone

from production.selectors import pizzeria_pace_seconds

from .journal import business_date
from .models import CancelReason, Channel, Fulfilment, Order, OrderEvent, OrderLine, OrderState, SalesFact
from .models import SalesFactCount as FactCount

ZERO = Decimal("0")
BEST_SELLERS = 10
# The longest period a report covers, and so the most a refresh on demand recomputes.
MAX_DAYS = 366
DAY, WEEK, MONTH = "jour", "semaine", "mois"
GRANULARITIES = [(DAY, "par jour"), (WEEK, "par semaine"), (MONTH, "par mois")]
MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
NO_REASON = "none"

# Bands of minutes: (upper bound excluded, or None for the last; key; label).
KITCHEN_BANDS = [
    (10, "0-10", "moins de 10 min"),
    (15, "10-15", "10 à 15 min"),
    (20, "15-20", "15 à 20 min"),
    (30, "20-30", "20 à 30 min"),
    (45, "30-45", "30 à 45 min"),
    (None, "45+", "45 min et plus"),
]
OVEN_BANDS = [
    (5, "0-5", "moins de 5 min"),
    (8, "5-8", "5 à 8 min"),
    (12, "8-12", "8 à 12 min"),
    (20, "12-20", "12 à 20 min"),
    (None, "20+", "20 min et plus"),
]
# Late minutes: zero or less is on time.
LATENESS_BANDS = [
    (0, "on-time", "à l'heure"),
    (5, "0-5", "moins de 5 min"),
    (10, "5-10", "5 à 10 min"),
    (20, "10-20", "10 à 20 min"),
    (None, "20+", "20 min et plus"),
]
BANDS = {FactCount.KITCHEN: KITCHEN_BANDS, FactCount.OVEN: OVEN_BANDS, FactCount.LATENESS: LATENESS_BANDS}


def band_of(minutes: float, bands) -> str:
    for bound, key, _label in bands:
        if bound is None or (minutes <= bound if bound == 0 else minutes < bound):
            return key
    raise AssertionError("the last band has no bound")


@dataclass
class DayFacts:
    """One pizzeria's till day as ``facts_compute`` sums it, before it is written (or shown live, for today)."""

    pizzeria_id: int
    day: datetime.date
    orders: int = 0
    sold: int = 0
    cancelled: int = 0
    takings: Decimal = ZERO
    items: int = 0
    paused_seconds: int = 0
    busy_seconds: int = 0
    counts: dict[tuple[str, str], list] = field(default_factory=lambda: defaultdict(lambda: [0, ZERO]))

    def add(self, dimension: str, key: str, count: int, amount: Decimal = ZERO) -> None:
        figures = self.counts[(dimension, key)]
        figures[0] += count
        figures[1] += amount


def _minutes(start: datetime.datetime, end: datetime.datetime) -> float:
    return (end - start).total_seconds() / 60


def facts_compute(
    *, pizzeria_ids: Sequence[int] | None, since: datetime.date, until: datetime.date, now: datetime.datetime
) -> dict[tuple[int, datetime.date], DayFacts]:
    """Sum the orders of ``pizzeria_ids`` (None: the whole chain) of the till days ``since`` to ``until``: five
    queries, each reading the period's orders by their day."""
    facts: dict[tuple[int, datetime.date], DayFacts] = {}

    def of(pizzeria_id: int, day: datetime.date) -> DayFacts:
        if (pizzeria_id, day) not in facts:
            facts[(pizzeria_id, day)] = DayFacts(pizzeria_id=pizzeria_id, day=day)
        return facts[(pizzeria_id, day)]

    scope = {"pizzeria_id__in": pizzeria_ids} if pizzeria_ids is not None else {}
    orders = Order.objects.filter(business_date__range=(since, until), **scope)
    # One pass over the orders, grouped by everything a breakdown needs: the rest is summed here.
    for group in orders.values(
        "pizzeria_id", "business_date", "state", "channel", "fulfilment", "cancel_reason"
    ).annotate(count=Count("pk"), amount=Sum("total")):
        if group["state"] == OrderState.PENDING_PAYMENT:
            continue
        day, count, amount = of(group["pizzeria_id"], group["business_date"]), group["count"], group["amount"]
        day.orders += count
        if group["state"] == OrderState.CANCELLED:
            day.cancelled += count
            day.add(FactCount.CANCEL_REASON, group["cancel_reason"] or NO_REASON, count, amount)
        else:
            day.sold += count
            day.takings += amount
            day.add(FactCount.CHANNEL, group["channel"], count, amount)
            day.add(FactCount.FULFILMENT, group["fulfilment"], count, amount)
    lines = OrderLine.objects.filter(
        order__business_date__range=(since, until), **{f"order__{key}": value for key, value in scope.items()}
    ).exclude(order__state__in=[OrderState.CANCELLED, OrderState.PENDING_PAYMENT])
    for sold in lines.values("order__pizzeria_id", "order__business_date", "product_name").annotate(
        pieces=Sum("quantity"), revenue=Sum(F("unit_price") * F("quantity"))
    ):
        day = of(sold["order__pizzeria_id"], sold["order__business_date"])
        day.items += sold["pieces"]
        day.add(FactCount.PRODUCT, sold["product_name"][:100], sold["pieces"], sold["revenue"])
    _kitchen_times(of, scope=scope, since=since, until=until)
    pace = pizzeria_pace_seconds(pizzeria_ids=pizzeria_ids, since=since, until=until, now=now)
    for (pizzeria_id, day_date), (paused, busy) in pace.items():
        day = of(pizzeria_id, day_date)
        day.paused_seconds, day.busy_seconds = paused, busy
    return facts


def _kitchen_times(of, *, scope: dict, since: datetime.date, until: datetime.date) -> None:
    """Each order's first « reçue », « en préparation » and « prête », banded into kitchen, oven and late minutes."""
    stamps: dict[int, dict] = {}
    for row in (
        OrderEvent.objects.filter(
            order__business_date__range=(since, until),
            **{f"order__{key}": value for key, value in scope.items()},
            to_state__in=[OrderState.RECEIVED, OrderState.PREPARING, OrderState.READY],
        )
        .values(
            "order_id",
            "order__pizzeria_id",
            "order__business_date",
            "order__fire_at",
            "order__estimated_ready_at",
            "to_state",
        )
        .annotate(at=Min("at"))
    ):
        stamps.setdefault(row["order_id"], {"order": row})[row["to_state"]] = row["at"]
    for stamp in stamps.values():
        ready = stamp.get(OrderState.READY)
        if ready is None:
            continue
        order = stamp["order"]
        day = of(order["order__pizzeria_id"], order["order__business_date"])
        queued = stamp.get(OrderState.RECEIVED)
        if queued is not None:
            if order["order__fire_at"] is not None:
                queued = max(queued, order["order__fire_at"])
            day.add(FactCount.KITCHEN, band_of(max(0.0, _minutes(queued, ready)), KITCHEN_BANDS), 1)
        started = stamp.get(OrderState.PREPARING)
        if started is not None and started <= ready:
            day.add(FactCount.OVEN, band_of(_minutes(started, ready), OVEN_BANDS), 1)
        if order["order__estimated_ready_at"] is not None:
            late = _minutes(order["order__estimated_ready_at"], ready)
            day.add(FactCount.LATENESS, band_of(late, LATENESS_BANDS), 1)


@transaction.atomic
def facts_refresh(
    *,
    since: datetime.date,
    until: datetime.date,
    pizzeria_ids: Sequence[int] | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """Write again the facts of the till days ``since`` to ``until`` (of every pizzeria, or of ``pizzeria_ids``),
    from their orders as they are now; returns how many pizzeria-days have figures. Running it twice writes the
    same rows."""
    now = now or timezone.now()
    facts = facts_compute(pizzeria_ids=pizzeria_ids, since=since, until=until, now=now)
    scope: dict[str, object] = {"day__range": (since, until)}
    if pizzeria_ids is not None:
        scope["pizzeria_id__in"] = pizzeria_ids
    FactCount.objects.filter(**scope).delete()
    SalesFact.objects.filter(**scope).delete()
    ordered = [facts[key] for key in sorted(facts)]
    SalesFact.objects.bulk_create(
        [
            SalesFact(
                pizzeria_id=day.pizzeria_id,
                day=day.day,
                orders=day.orders,
                sold=day.sold,
                cancelled=day.cancelled,
                takings=day.takings,
                items=day.items,
                paused_seconds=day.paused_seconds,
                busy_seconds=day.busy_seconds,
            )
            for day in ordered
        ],
        batch_size=2000,
    )
    FactCount.objects.bulk_create(
        [
            FactCount(
                pizzeria_id=day.pizzeria_id, day=day.day, dimension=dimension, key=key, count=count, amount=amount
            )
            for day in ordered
            for (dimension, key), (count, amount) in sorted(day.counts.items())
        ],
        batch_size=5000,
    )
    _facts_changed()
    transaction.on_commit(_facts_changed)  # and again once written, for a report read meanwhile
    return len(facts)


# A long period is summed this many days at a time, each in its own transaction: a month of a chain of 500
# pizzerias is some 15 000 pizzeria-days in memory, a year would be twelve times that.
REFRESH_WINDOW_DAYS = 31


def facts_refresh_period(*, since: datetime.date, until: datetime.date) -> int:
    """``facts_refresh`` of every pizzeria over a period of any length, a month at a time."""
    days = 0
    while since <= until:
        end = min(since + datetime.timedelta(days=REFRESH_WINDOW_DAYS - 1), until)
        days += facts_refresh(since=since, until=end)
        since = end + datetime.timedelta(days=1)
    return days


# --- The report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    since: datetime.date
    until: datetime.date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(self.since - datetime.timedelta(days=self.days), self.since - datetime.timedelta(days=1))

    def each_day(self) -> list[datetime.date]:
        return [self.since + datetime.timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True)
class Totals:
    orders: int = 0
    sold: int = 0
    cancelled: int = 0
    takings: Decimal = ZERO
    items: int = 0
    paused_seconds: int = 0
    busy_seconds: int = 0

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(*(mine + theirs for mine, theirs in zip(self.figures(), other.figures(), strict=True)))

    def figures(self) -> tuple:
        return (
            self.orders,
            self.sold,
            self.cancelled,
            self.takings,
            self.items,
            self.paused_seconds,
            self.busy_seconds,
        )

    @property
    def basket(self) -> Decimal | None:
        return (self.takings / self.sold).quantize(Decimal("0.01")) if self.sold else None

    @property
    def cancellation_rate(self) -> Decimal | None:
        return Decimal(100 * self.cancelled / self.orders).quantize(Decimal("0.1")) if self.orders else None


def change(now: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """The change from ``before`` to ``now`` in percent, none when there was nothing before."""
    if now is None or not before:
        return None
    return (Decimal(100) * (Decimal(now) - Decimal(before)) / Decimal(before)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Point:
    """One bar of the sales chart: a day, week or month of the period beside its match in the previous one."""

    label: str
    since: datetime.date
    totals: Totals
    previous_label: str = ""
    previous: Totals | None = None


@dataclass(frozen=True)
class Share:
    key: str
    label: str
    count: int
    amount: Decimal
    percent: Decimal


@dataclass(frozen=True)
class SalesReport:
    period: Period
    previous_period: Period
    granularity: str
    totals: Totals
    previous_totals: Totals
    series: list[Point]
    channels: list[Share]
    fulfilments: list[Share]
    best_sellers: list[Share]
    cancellations: list[Share]
    kitchen: list[Share]
    oven: list[Share]
    lateness: list[Share]
    live_day: datetime.date | None

    @property
    def takings_change(self) -> Decimal | None:
        return change(self.totals.takings, self.previous_totals.takings)

    @property
    def sold_change(self) -> Decimal | None:
        return change(self.totals.sold, self.previous_totals.sold)

    @property
    def basket_change(self) -> Decimal | None:
        return change(self.totals.basket, self.previous_totals.basket)


def _bucket(day: datetime.date, granularity: str) -> datetime.date:
    if granularity == WEEK:
        return day - datetime.timedelta(days=day.weekday())
    if granularity == MONTH:
        return day.replace(day=1)
    return day


def _bucket_label(start: datetime.date, granularity: str) -> str:
    if granularity == WEEK:
        return f"sem. du {start:%d/%m}"
    if granularity == MONTH:
        return f"{MONTHS[start.month - 1]} {start:%Y}"
    return f"{start:%d/%m}"


def _series(period: Period, days: dict[datetime.date, Totals], granularity: str) -> list[tuple[datetime.date, Totals]]:
    buckets: dict[datetime.date, Totals] = {}
    for day in period.each_day():
        start = _bucket(day, granularity)
        buckets[start] = buckets.get(start, Totals()) + days.get(day, Totals())
    return list(buckets.items())


def _shares(
    counts: dict[tuple[str, str], list], dimension: str, labels: dict[str, str], order: list[str]
) -> list[Share]:
    """The rows of one breakdown, in ``order`` (every key of it, even at zero), then any other key."""
    rows = {key: figures for (dim, key), figures in counts.items() if dim == dimension}
    total = sum(figures[0] for figures in rows.values())
    keys = [*order, *sorted(key for key in rows if key not in order)]
    return [
        Share(
            key=key,
            label=labels.get(key, key),
            count=rows.get(key, [0, ZERO])[0],
            amount=rows.get(key, [0, ZERO])[1],
            percent=Decimal(100 * rows.get(key, [0, ZERO])[0] / total).quantize(Decimal("0.1")) if total else ZERO,
        )
        for key in keys
    ]


def _best_sellers(counts: dict[tuple[str, str], list]) -> list[Share]:
    products = [(key, figures) for (dim, key), figures in counts.items() if dim == FactCount.PRODUCT]
    total = sum(figures[0] for _key, figures in products)
    products.sort(key=lambda item: (-item[1][0], -item[1][1], item[0]))
    return [
        Share(key, key, count, amount, Decimal(100 * count / total).quantize(Decimal("0.1")))
        for key, (count, amount) in products[:BEST_SELLERS]
    ]


def _banded(counts, dimension: str) -> list[Share]:
    """Every band in order, empty bands included, or nothing at all when no order was timed."""
    bands = BANDS[dimension]
    rows = _shares(counts, dimension, {key: label for _b, key, label in bands}, [key for _b, key, _l in bands])
    return rows if any(row.count for row in rows) else []


# Past days' facts change only when ``facts_refresh`` writes them again, and bumps this version: their sums are
# kept under it, and for FACTS_CACHE_SECONDS at most (a per-process cache does not see another process's bump).
FACTS_VERSION_KEY = "reports:facts-version"
FACTS_CACHE_SECONDS = 300
# Today's figures summed live are kept this long: a report opened by several managers at once sums them once.
LIVE_CACHE_SECONDS = 30


def _facts_changed() -> None:
    cache.set(FACTS_VERSION_KEY, uuid.uuid4().hex, None)


def _past_figures(*, pizzeria_id: int | None, since: datetime.date, counted: datetime.date, until: datetime.date):
    """Each past day's totals from ``since`` to ``until`` and the breakdowns' sums from ``counted`` on."""
    key = f"reports:past:{cache.get(FACTS_VERSION_KEY, '')}:{pizzeria_id}:{since}:{counted}:{until}"
    cached = cache.get(key)
    if cached is None:
        scope = {"pizzeria_id": pizzeria_id} if pizzeria_id is not None else {}
        days = {
            row["day"]: Totals(
                row["orders_sum"],
                row["sold_sum"],
                row["cancelled_sum"],
                row["takings_sum"],
                row["items_sum"],
                row["paused_sum"],
                row["busy_sum"],
            )
            for row in SalesFact.objects.filter(day__range=(since, until), **scope)
            .values("day")
            .annotate(
                orders_sum=Sum("orders"),
                sold_sum=Sum("sold"),
                cancelled_sum=Sum("cancelled"),
                takings_sum=Sum("takings"),
                items_sum=Sum("items"),
                paused_sum=Sum("paused_seconds"),
                busy_sum=Sum("busy_seconds"),
            )
        }
        counts = {
            (count["dimension"], count["key"]): [count["count_sum"], count["amount_sum"]]
            for count in FactCount.objects.filter(day__range=(counted, until), **scope)
            .values("dimension", "key")
            .annotate(count_sum=Sum("count"), amount_sum=Sum("amount"))
        }
        cached = (days, counts)
        cache.set(key, cached, FACTS_CACHE_SECONDS)
    days, counts = cached
    figures: dict[tuple[str, str], list] = defaultdict(lambda: [0, ZERO])
    figures.update((key, list(value)) for key, value in counts.items())
    return dict(days), figures


def _live_figures(*, pizzeria_id: int | None, today: datetime.date, now: datetime.datetime):
    """Today's totals and breakdowns, summed from its orders (of the whole chain when ``pizzeria_id`` is None)."""
    key = f"reports:live:{pizzeria_id}:{today}"
    cached = cache.get(key)
    if cached is None:
        totals = Totals()
        counts: dict[tuple[str, str], list] = defaultdict(lambda: [0, ZERO])
        ids = [pizzeria_id] if pizzeria_id is not None else None
        for fact in facts_compute(pizzeria_ids=ids, since=today, until=today, now=now).values():
            totals += Totals(
                fact.orders,
                fact.sold,
                fact.cancelled,
                fact.takings,
                fact.items,
                fact.paused_seconds,
                fact.busy_seconds,
            )
            for dimension_key, (count, amount) in fact.counts.items():
                counts[dimension_key][0] += count
                counts[dimension_key][1] += amount
        cached = (totals, dict(counts))
        cache.set(key, cached, LIVE_CACHE_SECONDS)
    return cached


def sales_report(
    *, period: Period, granularity: str, pizzeria_id: int | None, now: datetime.datetime | None = None
) -> SalesReport:
    """The report of ``period`` for one pizzeria or the chain (``pizzeria_id`` None), against the period before.

    Past days come from the facts (two queries for the whole period and the previous one); today, when the
    period reaches it, is summed live from its orders (seven queries more). Both are kept a while in the cache
    (``_past_figures``, ``_live_figures``).
    """
    now = now or timezone.now()
    today = business_date(now)
    previous = period.previous()
    past_until = min(period.until, today - datetime.timedelta(days=1))
    days, counts = _past_figures(pizzeria_id=pizzeria_id, since=previous.since, counted=period.since, until=past_until)
    live_day = today if period.since <= today <= period.until else None
    if live_day is not None:
        live_totals, live_counts = _live_figures(pizzeria_id=pizzeria_id, today=today, now=now)
        days[today] = live_totals
        for key, (count, amount) in live_counts.items():
            counts[key][0] += count
            counts[key][1] += amount
    current = _series(period, days, granularity)
    before = _series(previous, days, granularity)
    series = [
        Point(
            label=_bucket_label(max(start, period.since), granularity),
            since=start,
            totals=totals,
            previous_label=_bucket_label(max(before[n][0], previous.since), granularity) if n < len(before) else "",
            previous=before[n][1] if n < len(before) else None,
        )
        for n, (start, totals) in enumerate(current)
    ]
    totals = sum((days.get(day, Totals()) for day in period.each_day()), Totals())
    previous_totals = sum((days.get(day, Totals()) for day in previous.each_day()), Totals())
    reasons = {**dict(CancelReason.choices), NO_REASON: "sans motif"}
    return SalesReport(
        period=period,
        previous_period=previous,
        granularity=granularity,
        totals=totals,
        previous_totals=previous_totals,
        series=series,
        channels=_shares(counts, FactCount.CHANNEL, dict(Channel.choices), Channel.values),
        fulfilments=_shares(counts, FactCount.FULFILMENT, dict(Fulfilment.choices), Fulfilment.values),
        best_sellers=_best_sellers(counts),
        cancellations=[
            share
            for share in _shares(counts, FactCount.CANCEL_REASON, reasons, [*CancelReason.values, NO_REASON])
            if share.count
        ],
        kitchen=_banded(counts, FactCount.KITCHEN),
        oven=_banded(counts, FactCount.OVEN),
        lateness=_banded(counts, FactCount.LATENESS),
        live_day=live_day,
    )
