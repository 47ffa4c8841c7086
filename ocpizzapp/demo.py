"""Demo data: a small Paris chain, its menu, its stock and one account per role.

Idempotent: every row is looked up by its natural key, so a second run changes
nothing and stock levels already moved by orders are left as they are.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from production.models import (
    Allergen,
    Formula,
    FormulaChoice,
    FormulaSlot,
    FormulaWindow,
    Ingredient,
    MenuOverride,
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
    Supplier,
    SupplierItem,
)
from production.services import role_groups_sync, staff_member_upsert, stock_line_create
from ventes.models import Address, Customer

DEMO_PASSWORD = "ocpizza-demo"

PIZZERIAS = [
    {
        "slug": "bastille",
        "code": "BAS",
        "name": "OC Pizza Bastille",
        "address": "12 rue de la Roquette",
        "postcode": "75011",
        "latitude": Decimal("48.853900"),
        "longitude": Decimal("2.372000"),
        "phone": "01 43 55 12 12",
        "served_postcodes": "75003,75004,75011,75012,75020",
    },
    {
        "slug": "montmartre",
        "code": "MON",
        "name": "OC Pizza Montmartre",
        "address": "34 rue des Abbesses",
        "postcode": "75018",
        "latitude": Decimal("48.884600"),
        "longitude": Decimal("2.337600"),
        "phone": "01 42 58 34 34",
        "served_postcodes": "75009,75017,75018",
    },
    {
        "slug": "montparnasse",
        "code": "MOP",
        "name": "OC Pizza Montparnasse",
        "address": "18 rue de la Gaîté",
        "postcode": "75014",
        "latitude": Decimal("48.839900"),
        "longitude": Decimal("2.324000"),
        "phone": "01 43 20 18 18",
        "served_postcodes": "75006,75014,75015",
    },
]

LUNCH = (datetime.time(11, 30), datetime.time(14, 30))
DINNER = (datetime.time(18, 30), datetime.time(23, 0))
# Monday evenings only; late dinner on Friday and Saturday.
WEEK = {
    OpeningHours.MONDAY: [DINNER],
    OpeningHours.TUESDAY: [LUNCH, DINNER],
    OpeningHours.WEDNESDAY: [LUNCH, DINNER],
    OpeningHours.THURSDAY: [LUNCH, DINNER],
    OpeningHours.FRIDAY: [LUNCH, (datetime.time(18, 30), datetime.time(23, 30))],
    OpeningHours.SATURDAY: [(datetime.time(11, 30), datetime.time(23, 30))],
    OpeningHours.SUNDAY: [(datetime.time(18, 0), datetime.time(22, 30))],
}

G, ML, PC = Ingredient.GRAM, Ingredient.MILLILITRE, Ingredient.PIECE
# name: (unit, allergen codes, usual stock level, low threshold)
INGREDIENTS = {
    "Pâton de pâte à pizza": (PC, ["gluten"], 120, 20),
    "Sauce tomate San Marzano": (ML, [], 12000, 2000),
    "Crème fraîche": (ML, ["lait"], 5000, 800),
    "Mozzarella fior di latte": (G, ["lait"], 10000, 1500),
    "Mozzarella di bufala": (G, ["lait"], 3000, 500),
    "Gorgonzola": (G, ["lait"], 2000, 300),
    "Parmigiano Reggiano": (G, ["lait"], 2000, 300),
    "Fromage de chèvre": (G, ["lait"], 2500, 400),
    "Jambon blanc": (G, [], 4000, 600),
    "Jambon de Parme": (G, [], 2500, 400),
    "Chorizo": (G, [], 2500, 400),
    "Lardons fumés": (G, [], 3000, 500),
    "Thon": (G, ["poissons"], 2000, 300),
    "Anchois": (G, ["poissons"], 800, 150),
    "Champignons de Paris": (G, [], 4000, 600),
    "Poivrons grillés": (G, [], 3000, 500),
    "Oignons rouges": (G, [], 3000, 500),
    "Olives noires": (G, [], 2000, 300),
    "Câpres": (G, [], 600, 100),
    "Artichauts marinés": (G, ["sulfites"], 2000, 300),
    "Roquette": (G, [], 1500, 250),
    "Tomates cerises": (G, [], 3000, 500),
    "Pommes de terre": (G, [], 5000, 800),
    "Œuf": (PC, ["oeufs"], 60, 12),
    "Miel": (G, [], 1000, 150),
    "Noix": (G, ["fruits-a-coque"], 800, 120),
    "Basilic frais": (G, [], 400, 60),
    "Origan": (G, [], 300, 40),
    "Huile d'olive extra vierge": (ML, [], 5000, 800),
    "Piment d'Espelette": (G, [], 200, 30),
    "Coca-Cola 33 cl": (PC, [], 96, 24),
    "Eau pétillante San Pellegrino 50 cl": (PC, [], 72, 18),
    "Limonade artisanale 33 cl": (PC, [], 48, 12),
    "Bière Peroni 33 cl": (PC, ["gluten"], 48, 12),
    "Tiramisu": (PC, ["gluten", "oeufs", "lait"], 20, 5),
    "Panna cotta fruits rouges": (PC, ["lait"], 20, 5),
    "Fondant au chocolat": (PC, ["gluten", "oeufs", "lait", "soja"], 20, 5),
}

BASE_TOMATO = {"Pâton de pâte à pizza": 1, "Sauce tomate San Marzano": 90, "Mozzarella fior di latte": 120}
BASE_CREAM = {"Pâton de pâte à pizza": 1, "Crème fraîche": 80, "Mozzarella fior di latte": 110}
TOMATO_STEPS = [
    "Étaler le pâton à la main en disque de 31 cm, bord de 2 cm.",
    "Napper de sauce tomate à la louche, en spirale, sans toucher le bord.",
]
CREAM_STEPS = [
    "Étaler le pâton à la main en disque de 31 cm, bord de 2 cm.",
    "Étaler la crème fraîche en couche fine, sans toucher le bord.",
]
BAKE = "Enfourner 90 secondes à 450 °C en tournant à mi-cuisson."

# name: (price, base recipe, extra ingredients, base steps, topping steps, final steps, description)
PIZZAS = [
    (
        "Margherita",
        "9.50",
        BASE_TOMATO,
        {"Basilic frais": 3, "Huile d'olive extra vierge": 10},
        TOMATO_STEPS,
        ["Répartir la mozzarella en morceaux."],
        [BAKE, "Ajouter le basilic frais et un filet d'huile d'olive."],
        "Sauce tomate, mozzarella fior di latte, basilic, huile d'olive.",
    ),
    (
        "Regina",
        "12.00",
        BASE_TOMATO,
        {"Jambon blanc": 70, "Champignons de Paris": 60, "Origan": 1},
        TOMATO_STEPS,
        ["Répartir la mozzarella, le jambon en lanières et les champignons émincés."],
        [BAKE, "Parsemer d'origan."],
        "Tomate, mozzarella, jambon blanc, champignons de Paris, origan.",
    ),
    (
        "Napoletana",
        "11.00",
        BASE_TOMATO,
        {"Anchois": 25, "Câpres": 10, "Olives noires": 20, "Origan": 1},
        TOMATO_STEPS,
        ["Répartir la mozzarella, les anchois, les câpres et les olives."],
        [BAKE],
        "Tomate, mozzarella, anchois, câpres, olives noires, origan.",
    ),
    (
        "Quatre fromages",
        "13.50",
        BASE_CREAM,
        {"Gorgonzola": 50, "Parmigiano Reggiano": 30, "Fromage de chèvre": 40},
        CREAM_STEPS,
        ["Répartir la mozzarella, le gorgonzola en noisettes et le chèvre en rondelles."],
        [BAKE, "Râper le parmesan à la sortie du four."],
        "Crème, mozzarella, gorgonzola, chèvre, parmesan.",
    ),
    (
        "Chèvre-miel",
        "12.50",
        BASE_CREAM,
        {"Fromage de chèvre": 80, "Miel": 15, "Noix": 15},
        CREAM_STEPS,
        ["Répartir la mozzarella et le chèvre en rondelles, parsemer de noix concassées."],
        [BAKE, "Arroser de miel en filet."],
        "Crème, mozzarella, chèvre, miel, noix.",
    ),
    (
        "Calzone",
        "13.00",
        BASE_TOMATO,
        {"Jambon blanc": 70, "Champignons de Paris": 50, "Œuf": 1},
        TOMATO_STEPS,
        [
            "Garnir une moitié de mozzarella, jambon, champignons et casser l'œuf au centre.",
            "Replier en chausson et souder le bord en le pinçant.",
        ],
        ["Enfourner 2 minutes à 430 °C.", "Badigeonner d'huile d'olive."],
        "Chausson : tomate, mozzarella, jambon, champignons, œuf.",
    ),
    (
        "Diavola",
        "12.50",
        BASE_TOMATO,
        {"Chorizo": 60, "Piment d'Espelette": 1, "Olives noires": 15},
        TOMATO_STEPS,
        ["Répartir la mozzarella, le chorizo en rondelles fines et les olives."],
        [BAKE, "Saupoudrer de piment d'Espelette."],
        "Tomate, mozzarella, chorizo, olives, piment d'Espelette.",
    ),
    (
        "Parma",
        "14.50",
        BASE_TOMATO,
        {"Jambon de Parme": 60, "Roquette": 20, "Parmigiano Reggiano": 20},
        TOMATO_STEPS,
        ["Répartir la mozzarella."],
        [BAKE, "Déposer le jambon de Parme, la roquette et des copeaux de parmesan après cuisson."],
        "Tomate, mozzarella, jambon de Parme, roquette, parmesan.",
    ),
    (
        "Tonno",
        "12.00",
        BASE_TOMATO,
        {"Thon": 70, "Oignons rouges": 30, "Olives noires": 15},
        TOMATO_STEPS,
        ["Répartir la mozzarella, le thon émietté, les oignons en lamelles et les olives."],
        [BAKE],
        "Tomate, mozzarella, thon, oignons rouges, olives.",
    ),
    (
        "Végétarienne",
        "12.00",
        BASE_TOMATO,
        {"Poivrons grillés": 50, "Champignons de Paris": 40, "Oignons rouges": 25, "Artichauts marinés": 40},
        TOMATO_STEPS,
        ["Répartir la mozzarella puis les légumes de façon régulière."],
        [BAKE],
        "Tomate, mozzarella, poivrons, champignons, oignons rouges, artichauts.",
    ),
    (
        "Savoyarde",
        "13.50",
        BASE_CREAM,
        {"Pommes de terre": 100, "Lardons fumés": 60, "Oignons rouges": 20},
        CREAM_STEPS,
        ["Répartir les pommes de terre en rondelles, les lardons et les oignons, puis la mozzarella."],
        [BAKE],
        "Crème, mozzarella, pommes de terre, lardons, oignons.",
    ),
    (
        "Bufalina",
        "14.00",
        {"Pâton de pâte à pizza": 1, "Sauce tomate San Marzano": 90, "Mozzarella di bufala": 125},
        {"Tomates cerises": 60, "Basilic frais": 3, "Huile d'olive extra vierge": 10},
        TOMATO_STEPS,
        ["Répartir les tomates cerises coupées en deux."],
        [BAKE, "Déposer la burrata de bufflonne déchirée, le basilic et l'huile d'olive."],
        "Tomate, mozzarella di bufala, tomates cerises, basilic.",
    ),
    (
        "Carbonara",
        "13.00",
        BASE_CREAM,
        {"Lardons fumés": 70, "Œuf": 1, "Parmigiano Reggiano": 20},
        CREAM_STEPS,
        ["Répartir la mozzarella et les lardons, casser l'œuf au centre."],
        [BAKE, "Râper le parmesan à la sortie du four."],
        "Crème, mozzarella, lardons, œuf, parmesan.",
    ),
]

# name: (category, price, VAT rate, stock ingredient, description)
# Meal vouchers do not pay for these.
ALCOHOLIC = {"Peroni"}
OTHER_PRODUCTS = [
    ("Coca-Cola", Product.DRINK, "3.00", "10.00", "Coca-Cola 33 cl", "Canette 33 cl."),
    ("San Pellegrino", Product.DRINK, "3.50", "10.00", "Eau pétillante San Pellegrino 50 cl", "Bouteille 50 cl."),
    ("Limonade artisanale", Product.DRINK, "3.50", "10.00", "Limonade artisanale 33 cl", "Bouteille 33 cl."),
    ("Peroni", Product.DRINK, "4.50", "20.00", "Bière Peroni 33 cl", "Bière blonde italienne, 33 cl, 5,1 % vol."),
    ("Tiramisu", Product.DESSERT, "5.50", "10.00", "Tiramisu", "Fait maison, au mascarpone et café."),
    ("Panna cotta", Product.DESSERT, "5.00", "10.00", "Panna cotta fruits rouges", "Coulis de fruits rouges."),
    ("Fondant au chocolat", Product.DESSERT, "5.50", "10.00", "Fondant au chocolat", "Cœur coulant."),
]

# At Montmartre the Quatre fromages is sold out and only two Chèvre-miel can still be made.
SHORT_STOCK = {("montmartre", "Gorgonzola"): 0, ("montmartre", "Fromage de chèvre"): 160}

# Two suppliers: (name, e-mail, phone, lead time in days, items as (ingredient, reference, pack, pack size, price)).
SUPPLIERS = [
    (
        "Latteria Napoletana",
        "commandes@latteria-napoletana.example",
        "01 48 00 12 34",
        2,
        [
            ("Mozzarella fior di latte", "FDL-25", "sac de 2,5 kg", 2500, "18.50"),
            ("Mozzarella di bufala", "BUF-10", "boîte de 1 kg", 1000, "16.90"),
            ("Gorgonzola", "GOR-15", "demi-meule de 1,5 kg", 1500, "21.00"),
            ("Parmigiano Reggiano", "PAR-10", "bloc de 1 kg", 1000, "19.80"),
            ("Crème fraîche", "CRE-50", "seau de 5 L", 5000, "14.50"),
        ],
    ),
    (
        "Italia Épicerie Import",
        "achats@italia-epicerie.example",
        "01 43 00 56 78",
        3,
        [
            ("Pâton de pâte à pizza", "PAT-60", "caisse de 60 pâtons", 60, "21.00"),
            ("Sauce tomate San Marzano", "SMZ-50", "bidon de 5 L", 5000, "11.80"),
            ("Olives noires", "OLN-20", "seau de 2 kg", 2000, "13.40"),
            ("Jambon de Parme", "PRM-05", "barquette de 500 g", 500, "12.90"),
            ("Huile d'olive extra vierge", "HOV-50", "bidon de 5 L", 5000, "38.00"),
            ("Coca-Cola 33 cl", "COC-24", "pack de 24 canettes", 24, "13.20"),
        ],
    ),
]

CUSTOMER_EMAIL = "client@example.com"
MANAGER_EMAIL = "manager@ocpizza.fr"


@dataclass
class DemoLogin:
    email: str
    role: str
    pizzeria: str


# Every pizza in three sizes: (name, diameter, price change from the pizza's own price, recipe factor).
# The recipe is written for the Grande; a Géante takes a double pâton (factors round up).
SIZES = [
    ("Moyenne", "26 cm", "-2.00", "0.75"),
    ("Grande", "31 cm", "0.00", "1.00"),
    ("Géante", "40 cm", "4.50", "1.60"),
]
# Extras offered on every pizza: (name, ingredient, quantity for a Grande, price).
EXTRAS = [
    ("Mozzarella", "Mozzarella fior di latte", 60, "1.50"),
    ("Mozzarella di bufala", "Mozzarella di bufala", 60, "2.50"),
    ("Jambon de Parme", "Jambon de Parme", 40, "2.50"),
    ("Chorizo", "Chorizo", 40, "2.00"),
    ("Champignons", "Champignons de Paris", 40, "1.00"),
    ("Olives noires", "Olives noires", 20, "1.00"),
    ("Œuf", "Œuf", 1, "1.00"),
    ("Roquette", "Roquette", 15, "1.00"),
]
EXTRAS_MAX = 4
# What a customer may ask to leave off, when the pizza has it: its dough, sauce and cheese base stay.
REMOVABLE = [
    "Champignons de Paris",
    "Jambon blanc",
    "Oignons rouges",
    "Olives noires",
    "Anchois",
    "Câpres",
    "Poivrons grillés",
    "Roquette",
    "Origan",
    "Basilic frais",
    "Chorizo",
    "Lardons fumés",
    "Piment d'Espelette",
    "Miel",
    "Noix",
]
# Two formulas, sold everywhere: (name, description, price, size of the pizza, days, from, to).
FORMULAS = [
    (
        "Formule midi",
        "Une pizza moyenne, une boisson et un dessert.",
        "14.90",
        "Moyenne",
        range(0, 5),
        datetime.time(11, 30),
        datetime.time(14, 0),
    ),
    (
        "Formule du soir",
        "Une grande pizza, une boisson et un dessert.",
        "21.90",
        "Grande",
        range(0, 7),
        datetime.time(18, 30),
        datetime.time(22, 30),
    ),
]
# Montmartre sets its own prices: Géantes a euro dearer, and no bufala extra.
OWN_PRICES_SLUG = "montmartre"


STAFF_FIRST_NAMES = {
    StaffMember.PIZZAIOLO: ["Giuseppe", "Lucia", "Marco", "Chiara"],
    StaffMember.RIDER: ["Karim", "Inès", "Théo", "Awa"],
    StaffMember.COUNTER: ["Léa", "Hugo", "Sofia", "Nathan"],
}


def demo_slug(name: str) -> str:
    from django.utils.text import slugify

    return slugify(name)


def _sizes_and_options(*, product: Product, ingredients: dict[str, Ingredient]) -> None:
    """A pizza's three sizes, its extras, and the toppings of its recipe a customer may take off."""
    for position, (name, detail, change, factor) in enumerate(SIZES):
        ProductSize.objects.update_or_create(
            product=product,
            name=name,
            defaults={
                "detail": detail,
                "price": product.price + Decimal(change),
                "recipe_factor": Decimal(factor),
                "position": position,
            },
        )
    extras, _ = OptionGroup.objects.update_or_create(
        product=product,
        name="Suppléments",
        defaults={"kind": OptionGroup.EXTRA, "min_choices": 0, "max_choices": EXTRAS_MAX, "position": 1},
    )
    for position, (name, ingredient_name, quantity, price) in enumerate(EXTRAS):
        Option.objects.update_or_create(
            group=extras,
            name=name,
            defaults={
                "ingredient": ingredients[ingredient_name],
                "quantity": quantity,
                "price": Decimal(price),
                "position": position,
            },
        )
    on_it = set(product.recipe_lines.values_list("ingredient__name", flat=True))
    removable = [name for name in REMOVABLE if name in on_it]
    if not removable:
        return
    removals, _ = OptionGroup.objects.update_or_create(
        product=product,
        name="À retirer",
        defaults={"kind": OptionGroup.REMOVE, "min_choices": 0, "max_choices": len(removable), "position": 2},
    )
    for position, name in enumerate(removable):
        label = name.removesuffix(" de Paris").removesuffix(" frais").removesuffix(" fumés")
        Option.objects.update_or_create(
            group=removals, name=label, defaults={"ingredient": ingredients[name], "quantity": 0, "position": position}
        )


