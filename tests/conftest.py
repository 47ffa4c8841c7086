import gc
import os
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from production.models import Stock
from production.services import stock_line_create
from tests import factories
from ventes.selectors import stock_check_ledger

# A Redis database index of its own: the tests that use it flush it.
TEST_REDIS_URL = "redis://127.0.0.1:6379/13"
# The npm package package.json pins, installed by `npm ci`.
LIGHTHOUSE = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "lighthouse"


def _required(flag: str) -> bool:
    return os.environ.get(flag) == "1"


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config, items):
    """Skip what this machine cannot run, unless CI says it must run."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    checks = {
        "postgres": (on_postgres, "REQUIRE_POSTGRES", "needs DATABASE_URL pointing at PostgreSQL"),
        "e2e": (os.path.exists("/usr/bin/chromium"), "REQUIRE_E2E", "needs Debian's chromium"),
        "nginx": (shutil.which("nginx") is not None, "REQUIRE_NGINX", "needs nginx"),
        "redis": (_redis_answers(), "REQUIRE_REDIS", f"needs Redis at {TEST_REDIS_URL}"),
        "lighthouse": (LIGHTHOUSE.exists(), "REQUIRE_LIGHTHOUSE", "needs Lighthouse (npm ci)"),
    }
    for available, flag, reason in checks.values():
        if not available and _required(flag):
            raise pytest.UsageError(f"{flag}=1 but this run cannot: it {reason}.")
    for item in items:
        for marker, (available, _, reason) in checks.items():
            if marker in item.keywords and not available:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached menus and locks of one test never leak into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _maintenance_off():
    """Requests in tests see the site open without a query, unless a test switches it."""
    from ocpizzapp.maintenance import remember_state

    remember_state(False, ttl=3600)


@pytest.fixture(autouse=True)
def _stream_listener_closed():
    """A stream's LISTEN connection opened in a test goes with it: the test database is dropped at the end."""
    yield
    from ocpizzapp import streams

    if streams._hub is not None:
        readers = streams._hub._readers
        streams._hub.stop()
        streams._hub = None
        if readers is not None:
            # Their threads' connections close once the threads are gone and collected.
            readers.shutdown(wait=True)
            gc.collect()


@pytest.fixture
def pizzeria(db):
    return factories.PizzeriaFactory()


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@dataclass
class Shop:
    """A pizzeria with a small menu whose stock was entered through the ledger."""

    pizzeria: object
    stock: dict
    margherita: object
    regina: object
    beer: object
    other_pizzeria: object

    def level(self, name: str) -> int:
        """What is available of an ingredient: on hand less what orders hold."""
        return Stock.objects.get(pk=self.stock[name].pk).available

    def figures(self, name: str) -> tuple[int, int]:
        """(on hand, reserved) of an ingredient."""
        line = Stock.objects.get(pk=self.stock[name].pk)
        return line.on_hand, line.reserved


@pytest.fixture
def shop(db):
    pizzeria = factories.PizzeriaFactory(name="OC Pizza Bastille", code="BAS", delivery_fee=Decimal("2.50"))
    other = factories.PizzeriaFactory(name="OC Pizza Montmartre", code="MON")
    levels = {"dough": 10, "tomato": 1000, "cheese": 1200, "ham": 300, "beer": 24}
    units = {"dough": "piece", "beer": "piece"}
    stock = {}
    for name, level in levels.items():
        ingredient = factories.IngredientFactory(name=name, unit=units.get(name, "g"))
        stock[name] = stock_line_create(pizzeria=pizzeria, ingredient=ingredient, on_hand=level, low_threshold=2)
        stock_line_create(pizzeria=other, ingredient=ingredient, on_hand=level)

    def product(name, price, recipe, vat="10.00", category="pizza", alcohol=False):
        made = factories.ProductFactory(
            name=name,
            price=Decimal(price),
            vat_rate=Decimal(vat),
            category=category,
            contains_alcohol=alcohol,
            pizzerias=[pizzeria, other],
        )
        for ingredient, quantity in recipe.items():
            factories.RecipeLineFactory(product=made, ingredient=stock[ingredient].ingredient, quantity=quantity)
        return made

    margherita = product("Margherita", "9.50", {"dough": 1, "tomato": 80, "cheese": 100})
    regina = product("Regina", "12.00", {"dough": 1, "tomato": 80, "cheese": 100, "ham": 60})
    beer = product("Peroni", "4.50", {"beer": 1}, vat="20.00", category="drink", alcohol=True)
    return Shop(pizzeria=pizzeria, stock=stock, margherita=margherita, regina=regina, beer=beer, other_pizzeria=other)


def ledger_matches_levels() -> bool:
    """Every line's on-hand is its ledger's sum, its reserved what waiting orders hold (and no other order holds)."""
    return not stock_check_ledger()


ALLERGEN_NAMES = {"gluten": "Gluten", "lait": "Lait", "sulfites": "Anhydride sulfureux et sulfites"}


