"""A chain's weeks of orders in bulk, shaped like a real trade (weekends busier, a few cancellations, kitchen
times), for the reports' browser journey and its screenshots."""

import datetime
import random
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from production.models import PizzeriaEvent
from tests import factories
from ventes.models import Order, OrderEvent, OrderLine
from ventes.reports import facts_refresh

MENU = [
    ("Margherita", "9.50"),
    ("Regina", "11.50"),
    ("Quatre fromages", "12.50"),
    ("Calzone", "12.00"),
    ("Napoletana", "11.00"),
    ("Diavola", "12.50"),
    ("Végétarienne", "11.50"),
    ("Tiramisu", "5.50"),
]
CHANNELS = ["web"] * 6 + ["phone"] * 3 + ["counter"] * 2
REASONS = ["customer", "customer", "sold_out", "too_busy", "no_show", "payment_expired"]


def _at(day: datetime.date, minutes: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(18))) + datetime.timedelta(minutes=minutes)


def chain_history(*, pizzerias, days: int, today: datetime.date, seed: int = 20) -> None:
    """``days`` till days up to today at each pizzeria, then the facts of the past ones, as the daily update
    writes them."""
    chance = random.Random(seed)
    products = [factories.ProductFactory(name=name, price=Decimal(price)) for name, price in MENU]
    orders, lines, stamps, pace = [], [], [], []
    for pizzeria_index, pizzeria in enumerate(pizzerias):
        for back in range(days - 1, -1, -1):
            day = today - datetime.timedelta(days=back)
            busy = 1.6 if day.weekday() >= 4 else 1.0
            count = int((8 + 4 * pizzeria_index + (days - back) / 6) * busy) + chance.randint(0, 4)
            for sequence in range(1, count + 1):
                cancelled = chance.random() < 0.06
                delivery = chance.random() < 0.55
                picks = [
                    (chance.choice(products[:7] if n == 0 else products), chance.randint(1, 2))
                    for n in range(chance.randint(1, 3))
                ]
                subtotal = sum((product.price * quantity for product, quantity in picks), Decimal("0"))
                fee = Decimal("2.50") if delivery else Decimal("0")
                placed = _at(day, chance.randint(0, 240))
                order = Order(
                    number=f"{pizzeria.code}-{day:%y%m%d}-{sequence:03d}",
                    pizzeria=pizzeria,
                    business_date=day,
                    daily_sequence=sequence,
                    customer_name="Client",
                    customer_phone="06 12 34 56 78",
                    channel=chance.choice(CHANNELS),
                    fulfilment="delivery" if delivery else "pickup",
                    delivery_address="8 rue Keller" if delivery else "",
                    payment_method="cash",
                    subtotal=subtotal,
                    vat_total=(subtotal / 11).quantize(Decimal("0.01")),
                    delivery_fee=fee,
                    total=subtotal + fee,
                    state="cancelled" if cancelled else "completed",
                    cancel_reason=chance.choice(REASONS) if cancelled else "",
                    estimated_ready_at=placed + datetime.timedelta(minutes=20),
                )
                orders.append(order)
                lines.append([(product, quantity) for product, quantity in picks])
                if not cancelled:
                    start = placed + datetime.timedelta(minutes=chance.randint(1, 14) + (6 if busy > 1 else 0))
                    ready = start + datetime.timedelta(minutes=chance.randint(4, 13))
                    stamps.append((order, [("received", placed), ("preparing", start), ("ready", ready)]))
            if chance.random() < 0.3:
                pause = _at(day, chance.randint(60, 150))
                until = pause + datetime.timedelta(minutes=chance.choice([15, 30]))
                pace.append(PizzeriaEvent(pizzeria=pizzeria, kind="paused", at=pause, until=until))
            if busy > 1:
                start = _at(day, chance.randint(30, 90))
                until = start + datetime.timedelta(minutes=45)
                pace.append(PizzeriaEvent(pizzeria=pizzeria, kind="busy", minutes=20, at=start, until=until))
    Order.objects.bulk_create(orders, batch_size=500)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=product,
                product_name=product.name,
                quantity=quantity,
                unit_price=product.price,
                vat_rate=Decimal("10.00"),
            )
            for order, picked in zip(orders, lines, strict=True)
            for product, quantity in picked
        ],
        batch_size=500,
    )
    # The moments are the story's, not the moment the test runs.
    with (
        mock.patch.object(OrderEvent._meta.get_field("at"), "auto_now_add", False),
        mock.patch.object(PizzeriaEvent._meta.get_field("at"), "auto_now_add", False),
    ):
        PizzeriaEvent.objects.bulk_create(pace)
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(order=order, type="state_moved", to_state=state, at=moment)
                for order, moments in stamps
                for state, moment in moments
            ],
            batch_size=500,
        )
    facts_refresh(since=today - datetime.timedelta(days=days), until=today - datetime.timedelta(days=1))