def _formulas(*, products: list[Product], pizzerias: list[Pizzeria]) -> None:
    """The formulas: a pizza of the menu in one size, a drink and a dessert, at a set price, in their hours."""
    by_category = {
        category: [product for product in products if product.category == category]
        for category, _label in Product.CATEGORIES
    }
    for position, (name, description, price, size_name, days, starts, ends) in enumerate(FORMULAS):
        formula, _ = Formula.objects.update_or_create(
            name=name, defaults={"description": description, "price": Decimal(price), "position": position}
        )
        formula.pizzerias.add(*pizzerias)
        for weekday in days:
            FormulaWindow.objects.update_or_create(
                formula=formula, weekday=weekday, starts=starts, defaults={"ends": ends}
            )
        sizes = {size.product_id: size for size in ProductSize.objects.filter(name=size_name)}
        for slot_position, (slot_name, category) in enumerate(
            [("Pizza", Product.PIZZA), ("Boisson", Product.DRINK), ("Dessert", Product.DESSERT)]
        ):
            slot, _ = FormulaSlot.objects.update_or_create(
                formula=formula, name=slot_name, defaults={"position": slot_position}
            )
            for choice_position, product in enumerate(by_category[category]):
                FormulaChoice.objects.update_or_create(
                    slot=slot,
                    product=product,
                    size=sizes.get(product.pk),
                    defaults={"position": choice_position},
                )


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    allergens = {allergen.code: allergen for allergen in Allergen.objects.all()}

    pizzerias = []
    for data in PIZZERIAS:
        pizzeria, _ = Pizzeria.objects.update_or_create(slug=data["slug"], defaults=data)
        for weekday, ranges in WEEK.items():
            for opens, closes in ranges:
                OpeningHours.objects.get_or_create(
                    pizzeria=pizzeria, weekday=weekday, opens=opens, defaults={"closes": closes}
                )
        pizzerias.append(pizzeria)

    ingredients = {}
    for name, (unit, allergen_codes, _, _) in INGREDIENTS.items():
        ingredient, _ = Ingredient.objects.update_or_create(name=name, defaults={"unit": unit})
        ingredient.allergens.set([allergens[code] for code in allergen_codes])
        ingredients[name] = ingredient

    existing_lines = set(Stock.objects.values_list("pizzeria_id", "ingredient_id"))
    for pizzeria in pizzerias:
        for name, (_, _, level, threshold) in INGREDIENTS.items():
            ingredient = ingredients[name]
            if (pizzeria.pk, ingredient.pk) not in existing_lines:
                stock_line_create(
                    pizzeria=pizzeria,
                    ingredient=ingredient,
                    on_hand=SHORT_STOCK.get((pizzeria.slug, name), level),
                    low_threshold=threshold,
                )

    # Each supplied ingredient held at its opening level; a par level a manager changed since is kept.
    for name, email, phone, lead_time_days, items in SUPPLIERS:
        supplier, _ = Supplier.objects.update_or_create(
            name=name, defaults={"email": email, "phone": phone, "lead_time_days": lead_time_days}
        )
        for ingredient_name, reference, pack_label, pack_size, price in items:
            SupplierItem.objects.update_or_create(
                supplier=supplier,
                ingredient=ingredients[ingredient_name],
                defaults={
                    "reference": reference,
                    "pack_label": pack_label,
                    "pack_size": pack_size,
                    "pack_price": Decimal(price),
                },
            )
            Stock.objects.filter(ingredient=ingredients[ingredient_name], par_level__isnull=True).update(
                par_level=INGREDIENTS[ingredient_name][2]
            )

    products = []
    for position, (name, price, base, extra, base_steps, topping_steps, final_steps, description) in enumerate(PIZZAS):
        product, _ = Product.objects.update_or_create(
            slug=demo_slug(name),
            defaults={
                "name": name,
                "category": Product.PIZZA,
                "price": Decimal(price),
                "vat_rate": Decimal("10.00"),
                "description": description,
                "position": position,
                "picture": demo_slug(name),
            },
        )
        for ingredient_name, quantity in {**base, **extra}.items():
            RecipeLine.objects.update_or_create(
                product=product, ingredient=ingredients[ingredient_name], defaults={"quantity": quantity}
            )
        for step_position, text in enumerate([*base_steps, *topping_steps, *final_steps], start=1):
            RecipeStep.objects.update_or_create(product=product, position=step_position, defaults={"text": text})
        products.append(product)
    for product in products:
        _sizes_and_options(product=product, ingredients=ingredients)
    for position, (name, category, price, vat_rate, stock_name, description) in enumerate(OTHER_PRODUCTS):
        product, _ = Product.objects.update_or_create(
            slug=demo_slug(name),
            defaults={
                "name": name,
                "category": category,
                "price": Decimal(price),
                "vat_rate": Decimal(vat_rate),
                "contains_alcohol": name in ALCOHOLIC,
                "oven_load": 0,  # drinks and desserts are not baked to order
                "description": description,
                "position": position,
                "picture": demo_slug(name),
            },
        )
        # A drink or a dessert is its own single ingredient: its stock is its availability.
        RecipeLine.objects.update_or_create(
            product=product, ingredient=ingredients[stock_name], defaults={"quantity": 1}
        )
        products.append(product)
    for pizzeria in pizzerias:
        pizzeria.products.add(*products)
    own = next(pizzeria for pizzeria in pizzerias if pizzeria.slug == OWN_PRICES_SLUG)
    for size in ProductSize.objects.filter(name="Géante", product__category=Product.PIZZA):
        MenuOverride.objects.update_or_create(
            pizzeria=own, product_id=size.product_id, size=size, defaults={"price": size.price + 1}
        )
    for option in Option.objects.filter(name="Mozzarella di bufala", group__kind=OptionGroup.EXTRA):
        MenuOverride.objects.update_or_create(
            pizzeria=own, product_id=option.group.product_id, option=option, defaults={"withdrawn": True}
        )

    _formulas(products=products, pizzerias=pizzerias)

    role_groups_sync()
    logins = []
    for index, pizzeria in enumerate(pizzerias):
        for role, label in StaffMember.ROLES:
            if role == StaffMember.MANAGER:
                continue
            email = f"{role}.{pizzeria.slug}@ocpizza.fr"
            staff_member_upsert(
                email=email,
                role=role,
                pizzeria=pizzeria,
                password=DEMO_PASSWORD,
                # A name the customer may read (« Votre livreur Karim est en route »).
                first_name=STAFF_FIRST_NAMES[role][index % len(STAFF_FIRST_NAMES[role])],
                last_name=pizzeria.name.removeprefix("OC Pizza "),
            )
            logins.append(DemoLogin(email=email, role=label, pizzeria=pizzeria.name))
    staff_member_upsert(
        email=MANAGER_EMAIL,
        role=StaffMember.MANAGER,
        pizzeria=None,
        password=DEMO_PASSWORD,
        first_name="Franck",
        last_name="Manager",
    )
    logins.append(DemoLogin(email=MANAGER_EMAIL, role="manager", pizzeria="toutes"))

    User = get_user_model()
    user = User.objects.filter(email__iexact=CUSTOMER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(
            email=CUSTOMER_EMAIL, password=DEMO_PASSWORD, first_name="Camille", last_name="Martin"
        )
    customer, _ = Customer.objects.get_or_create(user=user, defaults={"phone": "06 12 34 56 78"})
    Address.objects.get_or_create(
        customer=customer,
        label="Maison",
        defaults={
            "line1": "8 rue Keller",
            "postcode": "75011",
            "city": "Paris",
            "latitude": Decimal("48.855400"),
            "longitude": Decimal("2.376800"),
        },
    )
    logins.append(DemoLogin(email=CUSTOMER_EMAIL, role="client", pizzeria="—"))
    return logins
