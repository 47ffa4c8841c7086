"""ventes 0015: the lines placed before allergens were kept get those of their recipe, or of their product."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
PRODUCTION = ("production", "0013_opening_exceptions_holidays_past_midnight")
BEFORE = [("ventes", "0014_order_fire_at"), PRODUCTION]
AFTER = [("ventes", "0015_order_line_allergens"), PRODUCTION]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_lines_get_the_allergens_of_what_they_were_made_of():
    old = _migrate(BEFORE)
    try:
        allergen = old.get_model("production", "Allergen")
        # The fourteen are written by a migration of their own; taken as they are there.
        gluten = allergen.objects.get_or_create(code="gluten", defaults={"name": "Gluten"})[0]
        milk = allergen.objects.get_or_create(code="lait", defaults={"name": "Lait"})[0]
        ingredient = old.get_model("production", "Ingredient")
        dough = ingredient.objects.create(name="pâte", unit="piece")
        dough.allergens.add(gluten)
        cheese = ingredient.objects.create(name="mozzarella")
        cheese.allergens.add(milk)
        tomato = ingredient.objects.create(name="tomate")
        product = old.get_model("production", "Product").objects.create(
            name="Margherita", slug="margherita", price=Decimal("9.50"), vat_rate=Decimal("10.00")
        )
        for used, quantity in [(dough, 1), (cheese, 100), (tomato, 80)]:
            old.get_model("production", "RecipeLine").objects.create(
                product=product, ingredient=used, quantity=quantity
            )
        pizzeria = old.get_model("production", "Pizzeria").objects.create(
            name="Bastille",
            slug="bastille",
            code="BAS",
            address="1 rue de Lappe",
            postcode="75011",
            latitude=Decimal("48.853"),
            longitude=Decimal("2.371"),
            phone="01 23 45 67 89",
        )
        order = old.get_model("ventes", "Order").objects.create(
            number="BAS-001",
            pizzeria_id=pizzeria.pk,
            business_date=datetime.date.today(),
            daily_sequence=1,
            customer_name="Camille",
            customer_phone="06 12 34 56 78",
            channel="web",
            fulfilment="pickup",
            state="completed",
            payment_method="cash",
            subtotal=Decimal("9.50"),
            vat_total=Decimal("0.86"),
            total=Decimal("9.50"),
        )
        line = old.get_model("ventes", "OrderLine")
        plain = line.objects.create(
            order=order,
            product=product,
            product_name="Margherita",
            quantity=1,
            unit_price=Decimal("9.50"),
            vat_rate=Decimal("10.00"),
        )
        without_cheese = line.objects.create(
            order=order,
            product=product,
            product_name="Margherita",
            quantity=1,
            unit_price=Decimal("9.50"),
            vat_rate=Decimal("10.00"),
            recipe={str(dough.pk): 1, str(tomato.pk): 80},
        )

        new = _migrate(AFTER)

        migrated = new.get_model("ventes", "OrderLine").objects
        assert migrated.get(pk=plain.pk).allergens == sorted([gluten.name, milk.name])  # its product's recipe
        assert migrated.get(pk=without_cheese.pk).allergens == [gluten.name]  # its own recipe
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
