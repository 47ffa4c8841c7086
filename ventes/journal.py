"""The sales journal (NF525 principles): what was sold, collected and given back, per pizzeria, chained.

Each row is written once, by the named action that causes it and in its
transaction: ``ventes.events.order_event_record`` hands every order event to
``journal_record_event``, which turns the ones about money into rows (an order
completed is a sale, a payment taken, a refund made, a cancellation of a paid
order), and ``journal_append`` writes receipt duplicates. A row holds the
SHA-256 of its canonical content and of the previous row's hash; rows of one
pizzeria are appended behind its ``JournalChain`` row, locked, so that two
transactions never chain onto the same row (the chain never forks).

Nothing updates or deletes a row: the model and its queryset refuse, and on
PostgreSQL a trigger refuses too (migration ``journal_entry``). A row changed
behind the application's back (SQL, a restored dump) no longer matches its
hash: ``journal_verify`` names the first such row.
"""

import dataclasses
import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from production.models import Pizzeria

from .exceptions import ReceiptNotIssued
from .models import (
    GENESIS_HASH,
    JournalChain,
    JournalEntry,
    JournalKind,
    Order,
    OrderEvent,
    OrderEventType,
    OrderState,
    Payment,
    PaymentState,
    Refund,
)
from .pricing import PricedLine, order_totals

if TYPE_CHECKING:
    from accounts.models import User

CENT = Decimal("0.01")
Kind = JournalKind


def business_date(at: datetime.datetime) -> datetime.date:
    """The till's day of a moment: before the day's end (``TILL_DAY_ENDS_AT``, e.g. 04:00) it is still the evening
    before."""
    ends = settings.OCPIZZA["TILL_DAY_ENDS_AT"]
    return (timezone.localtime(at) - datetime.timedelta(hours=ends.hour, minutes=ends.minute)).date()


