"""Each database constraint rejects the row it exists to forbid."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from production.models import OpeningException, OpeningHours, StaffMember, StockMovement
from tests import factories
from ventes.models import Payment

pytestmark = pytest.mark.django_db


def rejected(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_stock_never_negative_and_never_holds_more_than_the_shelf():
    rejected(lambda: factories.StockFactory(on_hand=-1))
    rejected(lambda: factories.StockFactory(on_hand=5, reserved=-1))
    rejected(lambda: factories.StockFactory(on_hand=5, reserved=6))


def test_one_stock_line_per_pizzeria_and_ingredient():
    stock = factories.StockFactory()
    rejected(lambda: factories.StockFactory(pizzeria=stock.pizzeria, ingredient=stock.ingredient))


def test_product_price_must_be_positive():
    rejected(lambda: factories.ProductFactory(price=Decimal("0")))
    rejected(lambda: factories.ProductFactory(price=Decimal("-3.50")))


def test_product_vat_rate_must_be_french():
    rejected(lambda: factories.ProductFactory(vat_rate=Decimal("7.00")))


def test_recipe_quantity_must_be_positive():
    rejected(lambda: factories.RecipeLineFactory(quantity=0))


def test_one_recipe_line_per_product_and_ingredient():
    line = factories.RecipeLineFactory()
    rejected(lambda: factories.RecipeLineFactory(product=line.product, ingredient=line.ingredient))


def test_memo_step_positions_unique():
    step = factories.RecipeStepFactory()
    rejected(lambda: factories.RecipeStepFactory(product=step.product, position=step.position))


def test_opening_hours_never_close_when_they_open(pizzeria):
    rejected(
        lambda: OpeningHours.objects.create(
            pizzeria=pizzeria, weekday=0, opens=datetime.time(18), closes=datetime.time(18)
        )
    )
    # Closing before opening is the next day's closing: Monday 18:00 to Tuesday 01:00.
    assert OpeningHours.objects.create(pizzeria=pizzeria, weekday=0, opens=datetime.time(18), closes=datetime.time(1))


def test_an_opening_exception_is_closed_or_has_its_hours(pizzeria):
    day = datetime.date(2026, 12, 24)
    rejected(lambda: OpeningException.objects.create(pizzeria=pizzeria, day=day, closed=True, opens=datetime.time(18)))
    rejected(lambda: OpeningException.objects.create(pizzeria=pizzeria, day=day, closed=False, opens=datetime.time(18)))
    assert OpeningException.objects.create(pizzeria=pizzeria, day=day, closed=True)


def test_staff_outside_management_belongs_to_a_pizzeria():
    rejected(lambda: factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=None))
    assert factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).pk


def test_order_number_unique():
    order = factories.OrderFactory()
    rejected(lambda: factories.OrderFactory(number=order.number))


def test_order_daily_sequence_unique_per_pizzeria():
    order = factories.OrderFactory()
    rejected(lambda: factories.OrderFactory(pizzeria=order.pizzeria, daily_sequence=order.daily_sequence))


def test_order_state_must_be_known():
    rejected(lambda: factories.OrderFactory(state="eaten"))


def test_order_totals_positive():
    rejected(lambda: factories.OrderFactory(total=Decimal("0")))
    rejected(lambda: factories.OrderFactory(subtotal=Decimal("-1")))


def test_delivery_order_needs_an_address():
    rejected(lambda: factories.OrderFactory(fulfilment="delivery", delivery_address=""))


def test_order_line_quantity_and_price_positive():
    rejected(lambda: factories.OrderLineFactory(quantity=0))
    rejected(lambda: factories.OrderLineFactory(unit_price=Decimal("0")))


def test_payment_amount_positive_and_refund_bounded():
    order = factories.OrderFactory()
    rejected(lambda: Payment.objects.create(order=order, method="cash", amount=Decimal("0")))
    rejected(
        lambda: Payment.objects.create(order=order, method="cash", amount=Decimal("10"), refunded_amount=Decimal("11"))
    )


def test_ledger_rows_have_a_known_kind_and_move_something():
    stock = factories.StockFactory()
    rejected(lambda: StockMovement.objects.create(stock=stock, kind="theft", on_hand_delta=-1))
    rejected(lambda: StockMovement.objects.create(stock=stock, kind=StockMovement.RESTOCK))
    order = factories.OrderFactory()
    # Only orders hold stock, reservations leave the shelf as it is, consuming takes what was held.
    rejected(lambda: StockMovement.objects.create(stock=stock, kind=StockMovement.RESERVATION, reserved_delta=1))
    rejected(lambda: StockMovement.objects.create(stock=stock, kind=StockMovement.RESTOCK, reserved_delta=1))
    rejected(
        lambda: StockMovement.objects.create(
            stock=stock, kind=StockMovement.RESERVATION, order=order, on_hand_delta=-1, reserved_delta=1
        )
    )
    rejected(
        lambda: StockMovement.objects.create(
            stock=stock, kind=StockMovement.CONSUMPTION, order=order, on_hand_delta=-2, reserved_delta=-1
        )
    )