@dataclass
class OptionsShop:
    """A pizzeria selling a Regina in three sizes, with extras and removable toppings, beside another pizzeria."""

    pizzeria: object
    other_pizzeria: object
    stock: dict
    regina: object
    napoletana: object
    tiramisu: object
    sizes: dict
    extras: dict
    removals: dict
    base: dict
    ingredients: dict

    def figures(self, name: str) -> tuple[int, int]:
        """(on hand, reserved) of an ingredient at the pizzeria."""
        line = Stock.objects.get(pk=self.stock[name].pk)
        return line.on_hand, line.reserved


@pytest.fixture
def options_shop(db):
    from production.models import Allergen, Option, OptionGroup, ProductSize

    pizzeria = factories.PizzeriaFactory(name="OC Pizza Bastille", code="BAS")
    other = factories.PizzeriaFactory(name="OC Pizza Montmartre", code="MON")
    allergens = {"pâte": "gluten", "mozzarella": "lait", "jambon": "sulfites", "crème": "lait"}
    levels = {"pâte": 10_000, "tomate": 5_000, "mozzarella": 2_000, "jambon": 1_000, "champignons": 1_000}
    levels.update({"crème": 1_000, "mascarpone": 1_000})
    ingredients, stock = {}, {}
    for name, level in levels.items():
        ingredient = factories.IngredientFactory(name=name)
        if name in allergens:
            # get_or_create: a transactional test empties the table its migration filled.
            code = allergens[name]
            allergen, _ = Allergen.objects.get_or_create(code=code, defaults={"name": ALLERGEN_NAMES[code]})
            ingredient.allergens.add(allergen)
        ingredients[name] = ingredient
        stock[name] = stock_line_create(pizzeria=pizzeria, ingredient=ingredient, on_hand=level, low_threshold=10)
        stock_line_create(pizzeria=other, ingredient=ingredient, on_hand=level)
    regina = factories.ProductFactory(
        name="Regina", price=Decimal("11.00"), vat_rate=Decimal("10.00"), pizzerias=[pizzeria, other]
    )
    for name, quantity in {"pâte": 250, "tomate": 80, "mozzarella": 100, "jambon": 60, "champignons": 50}.items():
        factories.RecipeLineFactory(product=regina, ingredient=ingredients[name], quantity=quantity)
    sizes = {
        name: ProductSize.objects.create(
            product=regina, name=name, detail=detail, price=Decimal(price), recipe_factor=Decimal(factor), position=i
        )
        for i, (name, detail, price, factor) in enumerate(
            [
                ("Moyenne", "26 cm", "11.00", "1.00"),
                ("Grande", "33 cm", "14.50", "1.50"),
                ("Géante", "40 cm", "18.00", "2.00"),
            ]
        )
    }
    extra = OptionGroup.objects.create(product=regina, name="Suppléments", kind=OptionGroup.EXTRA, max_choices=3)
    extras = {
        name: Option.objects.create(
            group=extra, name=name, price=Decimal(price), ingredient=ingredients[name.lower()], quantity=quantity
        )
        for name, price, quantity in [("Mozzarella", "1.50", 50), ("Jambon", "2.00", 40), ("Champignons", "1.00", 30)]
    }
    removal = OptionGroup.objects.create(product=regina, name="À retirer", kind=OptionGroup.REMOVE, max_choices=3)
    removals = {
        name: Option.objects.create(group=removal, name=name.capitalize(), ingredient=ingredients[name])
        for name in ["champignons", "jambon", "mozzarella"]
    }
    base_group = OptionGroup.objects.create(
        product=regina, name="Base", kind=OptionGroup.CHOICE, min_choices=0, max_choices=1, position=5
    )
    base = {
        "crème": Option.objects.create(
            group=base_group, name="Base crème", price=Decimal("0.50"), ingredient=ingredients["crème"], quantity=60
        )
    }
    napoletana = factories.ProductFactory(
        name="Napoletana", price=Decimal("10.00"), vat_rate=Decimal("10.00"), pizzerias=[pizzeria, other], position=1
    )
    for name, quantity in {"pâte": 250, "tomate": 100, "mozzarella": 80}.items():
        factories.RecipeLineFactory(product=napoletana, ingredient=ingredients[name], quantity=quantity)
    for i, (name, price, factor) in enumerate([("Moyenne", "10.00", "1.00"), ("Grande", "13.00", "1.50")]):
        ProductSize.objects.create(
            product=napoletana, name=name, price=Decimal(price), recipe_factor=Decimal(factor), position=i
        )
    tiramisu = factories.ProductFactory(
        name="Tiramisu", price=Decimal("5.00"), vat_rate=Decimal("5.50"), category="dessert", pizzerias=[pizzeria]
    )
    factories.RecipeLineFactory(product=tiramisu, ingredient=ingredients["mascarpone"], quantity=80)
    return OptionsShop(
        pizzeria=pizzeria,
        other_pizzeria=other,
        stock=stock,
        regina=regina,
        napoletana=napoletana,
        tiramisu=tiramisu,
        sizes=sizes,
        extras=extras,
        removals=removals,
        base=base,
        ingredients=ingredients,
    )
