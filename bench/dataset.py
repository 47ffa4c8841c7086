"""The benchmark's data set: a chain of ``pizzerias`` shops offering ``products``
pizzas each, with stock, staff, open orders in the kitchens and, on
PostgreSQL, ``history`` past orders generated in bulk by SQL (four events each,
as the screens write them) and the reports' facts summed from them."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from production.models import (
    Ingredient,
    OpeningHours,
    Pizzeria,
    Product,
    RecipeLine,
    StaffMember,
    Stock,
    StockMovement,
)
from production.services import role_groups_sync, staff_member_upsert
from ventes.models import Channel, Fulfilment, PaymentMethod
from ventes.reports import facts_refresh_period
from ventes.services import LineRequest, OrderRequest, order_place

INGREDIENTS = 40
RECIPE_SIZE = 5
BENCH_PASSWORD = "bench-password"
# Enough stock for every scenario's orders, so that only the race for the
# "last portions" product ever runs out.
PLENTY = 10_000_000


@dataclass(frozen=True)
class Dataset:
    pizzerias: int
    products: int
    history: int
    open_orders: int = 50

    @classmethod
    def small(cls):
        return cls(pizzerias=5, products=20, history=2_000)

    @classmethod
    def large(cls):
        return cls(pizzerias=500, products=50, history=1_000_000)


@transaction.atomic
def catalogue_create(*, size: Dataset) -> None:
    ingredients = Ingredient.objects.bulk_create(Ingredient(name=f"Ingrédient {i:03d}") for i in range(INGREDIENTS))
    products = Product.objects.bulk_create(
        Product(
            name=f"Pizza {i:03d}",
            slug=f"pizza-{i:03d}",
            price=Decimal("9.50") + i % 7,
            vat_rate=Decimal("10.00"),
            position=i,
        )
        for i in range(size.products)
    )
    RecipeLine.objects.bulk_create(
        RecipeLine(product=product, ingredient=ingredients[(p + k * 7) % INGREDIENTS], quantity=10 + k)
        for p, product in enumerate(products)
        for k in range(RECIPE_SIZE)
    )
    pizzerias = Pizzeria.objects.bulk_create(
        Pizzeria(
            name=f"OC Pizza {i:03d}",
            slug=f"pizzeria-{i:03d}",
            code=f"B{i:03d}",
            address=f"{i + 1} rue de Rivoli",
            postcode="75001",
            latitude=Decimal("48.856000"),
            longitude=Decimal("2.352000"),
            phone="01 23 45 67 89",
            ovens=4,
        )
        for i in range(size.pizzerias)
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(pizzeria=pizzeria, weekday=day, opens=datetime.time(0, 0), closes=datetime.time(23, 59))
        for pizzeria in pizzerias
        for day in range(7)
    )
    Through = Product.pizzerias.through
    Through.objects.bulk_create(
        Through(product_id=product.pk, pizzeria_id=pizzeria.pk) for pizzeria in pizzerias for product in products
    )
    stock = Stock.objects.bulk_create(
        Stock(pizzeria=pizzeria, ingredient=ingredient, on_hand=PLENTY, low_threshold=100)
        for pizzeria in pizzerias
        for ingredient in ingredients
    )
    # Opening inventory in the ledger, so that every line's ledger sums to its figures.
    StockMovement.objects.bulk_create(
        StockMovement(stock=line, kind=StockMovement.INVENTORY, on_hand_delta=PLENTY) for line in stock
    )
    role_groups_sync()
    staff_member_upsert(
        email="pizzaiolo.bench@ocpizza.fr", role=StaffMember.PIZZAIOLO, pizzeria=pizzerias[0], password=BENCH_PASSWORD
    )
    staff_member_upsert(
        email="manager.bench@ocpizza.fr", role=StaffMember.MANAGER, pizzeria=None, password=BENCH_PASSWORD
    )


def open_orders_create(*, size: Dataset) -> list[str]:
    """Orders waiting in the first pizzeria's kitchen, placed through the real service."""
    pizzeria = Pizzeria.objects.order_by("pk")[0]
    products = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:3])
    return [
        order_place(
            request=OrderRequest(
                pizzeria=pizzeria,
                lines=[LineRequest(products[i % 3], 1 + i % 2)],
                channel=Channel.WEB,
                fulfilment=Fulfilment.PICKUP,
                payment_method=PaymentMethod.CASH,
                customer_name=f"Client {i}",
                customer_phone="06 12 34 56 78",
            )
        ).number
        for i in range(size.open_orders)
    ]


