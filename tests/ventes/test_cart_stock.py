"""The cart refuses, when a product is added, what the pizzeria cannot make: as the menu says it."""

import pytest

from production.services import stock_count_inventory
from ventes.cart import SESSION_KEY

pytestmark = pytest.mark.django_db


def add(client, pizzeria, product, quantity="1", htmx=False):
    data = {"pizzeria": pizzeria.pk, "product": product.pk, "quantity": quantity}
    return client.post("/panier/ajouter/", data, headers={"HX-Request": "true"} if htmx else {})


def cart_lines(client):
    return (client.session.get(SESSION_KEY) or {}).get("lines", {})


def test_sold_out_product_posted_by_hand_is_refused_with_the_menus_words(client, shop):
    stock_count_inventory(stock=shop.stock["beer"], counted=0)
    menu = client.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode()
    beer_card = menu[menu.index(f'id="produit-{shop.beer.pk}"') :]
    assert '<p class="badge badge-soldout">épuisé</p>' in beer_card[: beer_card.index("</li>")]
    assert f'name="product" value="{shop.beer.pk}"' not in menu  # no add form to post: only by hand

    html = add(client, shop.pizzeria, shop.beer, htmx=True).content.decode()
    assert "Stock insuffisant — Peroni : épuisé." in html
    assert "ajouté au panier" not in html
    assert SESSION_KEY not in client.session

    response = add(client, shop.pizzeria, shop.beer, htmx=False)
    assert response.status_code == 302 and response.url == f"/pizzeria/{shop.pizzeria.slug}/"
    assert "Stock insuffisant — Peroni : épuisé." in client.get(response.url).content.decode()
    assert cart_lines(client) == {}


def test_sold_out_is_refused_before_the_menu_was_ever_shown(client, shop):
    stock_count_inventory(stock=shop.stock["dough"], counted=0)
    html = add(client, shop.pizzeria, shop.margherita, htmx=True).content.decode()
    assert "Stock insuffisant — Margherita : épuisé." in html
    assert cart_lines(client) == {}


def test_what_is_in_the_cart_counts_with_what_is_added(client, shop):
    stock_count_inventory(stock=shop.stock["dough"], counted=3)
    add(client, shop.pizzeria, shop.margherita, "2")
    html = add(client, shop.pizzeria, shop.margherita, "2", htmx=True).content.decode()
    assert "Stock insuffisant — Margherita : plus que 3." in html
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 2}

    html = add(client, shop.pizzeria, shop.margherita, "1", htmx=True).content.decode()
    assert "Margherita ajouté au panier." in html
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 3}


def test_a_cart_of_another_pizzeria_does_not_count_against_this_ones_stock(client, shop):
    stock_count_inventory(stock=shop.stock["dough"], counted=3)
    add(client, shop.other_pizzeria, shop.margherita, "5")
    html = add(client, shop.pizzeria, shop.margherita, "3", htmx=True).content.decode()
    assert "Stock insuffisant" not in html
    assert "Votre panier contient des produits de OC Pizza Montmartre" in html
    response = client.post(
        "/panier/ajouter/",
        {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": "4", "replace": "on"},
        headers={"HX-Request": "true"},
    )
    assert "Stock insuffisant — Margherita : plus que 3." in response.content.decode()
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 5}
