import pytest
from django.apps import apps
from django.core.management import call_command

from production.selectors import pizzeria_list

pytestmark = pytest.mark.django_db


def row_counts():
    return {
        model._meta.label: model.objects.count()
        for app in ("accounts", "production", "ventes", "auth")
        for model in apps.get_app_config(app).get_models()
    }


def test_seed_demo_is_idempotent_and_prints_logins(capsys):
    call_command("seed_demo")
    first = row_counts()
    out = capsys.readouterr().out
    call_command("seed_demo")
    assert row_counts() == first
    assert "manager@ocpizza.fr" in out
    assert "pizzaiolo.bastille@ocpizza.fr" in out
    assert first["production.Pizzeria"] >= 3
    assert first["production.Ingredient"] >= 25
    assert first["production.StaffMember"] >= 10


def test_demo_menu_is_complete():
    call_command("seed_demo")
    from production.models import Product

    pizzas = Product.objects.filter(category=Product.PIZZA)
    assert pizzas.count() >= 12
    for pizza in pizzas:
        assert pizza.recipe_lines.exists(), pizza
        assert pizza.recipe_steps.exists(), pizza
    assert Product.objects.filter(category=Product.DRINK).exists()
    assert Product.objects.filter(category=Product.DESSERT).exists()
    # Meal vouchers do not pay for the beer.
    assert list(Product.objects.filter(contains_alcohol=True).values_list("name", flat=True)) == ["Peroni"]
    assert all(pizzeria.opening_hours.all() for pizzeria in pizzeria_list())


def test_every_demo_pizza_comes_in_three_sizes_with_extras_and_toppings_to_take_off():
    call_command("seed_demo")
    from production.models import MenuOverride, OptionGroup, Product
    from ventes.selectors import menu_for, pizzeria_get

    for pizza in Product.objects.filter(category=Product.PIZZA).prefetch_related("sizes", "option_groups__options"):
        assert [size.name for size in pizza.sizes.all()] == ["Moyenne", "Grande", "Géante"], pizza
        kinds = {group.kind: [option.name for option in group.options.all()] for group in pizza.option_groups.all()}
        assert "Mozzarella" in kinds[OptionGroup.EXTRA], pizza
    regina = Product.objects.get(name="Regina")
    assert [o.name for o in regina.option_groups.get(kind=OptionGroup.REMOVE).options.all()] == [
        "Champignons",
        "Jambon blanc",
        "Origan",
    ]
    # Montmartre sets its own prices: its menu shows them, Bastille's the chain's.
    assert MenuOverride.objects.filter(pizzeria__slug="montmartre").exists()
    prices = {}
    for slug in ("bastille", "montmartre"):
        item = menu_for(pizzeria=pizzeria_get(slug=slug)).items[regina.pk]
        prices[slug] = {choice.size.name: choice.price for choice in item.sizes}
    assert prices["montmartre"]["Géante"] == prices["bastille"]["Géante"] + 1
    assert prices["montmartre"]["Moyenne"] == prices["bastille"]["Moyenne"]


def test_the_demo_sells_two_formulas_everywhere_each_a_pizza_a_drink_and_a_dessert():
    call_command("seed_demo")
    from production.models import Formula

    formulas = Formula.objects.prefetch_related("slots__choices", "windows", "pizzerias")
    assert [formula.name for formula in formulas] == ["Formule midi", "Formule du soir"]
    for formula in formulas:
        assert [slot.name for slot in formula.slots.all()] == ["Pizza", "Boisson", "Dessert"]
        assert all(slot.choices.all() for slot in formula.slots.all())
        assert formula.windows.all() and len(formula.pizzerias.all()) == len(pizzeria_list())
    lunch = formulas[0]
    # The lunch pizza is a medium one.
    assert {choice.size.name for choice in lunch.slots.all()[0].choices.all()} == {"Moyenne"}