def _canonical(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_content(entry: JournalEntry) -> dict[str, Any]:
    """What a row's hash covers: every column but its own id and hash, in a form that never varies."""
    return {
        "pizzeria": entry.pizzeria_id,
        "sequence": entry.sequence,
        "kind": entry.kind,
        "order": entry.order_number,
        "at": entry.at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "business_date": entry.business_date.isoformat(),
        "amount": str(Decimal(entry.amount).quantize(CENT)),
        "payment_method": entry.payment_method,
        "vat": entry.vat,
        "operator": entry.operator,
        "receipt": entry.receipt_number,
        "previous_hash": entry.previous_hash,
    }


def entry_hash(entry: JournalEntry) -> str:
    return hashlib.sha256(_canonical(entry_content(entry))).hexdigest()


def chain_lock(*, pizzeria_id: int) -> JournalChain:
    """The pizzeria's chain head, locked until the transaction ends (made at the first row)."""
    head = JournalChain.objects.select_for_update().filter(pizzeria_id=pizzeria_id).first()
    if head is None:
        # Two first rows racing: one insert wins, the other is ignored, and both then queue on the same row.
        JournalChain.objects.bulk_create([JournalChain(pizzeria_id=pizzeria_id)], ignore_conflicts=True)
        head = JournalChain.objects.select_for_update().get(pizzeria_id=pizzeria_id)
    return head


# Always part of the action that causes the row: no savepoint of its own, it commits or rolls back with it.
@transaction.atomic(savepoint=False)
def journal_append(
    *,
    order: Order,
    kind: str,
    amount: Decimal,
    payment_method: str = "",
    vat: Iterable[Mapping[str, str]] = (),
    by: "User | None" = None,
    receipt_number: int | None = None,
) -> JournalEntry:
    """Write the next row of the order's pizzeria's journal, chained to the last one.

    A sale takes the pizzeria's next receipt number; a duplicate names the receipt it copies.
    """
    head = chain_lock(pizzeria_id=order.pizzeria_id)
    if kind == Kind.SALE:
        head.last_receipt_number += 1
        receipt_number = head.last_receipt_number
    at = timezone.now()  # taken behind the lock: the rows' times follow their numbers
    entry = JournalEntry(
        pizzeria_id=order.pizzeria_id,
        sequence=head.last_sequence + 1,
        kind=kind,
        order=order,
        order_number=order.number,
        at=at,
        business_date=business_date(at),
        amount=Decimal(amount).quantize(CENT),
        payment_method=payment_method,
        vat=[dict(row) for row in vat],
        operator=str(by.pk) if by is not None else "",
        receipt_number=receipt_number,
        previous_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    entry.save()
    head.last_sequence, head.last_hash = entry.sequence, entry.hash
    head.save(update_fields=["last_sequence", "last_hash", "last_receipt_number"])
    return entry


@dataclass(frozen=True)
class Receipt:
    """The receipt of a completed order: its number and time are those of its sale in the journal."""

    number: int
    label: str
    at: datetime.datetime
    duplicate: int | None = None  # the duplicate's rank, when this is a reprint


def order_receipt(*, order: Order) -> Receipt | None:
    """The order's receipt, or None while it is not a sale (not completed)."""
    sale = JournalEntry.objects.filter(order=order, kind=Kind.SALE).values_list("receipt_number", "at").first()
    if sale is None or sale[0] is None:
        return None
    return Receipt(number=sale[0], label=f"{order.pizzeria.code}-{sale[0]:06d}", at=sale[1])


@transaction.atomic
def receipt_duplicate(*, order: Order, by: "User | None") -> Receipt:
    """Reprint a receipt: the journal records the duplicate (which receipt, by whom, when) before it is shown."""
    receipt = order_receipt(order=order)
    if receipt is None:
        raise ReceiptNotIssued()
    journal_append(
        order=order,
        kind=Kind.DUPLICATE,
        amount=order.total,
        payment_method=order.payment_method,
        by=by,
        receipt_number=receipt.number,
    )
    rank = JournalEntry.objects.filter(order=order, kind=Kind.DUPLICATE).count()
    return dataclasses.replace(receipt, duplicate=rank)


def order_vat(order: Order) -> list[dict[str, str]]:
    """The order's amounts per VAT rate, as the receipt shows them."""
    totals = order_totals(
        lines=[PricedLine(line.unit_price, line.quantity, line.vat_rate) for line in order.lines.all()],
        delivery_fee=order.delivery_fee,
    )
    return [{"rate": str(row.rate), "incl": str(row.amount_incl_vat), "vat": str(row.vat)} for row in totals.vat_rows]


def _refund_method(params: Mapping[str, Any]) -> str:
    if params.get("method"):
        return str(params["method"])
    return Payment.objects.filter(pk=params["payment_id"]).values_list("method", flat=True).first() or ""


def journal_record_event(*, order: Order, event: OrderEvent) -> None:
    """Journal what an order event did to the money: nothing for the events that move none."""
    params, by = event.params, event.by
    if event.type == OrderEventType.STATE_MOVED and event.to_state == OrderState.COMPLETED:
        journal_append(
            order=order,
            kind=Kind.SALE,
            amount=order.total,
            payment_method=order.payment_method,
            vat=order_vat(order),
            by=by,
        )
        if "payment" in params:  # collected at the door by the move that completes the order
            payment = params["payment"]
            amount = Decimal(payment["amount"])
            journal_append(order=order, kind=Kind.PAYMENT, amount=amount, payment_method=payment["method"], by=by)
    elif event.type in {OrderEventType.PAYMENT_SUCCEEDED, OrderEventType.DUPLICATE_PAYMENT_REFUNDED}:
        # A duplicate payment was money taken too: its refund is journalled when it is made.
        journal_append(
            order=order, kind=Kind.PAYMENT, amount=Decimal(params["amount"]), payment_method=params["method"], by=by
        )
    elif event.type == OrderEventType.REFUND_SUCCEEDED:
        journal_append(
            order=order,
            kind=Kind.REFUND,
            amount=-Decimal(params["amount"]),
            payment_method=_refund_method(params),
            by=by,
        )
    elif (
        event.type == OrderEventType.REFUND_FAILED
        and Refund.objects.filter(pk=params.get("refund_id"), state=Refund.State.FAILED).exists()
    ):
        # A refund journalled as made that the customer's bank then refused: the money is back with us, so a
        # refund row of the opposite sign (a retry's failure leaves its refund pending, and nothing was journalled).
        journal_append(
            order=order, kind=Kind.REFUND, amount=Decimal(params["amount"]), payment_method=params["method"], by=by
        )
    elif (
        event.type == OrderEventType.STATE_MOVED
        and event.to_state == OrderState.CANCELLED
        and order.payment_state in {PaymentState.PAID, PaymentState.REFUNDED}
    ):
        # What was paid is given back by refund rows of its own; this row says the sale will not happen.
        journal_append(
            order=order, kind=Kind.CANCELLATION, amount=order.total, payment_method=order.payment_method, by=by
        )


# Verification.


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    entry_id: int | None
    reason: str


@dataclass(frozen=True)
class ChainCheck:
    pizzeria: Pizzeria
    rows: int
    last_hash: str
    broken: ChainBreak | None

    @property
    def is_intact(self) -> bool:
        return self.broken is None


def journal_verify(*, pizzeria: Pizzeria) -> ChainCheck:
    """Recompute a pizzeria's whole chain; the first row that does not hold is named, with why."""
    # The head first: rows appended while we read are left to the next check, not taken for a break.
    head = JournalChain.objects.filter(pizzeria=pizzeria).values_list("last_sequence", "last_hash").first()
    previous, expected, broken = GENESIS_HASH, 1, None
    rows = JournalEntry.objects.filter(pizzeria=pizzeria).order_by("sequence")
    if head is not None:
        rows = rows.filter(sequence__lte=head[0])
    for entry in rows.iterator(chunk_size=2000):
        if entry.sequence != expected:
            broken = ChainBreak(expected, None, f"l'écriture n° {expected} manque")
        elif entry.previous_hash != previous:
            broken = ChainBreak(entry.sequence, entry.pk, "ne suit pas l'écriture précédente (chaînage rompu)")
        elif entry_hash(entry) != entry.hash:
            broken = ChainBreak(entry.sequence, entry.pk, "son contenu a été modifié (empreinte différente)")
        if broken is not None:
            return ChainCheck(pizzeria=pizzeria, rows=expected - 1, last_hash=previous, broken=broken)
        previous, expected = entry.hash, expected + 1
    if head is not None and head != (expected - 1, previous):
        broken = ChainBreak(expected, None, f"les écritures à partir de la n° {expected} ont disparu")
    return ChainCheck(pizzeria=pizzeria, rows=expected - 1, last_hash=previous, broken=broken)


def journal_verify_all() -> list[ChainCheck]:
    return [journal_verify(pizzeria=pizzeria) for pizzeria in Pizzeria.objects.order_by("name")]
