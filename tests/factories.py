"""factory_boy factories for the models of every app."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from production.models import (
    Ingredient,
    OpeningHours,
    Option,
    OptionGroup,
    Pizzeria,
    Product,
    ProductSize,
    RecipeLine,
    RecipeStep,
    StaffMember,
    Stock,
    StockMovement,
)
from ventes.models import Address, Customer, Order, OrderLine


def base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return digits[number] if number < 36 else base36(number // 36) + digits[number % 36]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Camille"
    last_name = "Martin"
    password = factory.django.Password("motdepasse-solide")


class PizzeriaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pizzeria
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"OC Pizza {n}")
    slug = factory.Sequence(lambda n: f"pizzeria-{n}")
    # Order-number prefixes have four characters: count in base 36 so that a whole suite never runs out.
    code = factory.Sequence(lambda n: "P" + base36(n % 36**3).rjust(3, "0"))
    address = "1 rue de Rivoli"
    postcode = "75001"
    latitude = Decimal("48.856000")
    longitude = Decimal("2.352000")
    phone = "01 23 45 67 89"
    served_postcodes = "75001,75002"

    @factory.post_generation
    def open_all_week(obj, create, extracted, **kwargs):
        """Open every day from midnight to 23:59 unless told otherwise."""
        if create and extracted is not False:
            OpeningHours.objects.bulk_create(
                OpeningHours(pizzeria=obj, weekday=day, opens=datetime.time(0, 0), closes=datetime.time(23, 59))
                for day in range(7)
            )


class IngredientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ingredient

    name = factory.Sequence(lambda n: f"Ingrédient {n}")
    unit = Ingredient.GRAM


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    pizzeria = factory.SubFactory(PizzeriaFactory)
    ingredient = factory.SubFactory(IngredientFactory)
    on_hand = 1000
    low_threshold = 100

    @factory.post_generation
    def opening_count(self, create, extracted, **kwargs):
        # The ledger explains the line from the start, as ``stock_line_create`` does.
        if create and self.on_hand:
            StockMovement.objects.create(stock=self, kind=StockMovement.INVENTORY, on_hand_delta=self.on_hand)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pizza {n}")
    slug = factory.Sequence(lambda n: f"pizza-{n}")
    category = Product.PIZZA
    oven_load = factory.LazyAttribute(lambda product: 1 if product.category == Product.PIZZA else 0)
    price = Decimal("12.00")
    vat_rate = Decimal("10.00")
    contains_alcohol = False

    @factory.post_generation
    def pizzerias(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.pizzerias.add(*extracted)


class RecipeLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecipeLine

    product = factory.SubFactory(ProductFactory)
    ingredient = factory.SubFactory(IngredientFactory)
    quantity = 100


class ProductSizeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductSize

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Taille {n}")
    price = Decimal("12.00")
    recipe_factor = Decimal("1.00")


class OptionGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OptionGroup

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Groupe {n}")
    kind = OptionGroup.EXTRA
    max_choices = 3


class OptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Option

    group = factory.SubFactory(OptionGroupFactory)
    name = factory.Sequence(lambda n: f"Option {n}")
    price = Decimal("1.00")


class RecipeStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecipeStep

    product = factory.SubFactory(ProductFactory)
    position = factory.Sequence(lambda n: n + 1)
    text = "Étaler la pâte."


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    user = factory.SubFactory(UserFactory)
    role = StaffMember.PIZZAIOLO
    pizzeria = factory.SubFactory(PizzeriaFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    phone = "06 12 34 56 78"


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    line1 = "8 rue Keller"
    postcode = "75001"
    latitude = Decimal("48.857000")
    longitude = Decimal("2.353000")


class OrderFactory(factory.django.DjangoModelFactory):
    """A bare order row, for model tests; real orders come from the order service."""

    class Meta:
        model = Order

    pizzeria = factory.SubFactory(PizzeriaFactory)
    business_date = factory.LazyFunction(timezone.localdate)
    daily_sequence = factory.Sequence(lambda n: n + 1)
    number = factory.LazyAttribute(lambda o: f"{o.pizzeria.code}-{o.business_date:%y%m%d}-{o.daily_sequence:03d}")
    customer_name = "Camille Martin"
    customer_phone = "06 12 34 56 78"
    channel = "web"
    fulfilment = "pickup"
    payment_method = "cash"
    subtotal = Decimal("12.00")
    vat_total = Decimal("1.09")
    total = Decimal("12.00")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda o: o.product.name)
    quantity = 1
    unit_price = Decimal("12.00")
    vat_rate = Decimal("10.00")
