"""Orders taken at the counter or on the phone."""

import re

import pytest

from production.models import StaffMember
from production.services import stock_count_inventory
from tests import factories
from ventes.models import Order, OrderState

pytestmark = pytest.mark.django_db

URL = "/equipe/commande/"


@pytest.fixture
def counter(shop):
    return factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def order_data(shop, token, **extra):
    return {
        "token": token,
        "channel": "phone",
        "customer_name": "M. Dupont",
        "customer_phone": "01 02 03 04 05",
        f"qty_{shop.margherita.pk}": 2,
        "fulfilment": "pickup",
        "when": "asap",
        "payment_method": "cash",
        **extra,
    }


def test_only_counter_staff_and_managers_may_enter_orders(client, shop):
    anonymous = client.get(URL)
    assert anonymous.status_code == 302 and anonymous.url.startswith("/equipe/connexion/?next=")
    client.force_login(factories.CustomerFactory().user)
    assert client.get(URL).status_code == 403
    for role in (StaffMember.PIZZAIOLO, StaffMember.RIDER):
        client.force_login(factories.StaffMemberFactory(role=role, pizzeria=shop.pizzeria).user)
        response = client.get(URL)
        assert response.status_code == 403 and "réservée au personnel du comptoir" in response.content.decode()
    client.force_login(factories.CustomerFactory().user)
    assert client.post(URL, order_data(shop, "x")).status_code == 403
    assert not Order.objects.exists()


def test_counter_sees_products_with_availability(client, shop, counter, django_assert_num_queries):
    stock_count_inventory(stock=shop.stock["beer"], counted=0)
    client.force_login(counter)
    # Among them the load of every offered slot, the exceptions to the hours, and the menu built (8) as the shop
    # builds it: its products with their prices here, sizes, options, formulas and availability.
    with django_assert_num_queries(18):
        html = client.get(URL).content.decode()
    assert shop.pizzeria.name in html
    assert "Margherita" in html and "10 possibles" in html and "épuisé" in html
    assert '<label for="id_customer_phone">' in html


def test_staff_page_query_count_is_flat_with_menu_and_queue(client, shop, counter, django_assert_num_queries):
    client.force_login(counter)
    client.get(URL)
    factories.ProductFactory.create_batch(10, pizzerias=[shop.pizzeria])
    token = token_of(client.get(URL))
    client.post(URL, order_data(shop, token))
    # The order moved the stock, not the catalogue: the menu is built again from the cached catalogue.
    with django_assert_num_queries(10):
        client.get(URL)


def test_phone_order_joins_the_queue(client, shop, counter):
    client.force_login(counter)
    token = token_of(client.get(URL))
    response = client.post(URL, order_data(shop, token), follow=True)
    order = Order.objects.get()
    assert order.channel == "phone" and order.state == OrderState.RECEIVED and order.pizzeria == shop.pizzeria
    assert order.customer is None and order.events.get().by == counter
    html = response.content.decode()
    assert f"Commande {order.number} enregistrée" in html
    assert f'data-number="{order.number}"' in html  # in the queue beside the form
    assert client.get(f"/commande/{order.number}/").status_code == 200
    # The same form posted twice makes one order.
    client.post(URL, order_data(shop, token))
    assert Order.objects.count() == 1


def test_counter_delivery_order_checks_the_zone(client, shop, counter):
    client.force_login(counter)
    token = token_of(client.get(URL))
    data = order_data(shop, token, fulfilment="delivery", address_line="2 rue X", address_postcode="75020")
    html = client.post(URL, data).content.decode()
    assert "ne livre pas le code postal 75020" in html
    assert not Order.objects.exists()
    data.update(address_postcode="75002", channel="counter", payment_method="card")
    client.post(URL, data)
    order = Order.objects.get()
    assert order.fulfilment == "delivery" and order.channel == "counter" and order.payment_method == "card"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"qty_MARGHERITA": 0}, "Ajoutez au moins un produit."),
        ({"qty_MARGHERITA": -2}, "au moins 0"),
        ({"qty_MARGHERITA": "x"}, "nombre entier"),
        ({"qty_MARGHERITA": 51}, "Au plus 50"),
        ({"customer_name": ""}, "Indiquez le nom du client."),
        ({"customer_phone": "01 02"}, "Ce numéro de téléphone n&#x27;est pas valable."),
        ({"customer_phone": "téléphone"}, "Ce numéro de téléphone n&#x27;est pas valable."),
        ({"channel": "web"}, "Canal inconnu."),
        ({"payment_method": "online_card"}, "Moyen de paiement inconnu."),
        ({"qty_MARGHERITA": 11}, "Margherita : plus que 10"),
    ],
)
def test_bad_staff_input_writes_nothing(client, shop, counter, extra, message):
    client.force_login(counter)
    token = token_of(client.get(URL))
    extra = {key.replace("MARGHERITA", str(shop.margherita.pk)): value for key, value in extra.items()}
    html = client.post(URL, order_data(shop, token, **extra)).content.decode()
    assert message in html
    assert not Order.objects.exists()


def test_manager_picks_the_pizzeria_first(client, shop):
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    client.force_login(manager)
    html = client.get(URL).content.decode()
    assert f"?pizzeria={shop.other_pizzeria.slug}" in html
    response = client.get(URL, {"pizzeria": shop.other_pizzeria.slug})
    token = token_of(response)
    client.post(URL, order_data(shop, token, pizzeria=shop.other_pizzeria.slug, channel="counter"))
    assert Order.objects.get().pizzeria == shop.other_pizzeria


def test_counter_cannot_order_for_another_pizzeria(client, shop, counter):
    client.force_login(counter)
    token = token_of(client.get(URL))
    client.post(URL, order_data(shop, token, pizzeria=shop.other_pizzeria.slug))
    assert Order.objects.get().pizzeria == shop.pizzeria
