"""Money: every amount of an order is computed here, from the catalogue, never
from what a browser posts. Prices are VAT-inclusive (French retail); VAT is
the included part, rounded per rate."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from production.models import Pizzeria

CENT = Decimal("0.01")
# Delivery is ancillary to a meal sold for immediate consumption.
DELIVERY_VAT_RATE = Decimal("10.00")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedLine:
    unit_price: Decimal
    quantity: int
    vat_rate: Decimal
    contains_alcohol: bool = False

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    amount_incl_vat: Decimal
    vat: Decimal

    @property
    def amount_excl_vat(self) -> Decimal:
        return self.amount_incl_vat - self.vat


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    delivery_fee: Decimal
    vat_rows: list[VatRow]

    @property
    def vat_total(self) -> Decimal:
        return sum((row.vat for row in self.vat_rows), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.delivery_fee


def delivery_fee_for(*, pizzeria: Pizzeria, delivery: bool, subtotal: Decimal) -> Decimal:
    if not delivery:
        return Decimal("0.00")
    if pizzeria.free_delivery_from is not None and subtotal >= pizzeria.free_delivery_from:
        return Decimal("0.00")
    return pizzeria.delivery_fee


def order_totals(*, lines: Iterable[PricedLine], delivery_fee: Decimal) -> Totals:
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_rate[line.vat_rate] += line.total
    subtotal = sum(by_rate.values(), Decimal("0"))
    if delivery_fee:
        by_rate[DELIVERY_VAT_RATE] += delivery_fee
    vat_rows = [
        VatRow(rate=rate, amount_incl_vat=money(amount), vat=money(amount * rate / (100 + rate)))
        for rate, amount in sorted(by_rate.items())
    ]
    return Totals(subtotal=money(subtotal), delivery_fee=money(delivery_fee), vat_rows=vat_rows)


@dataclass(frozen=True)
class MealVoucherSplit:
    """What meal vouchers may pay of an order, and the rest, to pay in cash or by card."""

    voucher: Decimal
    rest: Decimal

    @property
    def is_partial(self) -> bool:
        return self.rest > 0


def meal_voucher_split(
    *, lines: Iterable[PricedLine], delivery_fee: Decimal, daily_limit: Decimal | None = None
) -> MealVoucherSplit:
    """Split an order between meal vouchers and cash or card.

    Vouchers pay for food only (French rule): the lines without alcohol, soft
    drinks and desserts included, up to the daily ceiling
    (``MEAL_VOUCHER_DAILY_LIMIT`` unless given). Alcohol and the delivery
    fee, which is a service rather than food, are always part of the rest.
    """
    limit = settings.OCPIZZA["MEAL_VOUCHER_DAILY_LIMIT"] if daily_limit is None else daily_limit
    food = Decimal("0")
    total = delivery_fee
    for line in lines:
        total += line.total
        if not line.contains_alcohol:
            food += line.total
    voucher = money(min(food, limit))
    return MealVoucherSplit(voucher=voucher, rest=money(total) - voucher)
