"""Closings of the sales journal (NF525 principles): daily (Z), monthly and yearly, per pizzeria.

A day is closed once it has ended (``TILL_DAY_ENDS_AT`` the next morning): its
journal rows are summed (sales by VAT rate, collected by payment method, refunds,
cancellations, duplicates) with the perpetual grand total, and sealed in a
``Closing`` chained to the pizzeria's previous closing. A month is closed when
its last day is, by summing its days; a year by summing its months. Every day
from the pizzeria's first journal row on is closed, quiet days included, so
that the sequence of Z has no hole.

``closings_make`` is what the ``close_periods`` job (every quarter of an hour)
and the managers' « Clôturer » button run: it closes what has ended and is not
closed yet, behind the journal's lock of the pizzeria, so a row being written
and a closing never overlap, and two runs never close a period twice.
"""

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from production.models import Pizzeria

from .journal import business_date, chain_lock
from .models import GENESIS_HASH, Closing, ClosingKind, JournalChain, JournalEntry, JournalKind

ZERO = Decimal("0.00")
ONE_DAY = datetime.timedelta(days=1)


@dataclass
class Totals:
    """What a period adds up to; a month's is the sum of its days' (``add``)."""

    first_entry: int | None = None
    last_entry: int | None = None
    entries: int = 0
    sales_count: int = 0
    sales_total: Decimal = ZERO
    refunds_total: Decimal = ZERO
    payments: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    vat: dict[str, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))
    cancellations: int = 0
    duplicates: int = 0

    def span(self, first: int | None, last: int | None) -> None:
        if first is not None and (self.first_entry is None or first < self.first_entry):
            self.first_entry = first
        if last is not None and (self.last_entry is None or last > self.last_entry):
            self.last_entry = last

    def entry(self, entry: JournalEntry) -> None:
        self.span(entry.sequence, entry.sequence)
        self.entries += 1
        if entry.kind == JournalKind.SALE:
            self.sales_count += 1
            self.sales_total += entry.amount
            for row in entry.vat:
                self.vat[row["rate"]][0] += Decimal(row["incl"])
                self.vat[row["rate"]][1] += Decimal(row["vat"])
        elif entry.kind in {JournalKind.PAYMENT, JournalKind.REFUND}:
            self.payments[entry.payment_method] += entry.amount
            if entry.kind == JournalKind.REFUND:
                self.refunds_total += entry.amount
        elif entry.kind == JournalKind.CANCELLATION:
            self.cancellations += 1
        elif entry.kind == JournalKind.DUPLICATE:
            self.duplicates += 1

    def add(self, closing: Closing) -> None:
        self.span(closing.first_entry, closing.last_entry)
        self.entries += closing.entries
        self.sales_count += closing.sales_count
        self.sales_total += closing.sales_total
        self.refunds_total += closing.refunds_total
        for method, amount in closing.payments.items():
            self.payments[method] += Decimal(amount)
        for row in closing.vat:
            self.vat[row["rate"]][0] += Decimal(row["incl"])
            self.vat[row["rate"]][1] += Decimal(row["vat"])
        self.cancellations += closing.cancellations
        self.duplicates += closing.duplicates


def closing_content(closing: Closing) -> dict[str, Any]:
    """What a closing's hash covers: every column but its id and hash, in a form that never varies."""
    return {
        "pizzeria": closing.pizzeria_id,
        "sequence": closing.sequence,
        "kind": closing.kind,
        "period_start": closing.period_start.isoformat(),
        "period_end": closing.period_end.isoformat(),
        "closed_at": closing.closed_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "first_entry": closing.first_entry,
        "last_entry": closing.last_entry,
        "entries": closing.entries,
        "sales_count": closing.sales_count,
        "sales_total": str(Decimal(closing.sales_total).quantize(ZERO)),
        "refunds_total": str(Decimal(closing.refunds_total).quantize(ZERO)),
        "payments": closing.payments,
        "vat": closing.vat,
        "cancellations": closing.cancellations,
        "duplicates": closing.duplicates,
        "grand_total": str(Decimal(closing.grand_total).quantize(ZERO)),
        "journal_hash": closing.journal_hash,
        "previous_hash": closing.previous_hash,
    }


