"""The order history: own orders only, newest first, paginated, links to the shop's pages, flat query counts."""

import re

import pytest

from production.services import stock_restock
from tests.factories import CustomerFactory, UserFactory
from tests.ventes.helpers import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client):
    customer = CustomerFactory(user__email="camille@example.com")
    client.force_login(customer.user)
    return customer


@pytest.fixture
def roomy_shop(shop):
    """The shop with dough for more orders than a page holds."""
    for ingredient in ("dough", "tomato", "cheese"):
        stock_restock(stock=shop.stock[ingredient], quantity=5000)
    return shop


def numbers_on(response) -> list[str]:
    return re.findall(r'id="commande-([^"]+)"', response.content.decode())


def test_history_lists_own_orders_newest_first_with_their_facts(client, customer, shop):
    first = place(shop, customer=customer)
    second = place(shop, customer=customer, pizzeria_id=shop.other_pizzeria.pk)
    place(shop, customer=CustomerFactory())  # someone else's
    place(shop)  # a guest's

    response = client.get("/compte/commandes/")

    assert response.status_code == 200
    assert numbers_on(response) == [second.number, first.number]
    html = response.content.decode()
    assert f'<a href="/commande/{first.number}/">Commande {first.number}</a>' in html
    assert "OC Pizza Bastille" in html
    assert "OC Pizza Montmartre" in html
    assert "Reçue" in html
    assert "9,50 €" in html


def test_each_order_has_a_reorder_post_form(client, customer, shop):
    order = place(shop, customer=customer)

    html = client.get("/compte/commandes/").content.decode()

    form = re.search(
        rf'<form method="post" action="/commande/{order.number}/recommander/"[^>]*>(.*?)</form>', html, re.S
    )
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert "Commander à nouveau" in form.group(1)


def test_empty_history(client, customer):
    html = client.get("/compte/commandes/").content.decode()

    assert "pas encore passé de commande" in html
    assert 'href="/"' in html


def test_history_of_a_user_without_customer_row(client, shop):
    client.force_login(UserFactory())

    assert "pas encore passé de commande" in client.get("/compte/commandes/").content.decode()


def test_history_is_paginated(client, customer, roomy_shop):
    orders = [place(roomy_shop, customer=customer) for _ in range(12)]
    newest_first = [order.number for order in reversed(orders)]

    first_page = client.get("/compte/commandes/")
    second_page = client.get("/compte/commandes/?page=2")

    assert numbers_on(first_page) == newest_first[:10]
    assert numbers_on(second_page) == newest_first[10:]
    assert 'href="?page=2" rel="next"' in first_page.content.decode()
    assert "Page 1 sur 2" in first_page.content.decode()
    assert 'href="?page=1" rel="prev"' in second_page.content.decode()


@pytest.mark.parametrize("page, expected", [("abc", 1), ("0", 2), ("999", 2), ("-1", 2)])
def test_bad_page_numbers_fall_back_to_a_real_page(client, customer, roomy_shop, page, expected):
    for _ in range(12):
        place(roomy_shop, customer=customer)

    response = client.get("/compte/commandes/", {"page": page})

    assert response.status_code == 200
    assert f"Page {expected} sur 2" in response.content.decode()


@pytest.mark.parametrize("count", [2, 30])
def test_history_query_count_is_flat(client, customer, roomy_shop, django_assert_num_queries, count):
    for _ in range(count):
        place(roomy_shop, customer=customer, pizzeria_id=roomy_shop.pizzeria.pk)

    # session, user, count, one page of orders with their pizzerias
    with django_assert_num_queries(4):
        response = client.get("/compte/commandes/")

    assert len(numbers_on(response)) == min(count, 10)
