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