def closing_hash(closing: Closing) -> str:
    canonical = json.dumps(closing_content(closing), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _seal(
    *,
    head: JournalChain,
    kind: str,
    start: datetime.date,
    end: datetime.date,
    totals: Totals,
    grand_total: Decimal,
    journal_hash: str,
    now: datetime.datetime,
) -> Closing:
    closing = Closing(
        pizzeria_id=head.pizzeria_id,
        sequence=head.last_closing_sequence + 1,
        kind=kind,
        period_start=start,
        period_end=end,
        closed_at=now,
        first_entry=totals.first_entry,
        last_entry=totals.last_entry,
        entries=totals.entries,
        sales_count=totals.sales_count,
        sales_total=totals.sales_total,
        refunds_total=totals.refunds_total,
        payments={method: str(amount) for method, amount in sorted(totals.payments.items())},
        vat=[{"rate": rate, "incl": str(incl), "vat": str(vat)} for rate, (incl, vat) in sorted(totals.vat.items())],
        cancellations=totals.cancellations,
        duplicates=totals.duplicates,
        grand_total=grand_total,
        journal_hash=journal_hash,
        previous_hash=head.last_closing_hash,
    )
    closing.hash = closing_hash(closing)
    closing.save()
    head.last_closing_sequence, head.last_closing_hash = closing.sequence, closing.hash
    head.save(update_fields=["last_closing_sequence", "last_closing_hash"])
    return closing


def _last(*, pizzeria_id: int, kind: str) -> Closing | None:
    return Closing.objects.filter(pizzeria_id=pizzeria_id, kind=kind).order_by("-period_start").first()


def _close_days(*, head: JournalChain, until: datetime.date, now: datetime.datetime) -> list[Closing]:
    pizzeria_id = head.pizzeria_id
    last = _last(pizzeria_id=pizzeria_id, kind=ClosingKind.DAY)
    if last is not None:
        day, grand_total, journal_hash = last.period_end + ONE_DAY, last.grand_total, last.journal_hash
    else:
        first = JournalEntry.objects.filter(pizzeria_id=pizzeria_id).order_by("sequence").first()
        if first is None:
            return []
        day, grand_total, journal_hash = first.business_date, ZERO, GENESIS_HASH
    rows = JournalEntry.objects.filter(pizzeria_id=pizzeria_id, business_date__gte=day, business_date__lte=until)
    by_day: dict[datetime.date, list[JournalEntry]] = defaultdict(list)
    for entry in rows.order_by("sequence"):
        by_day[entry.business_date].append(entry)
    made = []
    while day <= until:
        totals = Totals()
        for entry in by_day[day]:
            totals.entry(entry)
            journal_hash = entry.hash
        grand_total += totals.sales_total
        made.append(
            _seal(
                head=head,
                kind=ClosingKind.DAY,
                start=day,
                end=day,
                totals=totals,
                grand_total=grand_total,
                journal_hash=journal_hash,
                now=now,
            )
        )
        day += ONE_DAY
    return made


def _month_end(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - ONE_DAY


def _year_end(day: datetime.date) -> datetime.date:
    return day.replace(month=12, day=31)


def _close_sums(
    *, head: JournalChain, kind: str, part: str, period_end: Any, until: datetime.date, now: datetime.datetime
) -> list[Closing]:
    """Close each period of ``kind`` (month, year) whose last day is closed, from the closings of ``part``."""
    pizzeria_id = head.pizzeria_id
    last = _last(pizzeria_id=pizzeria_id, kind=kind)
    if last is not None:
        start = last.period_end + ONE_DAY
    else:
        first = Closing.objects.filter(pizzeria_id=pizzeria_id, kind=part).order_by("period_start").first()
        if first is None:
            return []
        start = (
            first.period_start.replace(day=1)
            if kind == ClosingKind.MONTH
            else first.period_start.replace(day=1, month=1)
        )
    made = []
    while period_end(start) <= until:
        end = period_end(start)
        parts = list(
            Closing.objects.filter(
                pizzeria_id=pizzeria_id, kind=part, period_start__gte=start, period_end__lte=end
            ).order_by("period_start")
        )
        totals = Totals()
        for closing in parts:
            totals.add(closing)
        made.append(
            _seal(
                head=head,
                kind=kind,
                start=start,
                end=end,
                totals=totals,
                grand_total=parts[-1].grand_total if parts else (last.grand_total if last else ZERO),
                journal_hash=parts[-1].journal_hash if parts else (last.journal_hash if last else GENESIS_HASH),
                now=now,
            )
        )
        last = made[-1]
        start = end + ONE_DAY
    return made


@transaction.atomic
def closings_make(*, pizzeria_id: int, now: datetime.datetime | None = None) -> list[Closing]:
    """Close every day, month and year of the pizzeria that has ended and is not closed yet; return them."""
    now = now or timezone.now()
    head = chain_lock(pizzeria_id=pizzeria_id)
    ended = business_date(now) - ONE_DAY  # the last till day that is over
    made = _close_days(head=head, until=ended, now=now)
    days_closed = _last(pizzeria_id=pizzeria_id, kind=ClosingKind.DAY)
    if days_closed is None:
        return made
    until = days_closed.period_end
    made += _close_sums(
        head=head, kind=ClosingKind.MONTH, part=ClosingKind.DAY, period_end=_month_end, until=until, now=now
    )
    made += _close_sums(
        head=head, kind=ClosingKind.YEAR, part=ClosingKind.MONTH, period_end=_year_end, until=until, now=now
    )
    return made


def closings_make_all(*, now: datetime.datetime) -> int:
    """The scheduled job: every pizzeria's ended periods, each pizzeria in its own transaction."""
    made = 0
    for pizzeria_id in Pizzeria.objects.order_by("pk").values_list("pk", flat=True):
        made += len(closings_make(pizzeria_id=pizzeria_id, now=now))
    return made


# Reading and verifying.


@dataclass(frozen=True)
class ClosingsCheck:
    count: int
    broken_sequence: int | None
    reason: str


def closings_verify(*, pizzeria: Pizzeria) -> ClosingsCheck:
    """Recompute the pizzeria's chain of closings; the first one that does not hold is named."""
    head = JournalChain.objects.filter(pizzeria=pizzeria).values_list("last_closing_sequence", "last_closing_hash")
    last = head.first()
    previous, expected = GENESIS_HASH, 1
    closings = Closing.objects.filter(pizzeria=pizzeria).order_by("sequence")
    if last is not None:
        closings = closings.filter(sequence__lte=last[0])
    for closing in closings.iterator(chunk_size=500):
        if closing.sequence != expected:
            return ClosingsCheck(expected - 1, expected, f"la clôture n° {expected} manque")
        if closing.previous_hash != previous:
            return ClosingsCheck(expected - 1, expected, "ne suit pas la clôture précédente (chaînage rompu)")
        if closing_hash(closing) != closing.hash:
            return ClosingsCheck(expected - 1, expected, "son contenu a été modifié (empreinte différente)")
        previous, expected = closing.hash, expected + 1
    if last is not None and last != (expected - 1, previous):
        return ClosingsCheck(expected - 1, expected, f"les clôtures à partir de la n° {expected} ont disparu")
    return ClosingsCheck(expected - 1, None, "")


def closings_latest(*, pizzeria_ids: Iterable[int]) -> Mapping[int, dict[str, Closing]]:
    """The last closing of each kind, per pizzeria, for the managers' screen: one query."""
    newest = Closing.objects.filter(pizzeria_id=OuterRef("pizzeria_id"), kind=OuterRef("kind"))
    rows = Closing.objects.filter(
        pizzeria_id__in=list(pizzeria_ids), pk=Subquery(newest.order_by("-period_start").values("pk")[:1])
    )
    latest: dict[int, dict[str, Closing]] = defaultdict(dict)
    for closing in rows:
        latest[closing.pizzeria_id][closing.kind] = closing
    return latest