HISTORY_SQL = """
INSERT INTO ventes_order (
    number, pizzeria_id, business_date, daily_sequence, customer_name, customer_phone, customer_email,
    channel, fulfilment, delivery_address, delivery_postcode, delivery_city, delivery_instructions, note,
    state, payment_method, payment_state, subtotal, vat_total, delivery_fee, total, cancel_reason,
    notify_email, sms_phone, oven_load, created_at, updated_at
)
SELECT
    'H' || p.code || '-' || g, p.id, (%(day)s::date - (g %% 365)), 100000 + g,
    'Client ' || g, '06 00 00 00 00', '',
    -- A trade as the reports see it: three channels, half delivered, one order in 25 cancelled.
    (ARRAY['web', 'web', 'phone', 'counter'])[1 + g %% 4],
    CASE WHEN g %% 2 = 0 THEN 'delivery' ELSE 'pickup' END,
    CASE WHEN g %% 2 = 0 THEN '1 rue de Rivoli' ELSE '' END, '', '', '', '',
    CASE WHEN g %% 25 = 0 THEN 'cancelled' ELSE 'completed' END, 'cash', 'paid', 12.00, 1.09, 0, 12.00,
    CASE WHEN g %% 25 = 0 THEN 'customer' ELSE '' END, true, '', 1,
    %(now)s - ((g %% 365) || ' days')::interval, %(now)s - ((g %% 365) || ' days')::interval
FROM generate_series(1, %(count)s) AS g
JOIN production_pizzeria p ON p.id = (SELECT min(id) FROM production_pizzeria) + (g %% %(pizzerias)s);

INSERT INTO ventes_orderline (order_id, product_id, product_name, quantity, unit_price, vat_rate,
                              options, description, recipe, allergens, formula)
SELECT o.id, p.id, p.name, 1, 12.00, 10.00, '[]', '', '{}', '[]', '{}'
FROM ventes_order o
JOIN production_product p ON p.id = (SELECT min(id) FROM production_product) + (o.id %% %(products)s)
WHERE o.number LIKE 'H%%';

-- Four events per past order, as the kitchen, the counter and the riders wrote them: placed, in the oven, ready,
-- handed over; a cancelled order was placed, edited twice, then cancelled.
INSERT INTO ventes_orderevent (order_id, type, from_state, to_state, params, at, by_id, note)
SELECT o.id, e.type, e.from_state, e.to_state, '{}', o.created_at + e.after, NULL, ''
FROM ventes_order o
CROSS JOIN LATERAL (
    SELECT * FROM (VALUES
        ('placed', '', 'received', interval '0 minutes', 1),
        ('state_moved', 'received', 'preparing', interval '6 minutes', 2),
        ('state_moved', 'preparing', 'ready', interval '18 minutes', 3),
        ('state_moved', 'ready', 'completed', interval '35 minutes', 4)
    ) AS done (type, from_state, to_state, after, step)
    WHERE o.state = 'completed'
    UNION ALL
    SELECT * FROM (VALUES
        ('placed', '', 'received', interval '0 minutes', 1),
        ('lines_edited', '', '', interval '2 minutes', 2),
        ('lines_edited', '', '', interval '3 minutes', 3),
        ('state_moved', 'received', 'cancelled', interval '4 minutes', 4)
    ) AS undone (type, from_state, to_state, after, step)
    WHERE o.state = 'cancelled'
) AS e
WHERE o.number LIKE 'H%%'
ORDER BY o.id, e.step;
"""


def history_create(*, size: Dataset) -> None:
    """Past orders in bulk: PostgreSQL builds them itself, a million in seconds."""
    if connection.vendor != "postgresql" or not size.history:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            HISTORY_SQL,
            {
                "count": size.history,
                "pizzerias": size.pizzerias,
                "products": size.products,
                "day": timezone.localdate(),
                "now": timezone.now(),
            },
        )
        cursor.execute("ANALYZE")


def facts_create(*, size: Dataset) -> None:
    """The reports' facts of the past year, as the daily update writes them day after day."""
    if connection.vendor != "postgresql" or not size.history:
        return
    today = timezone.localdate()
    facts_refresh_period(since=today - datetime.timedelta(days=365), until=today - datetime.timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ventes_salesfact")
        cursor.execute("ANALYZE ventes_salesfactcount")


def dataset_create(*, size: Dataset) -> list[str]:
    catalogue_create(size=size)
    history_create(size=size)
    facts_create(size=size)
    return open_orders_create(size=size)
