"""Choosing a pizzeria, its menu with live availability, and the session cart."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from production.models import Allergen, OpeningHours
from production.services import pizzeria_set_accepting_orders, stock_count_inventory
from tests import factories
from ventes.cart import SESSION_KEY

pytestmark = pytest.mark.django_db


def add(client, pizzeria, product, quantity=1, htmx=False, **extra):
    data = {"pizzeria": pizzeria.pk, "product": product.pk, "quantity": quantity, **extra}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/panier/ajouter/", data, headers=headers)


def cart_lines(client):
    return (client.session.get(SESSION_KEY) or {}).get("lines", {})


# Choosing a pizzeria


def test_home_links_each_menu_and_finds_pizzerias_by_postcode(client, shop):
    html = client.get("/").content.decode()
    assert f'href="/pizzeria/{shop.pizzeria.slug}/"' in html
    response = client.get("/", {"adresse": "8 rue Keller", "code_postal": "75001"})
    html = response.content.decode()
    assert "Ces pizzerias livrent votre code postal" in html and shop.pizzeria.name in html


def test_home_postcode_nobody_serves_says_so(client, shop):
    html = client.get("/", {"adresse": "", "code_postal": "13001"}).content.decode()
    assert "Aucune de nos pizzerias ne livre ce code postal" in html


def test_home_bad_postcode_is_refused_beside_the_field(client, shop):
    html = client.get("/", {"code_postal": "abc"}).content.decode()
    assert "Le code postal compte 5 chiffres." in html
    assert 'aria-describedby="id_code_postal_error"' in html


def test_home_with_geocoding_picks_the_nearest_pizzeria(client, shop, settings, monkeypatch):
    settings.GMAP_API_KEY = "test-key"
    monkeypatch.setattr("ventes.views.nearest_pizzeria_for", lambda **kwargs: shop.pizzeria)
    html = client.get("/", {"adresse": "8 rue Keller", "code_postal": "75011"}).content.decode()
    assert f"{shop.pizzeria.name} livre votre adresse" in html


def test_home_with_geocoding_says_when_the_address_is_out_of_zone(client, shop, settings, monkeypatch):
    from ventes.geo import OutOfDeliveryZone

    def out_of_zone(**kwargs):
        raise OutOfDeliveryZone("Aucune de nos pizzerias ne livre cette adresse aujourd'hui.")

    settings.GMAP_API_KEY = "test-key"
    monkeypatch.setattr("ventes.views.nearest_pizzeria_for", out_of_zone)
    html = client.get("/", {"adresse": "1 place Bellecour", "code_postal": "69002"}).content.decode()
    assert "Aucune de nos pizzerias ne livre cette adresse aujourd&#x27;hui." in html


# Menu


def test_menu_shows_products_by_category_with_badges_and_allergens(client, shop):
    gluten = Allergen.objects.get_or_create(code="gluten", defaults={"name": "Gluten"})[0]
    shop.stock["dough"].ingredient.allergens.add(gluten)
    stock_count_inventory(stock=shop.stock["ham"], counted=120)  # 2 Regina
    stock_count_inventory(stock=shop.stock["beer"], counted=0)
    html = client.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode()
    assert "Pizzas" in html and "Boissons" in html
    assert html.index("Pizzas") < html.index("Boissons"), "pizzas come first on the menu"
    assert "Margherita" in html and "9,50 €" in html
    assert "plus que 2" in html
    assert "épuisé" in html
    assert "Allergènes : Gluten" in html
    # A sold-out product offers no add button.
    assert f'name="product" value="{shop.beer.pk}"' not in html


def test_menu_of_unknown_pizzeria_is_404(client, shop):
    assert client.get("/pizzeria/nulle-part/").status_code == 404


def test_paused_or_closed_pizzeria_says_it_takes_only_later_slots(client, shop):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)
    html = client.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode()
    assert "ne prend que des commandes pour un créneau plus tard" in html
    closed = factories.PizzeriaFactory(open_all_week=False)
    OpeningHours.objects.create(
        pizzeria=closed, weekday=timezone.localdate().weekday(), opens=datetime.time(0, 0), closes=datetime.time(0, 1)
    )
    html = client.get(f"/pizzeria/{closed.slug}/").content.decode()
    assert "est fermée : commandez pour un créneau" in html


def test_menu_query_count_is_flat_whatever_the_menu_and_cart_size(client, shop, django_assert_num_queries):
    add(client, shop.pizzeria, shop.margherita)
    # The pizzeria, its hours and their exceptions, the menu built (8: its formulas, products, their sizes, option
    # groups and recipes, the pizzeria's own prices, its stock, the allergens): the cart is priced from it. The
    # session is the guest's cookie: no query.
    with django_assert_num_queries(11):
        client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    for index in range(15):
        product = factories.ProductFactory(pizzerias=[shop.pizzeria], category="dessert")
        factories.RecipeLineFactory(product=product, ingredient=shop.stock["cheese"].ingredient, quantity=10)
        add(client, shop.pizzeria, product, quantity=index + 1)
    with django_assert_num_queries(11):
        client.get(f"/pizzeria/{shop.pizzeria.slug}/")


# Cart


def test_add_change_remove_with_htmx_and_totals_from_the_server(client, shop):
    response = add(client, shop.pizzeria, shop.margherita, 2, htmx=True, price="0.01")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Margherita ajouté au panier." in html
    assert "19,00 €" in html  # the posted price is ignored
    add(client, shop.pizzeria, shop.beer, 1, htmx=True)
    html = client.post(f"/panier/{shop.margherita.pk}/", {"quantity": 3}, headers={"HX-Request": "true"}).content
    html = html.decode()
    assert "33,00 €" in html  # 3 × 9.50 + 4.50
    assert "dont TVA 10 %" in html and "dont TVA 20 %" in html
    client.post(f"/panier/{shop.beer.pk}/retirer/", headers={"HX-Request": "true"})
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 3}


def test_adding_to_the_cart_reads_the_pizzeria_once(client, shop, django_assert_num_queries):
    # The pizzeria, its catalogue (6: its formulas, products, their sizes, option groups and recipes, its own
    # prices) and its stock; the guest's session is his cookie: no query.
    with django_assert_num_queries(8):
        add(client, shop.pizzeria, shop.margherita, htmx=True)
    client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    # The pizzeria: products and availability come from the cached menu.
    with django_assert_num_queries(1):
        html = add(client, shop.pizzeria, shop.beer, htmx=True).content.decode()
    assert "Peroni ajouté au panier." in html and "Margherita" in html


def test_after_a_stock_change_adding_to_the_cart_reads_the_stock_not_the_whole_menu(
    client, shop, django_assert_num_queries
):
    add(client, shop.pizzeria, shop.margherita, htmx=True)
    # Every order moves the stock: the next customer's add must not build the whole menu again.
    stock_count_inventory(stock=shop.stock["cheese"], counted=5_000)
    with django_assert_num_queries(2):  # the pizzeria, its stock: the catalogue comes from the cache
        html = add(client, shop.pizzeria, shop.beer, htmx=True).content.decode()
    assert "Peroni ajouté au panier." in html
    # What the stock allows is read afresh: the pizza it can no longer make is refused.
    stock_count_inventory(stock=shop.stock["cheese"], counted=0)
    html = add(client, shop.pizzeria, shop.margherita, htmx=True).content.decode()
    assert "Margherita ajouté" not in html and cart_lines(client) == {
        f"{shop.margherita.pk}::": 1,
        f"{shop.beer.pk}::": 1,
    }


def test_the_cart_follows_the_menu_order_whether_the_menu_is_cached_or_not(client, shop):
    add(client, shop.pizzeria, shop.beer, htmx=True)
    add(client, shop.pizzeria, shop.margherita, htmx=True)
    uncached = client.get("/panier/").content.decode()
    client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    cached = client.get("/panier/").content.decode()
    for html in (uncached, cached):
        assert html.index("Margherita") < html.index("Peroni")


def test_cart_page_and_non_htmx_add_redirect_back_to_the_menu(client, shop, django_assert_max_num_queries):
    response = add(client, shop.pizzeria, shop.margherita)
    assert response.status_code == 302 and response.url == f"/pizzeria/{shop.pizzeria.slug}/"
    with django_assert_max_num_queries(4):  # the session, the pizzeria, the cart's products and their availability
        html = client.get("/panier/").content.decode()
    assert "Margherita" in html and "Commander" in html


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "La quantité doit être d&#x27;au moins 1."),
        (-3, "La quantité doit être d&#x27;au moins 1."),
        (10_000, "Au plus 50 exemplaires d&#x27;un même produit."),
        ("deux", "La quantité doit être un nombre entier."),
        ("", "Indiquez une quantité."),
    ],
)
def test_bad_quantities_are_refused_and_nothing_is_written(client, shop, quantity, message):
    add(client, shop.pizzeria, shop.margherita, 1)
    html = add(client, shop.pizzeria, shop.regina, quantity, htmx=True).content.decode()
    assert message in html
    html = client.post(f"/panier/{shop.margherita.pk}/", {"quantity": quantity}, headers={"HX-Request": "true"})
    assert message in html.content.decode()
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 1}


def test_adding_past_the_line_limit_is_refused(client, shop):
    unlimited = factories.ProductFactory(name="Tiramisu", category="dessert", pizzerias=[shop.pizzeria])  # no recipe
    add(client, shop.pizzeria, unlimited, 50)
    html = add(client, shop.pizzeria, unlimited, 1, htmx=True).content.decode()
    assert "Au plus 50 exemplaires" in html
    assert cart_lines(client) == {f"{unlimited.pk}::": 50}


def test_unknown_or_tampered_ids_are_refused(client, shop):
    off_menu = factories.ProductFactory(name="Calzone", pizzerias=[shop.other_pizzeria])
    cases = [
        ({"pizzeria": 999_999, "product": shop.margherita.pk}, "Pizzeria inconnue."),
        ({"pizzeria": "abc", "product": shop.margherita.pk}, "Pizzeria inconnue."),
        ({"pizzeria": shop.pizzeria.pk, "product": 999_999}, "n&#x27;est pas à la carte"),
        ({"pizzeria": shop.pizzeria.pk, "product": "x"}, "Produit inconnu."),
        ({"pizzeria": shop.pizzeria.pk, "product": off_menu.pk}, "n&#x27;est pas à la carte"),
    ]
    for data, message in cases:
        response = client.post("/panier/ajouter/", {**data, "quantity": 1}, headers={"HX-Request": "true"})
        assert message in response.content.decode(), data
    assert cart_lines(client) == {}
    for path in (f"/panier/{shop.regina.pk}/", f"/panier/{shop.regina.pk}/retirer/"):
        html = client.post(path, {"quantity": 1}, headers={"HX-Request": "true"}).content.decode()
        assert "Ce produit n&#x27;est pas dans votre panier." in html


def test_bad_input_without_htmx_is_a_message_not_a_500(client, shop):
    response = client.post("/panier/ajouter/", {"pizzeria": 1, "product": 1, "quantity": "x"}, follow=True)
    assert response.status_code == 200
    assert "La quantité doit être un nombre entier." in response.content.decode()


def test_switching_pizzeria_asks_first(client, shop):
    add(client, shop.pizzeria, shop.margherita, 2)
    html = add(client, shop.other_pizzeria, shop.regina, 1, htmx=True).content.decode()
    assert "Votre panier contient des produits de OC Pizza Bastille" in html
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 2}
    page = add(client, shop.other_pizzeria, shop.regina, 1).content.decode()
    assert "<h1>Changer de pizzeria ?</h1>" in page
    add(client, shop.other_pizzeria, shop.regina, 1, htmx=True, replace="1")
    assert cart_lines(client) == {f"{shop.regina.pk}::": 1}
    assert client.session[SESSION_KEY]["pizzeria_id"] == shop.other_pizzeria.pk


def test_cart_survives_logging_in(client, shop):
    add(client, shop.pizzeria, shop.margherita, 2)
    key_before = client.session.session_key
    user = factories.UserFactory(email="camille@example.com")
    client.post(reverse("accounts:login"), {"username": "camille@example.com", "password": "motdepasse-solide"})
    assert client.session.session_key != key_before  # login cycled the key...
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 2}  # ...and kept the cart
    assert client.session["_auth_user_id"] == str(user.pk)


def test_cart_drops_products_taken_off_the_menu(client, shop):
    add(client, shop.pizzeria, shop.margherita, 1, htmx=True)
    add(client, shop.pizzeria, shop.regina, 1, htmx=True)
    shop.regina.is_active = False
    shop.regina.save()
    html = client.get("/panier/").content.decode()
    assert "Regina" not in html and "9,50 €" in html


def test_the_cart_bar_follows_every_change_of_the_cart(client, shop):
    menu = client.get(shop.pizzeria.get_absolute_url()).content.decode()
    assert '<a id="cart-bar" class="cart-bar" href="/commander/" hidden>' in menu  # an empty cart: no bar

    html = " ".join(add(client, shop.pizzeria, shop.margherita, 2, htmx=True).content.decode().split())

    # With the cart partial, the bar in place (out of band), its count and total, and what was just added.
    assert '<a id="cart-bar" class="cart-bar" href="/commander/" hx-swap-oob="true">' in html
    assert '<span class="cart-bar-count">2<span class="visually-hidden"> articles —</span></span>' in html
    assert '<span class="cart-bar-total">19,00 €</span>' in html
    assert '<span class="cart-bar-notice" aria-hidden="true">Margherita ajouté au panier.</span>' in html
    html = " ".join(
        client.post(f"/panier/{shop.margherita.pk}/retirer/", headers={"HX-Request": "true"}).content.decode().split()
    )
    assert 'hx-swap-oob="true" hidden>' in html
    page = " ".join(client.get(shop.pizzeria.get_absolute_url()).content.decode().split())
    assert 'class="cart-bar" href="/commander/" hidden>' in page


def test_the_menu_has_tabs_for_its_sections_and_filters_its_own_allergens(client, shop):
    gluten = Allergen.objects.get_or_create(code="gluten", defaults={"name": "Gluten"})[0]
    shop.stock["dough"].ingredient.allergens.add(gluten)

    html = " ".join(client.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode().split())

    assert '<nav class="category-tabs" aria-label="Rubriques de la carte">' in html
    assert '<a href="#rubrique-1">Pizzas</a>' in html and '<h2 id="rubrique-1">Pizzas</h2>' in html
    assert '<a href="#rubrique-2">Boissons</a>' in html
    # The filter offers the menu's allergens only, and each card says its own for the filter to read.
    assert '<input type="checkbox" value="Gluten"> Gluten' in html and 'value="Lait"' not in html
    assert f'id="produit-{shop.margherita.pk}" data-allergens="Gluten"' in html
    assert f'id="produit-{shop.beer.pk}" data-allergens=""' in html
    assert "js/menu" in html
