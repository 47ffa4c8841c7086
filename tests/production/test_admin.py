"""The back-office refuses bad values with a form error and writes nothing."""

from decimal import Decimal

import pytest

from production.models import Product, Stock, StockMovement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(email="boss@ocpizza.fr", password="motdepasse-solide")
    client.force_login(user)
    return client


def test_admin_refuses_negative_stock(manager_client):
    pizzeria = factories.PizzeriaFactory()
    ingredient = factories.IngredientFactory()
    response = manager_client.post(
        "/admin/production/stock/add/",
        {"pizzeria": pizzeria.pk, "ingredient": ingredient.pk, "on_hand": "-5", "low_threshold": "0"},
    )
    assert response.status_code == 200
    assert "on_hand" in response.context["adminform"].form.errors
    assert 'id="id_on_hand_error"' in response.content.decode()
    assert not Stock.objects.exists()


def test_admin_stock_edit_writes_the_ledger(manager_client):
    stock = factories.StockFactory(on_hand=0)
    response = manager_client.post(
        f"/admin/production/stock/{stock.pk}/change/",
        {"pizzeria": stock.pizzeria_id, "ingredient": stock.ingredient_id, "on_hand": "750", "low_threshold": "50"},
    )
    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.low_threshold) == (750, 0, 50)
    movement = StockMovement.objects.get(stock=stock)
    assert (movement.kind, movement.on_hand_delta, movement.reserved_delta) == (StockMovement.INVENTORY, 750, 0)


def test_admin_refuses_negative_price(manager_client):
    response = manager_client.post(
        "/admin/production/product/add/",
        {
            "name": "Pizza gratuite",
            "slug": "pizza-gratuite",
            "category": "pizza",
            "price": "-1",
            "vat_rate": "10.00",
            "position": "0",
            "sizes-TOTAL_FORMS": "0",
            "sizes-INITIAL_FORMS": "0",
            "option_groups-TOTAL_FORMS": "0",
            "option_groups-INITIAL_FORMS": "0",
            "recipe_lines-TOTAL_FORMS": "0",
            "recipe_lines-INITIAL_FORMS": "0",
            "recipe_steps-TOTAL_FORMS": "0",
            "recipe_steps-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    assert 'id="id_price_error"' in response.content.decode()
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/production/pizzeria/",
        "/admin/production/stock/",
        "/admin/production/stockmovement/",
        "/admin/production/product/",
        "/admin/production/ingredient/",
        "/admin/production/staffmember/",
        "/admin/ventes/order/",
        "/admin/ventes/customer/",
        "/admin/accounts/user/",
    ],
)
def test_admin_lists_open(manager_client, url):
    factories.OrderLineFactory()
    factories.StockFactory()
    assert manager_client.get(url).status_code == 200


def test_manager_pauses_and_resumes_a_pizzeria(manager_client):
    pizzeria = factories.PizzeriaFactory()
    manager_client.post("/admin/production/pizzeria/", {"action": "pause_orders", "_selected_action": [pizzeria.pk]})
    pizzeria.refresh_from_db()
    assert not pizzeria.accepting_orders
    manager_client.post("/admin/production/pizzeria/", {"action": "resume_orders", "_selected_action": [pizzeria.pk]})
    pizzeria.refresh_from_db()
    assert pizzeria.accepting_orders


def test_manager_cancels_orders_through_the_workflow(manager_client, shop):
    from tests.ventes.helpers import place

    order = place(shop)
    response = manager_client.post(
        "/admin/ventes/order/", {"action": "cancel_too_busy", "_selected_action": [order.pk]}, follow=True
    )
    assert f"{order.number} annulée." in response.content.decode()
    order.refresh_from_db()
    assert (order.state, order.cancel_reason) == ("cancelled", "too_busy")
    assert order.events.latest("pk").by.email == "boss@ocpizza.fr"
    assert shop.level("dough") == 10


def test_admin_pizzeria_price_of_another_products_size_is_refused(manager_client):
    from production.models import MenuOverride

    pizzeria = factories.PizzeriaFactory()
    regina, margherita = factories.ProductFactory(name="Regina"), factories.ProductFactory(name="Margherita")
    size = factories.ProductSizeFactory(product=margherita, name="Grande")
    response = manager_client.post(
        "/admin/production/menuoverride/add/",
        {"pizzeria": pizzeria.pk, "product": regina.pk, "size": size.pk, "price": "15.00"},
    )
    assert response.status_code == 200
    assert "Cette taille est celle d&#x27;un autre produit." in response.content.decode()
    response = manager_client.post(
        "/admin/production/menuoverride/add/", {"pizzeria": pizzeria.pk, "product": regina.pk}
    )
    assert "Indiquez un prix ou cochez « retiré de la carte ici »." in response.content.decode()
    assert not MenuOverride.objects.exists()
    response = manager_client.post(
        "/admin/production/menuoverride/add/",
        {"pizzeria": pizzeria.pk, "product": margherita.pk, "size": size.pk, "price": "15.00"},
    )
    assert response.status_code == 302
    assert MenuOverride.objects.get().price == Decimal("15.00")
