"""The menu is cached until its stock or the catalogue changes, never longer than MENU_CACHE_SECONDS."""

import re
import time

import pytest
from django.core.cache.backends import locmem
from django.test import Client

from production.cache import menu_version
from production.models import OpeningHours, Stock
from production.services import pizzeria_set_accepting_orders, stock_count_inventory
from tests import factories
from tests.ventes.helpers import place
from ventes.cart import Cart
from ventes.services import LineRequest
from ventes.views import CSRF_TOKEN_SLOT

pytestmark = pytest.mark.django_db


def menu_html(client, shop) -> str:
    return client.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode()


def test_an_unchanged_menu_is_served_from_the_cache_without_a_query(client, shop, django_assert_num_queries):
    # The pizzeria, its opening hours and their exceptions; the menu: its formulas, products, their sizes,
    # option groups and recipes, the pizzeria's own prices, its stock, the allergens.
    with django_assert_num_queries(11):
        client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    with django_assert_num_queries(0):
        client.get(f"/pizzeria/{shop.pizzeria.slug}/")


def test_every_visitor_gets_their_own_csrf_token_in_the_cached_menu(shop):
    tokens = []
    for _ in range(2):
        visitor = Client(enforce_csrf_checks=True)
        html = visitor.get(f"/pizzeria/{shop.pizzeria.slug}/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        tokens.append(token)
        added = visitor.post(
            "/panier/ajouter/",
            {"csrfmiddlewaretoken": token, "pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": 1},
        )
        assert added.status_code == 302
        assert Cart(added.wsgi_request.session).lines == {f"{shop.margherita.pk}::": 1}
    assert tokens[0] != tokens[1]
    assert CSRF_TOKEN_SLOT not in html


def test_a_pause_and_new_opening_hours_show_at_once(client, shop):
    assert "débordée" not in menu_html(client, shop)
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)
    assert "débordée" in menu_html(client, shop)
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=True)
    assert "débordée" not in menu_html(client, shop)
    shop.pizzeria.opening_hours.all().delete()
    for weekday in range(7):
        OpeningHours.objects.create(pizzeria=shop.pizzeria, weekday=weekday, opens="07:07", closes="23:23")
    assert "07h07–23h23" in menu_html(client, shop)


def test_a_stock_count_through_the_services_shows_at_once(client, shop):
    assert "épuisé" not in menu_html(client, shop)
    stock_count_inventory(stock=shop.stock["dough"], counted=0)
    html = menu_html(client, shop)
    assert html.count('<p class="badge badge-soldout">épuisé</p>') == 2


def test_an_order_shows_at_once_on_the_menu_of_its_pizzeria_only(client, shop):
    other_menu = f"/pizzeria/{shop.other_pizzeria.slug}/"
    assert "plus que 3" not in menu_html(client, shop)
    assert "plus que 3" not in client.get(other_menu).content.decode()
    place(shop, [LineRequest(shop.margherita.pk, 7)])  # 3 doughs left
    assert "plus que 3" in menu_html(client, shop)
    assert "plus que 3" not in client.get(other_menu).content.decode()


def test_catalogue_changes_from_the_back_office_show_at_once(client, shop):
    menu_html(client, shop)
    shop.regina.name = "Regina della casa"
    shop.regina.save()
    assert "Regina della casa" in menu_html(client, shop)
    shop.beer.pizzerias.remove(shop.pizzeria)
    assert "Peroni" not in menu_html(client, shop)
    factories.RecipeLineFactory(product=shop.margherita, ingredient=shop.stock["ham"].ingredient, quantity=100)
    assert "plus que 3" in menu_html(client, shop)


def test_the_version_moves_again_after_commit(shop, django_capture_on_commit_callbacks):
    before = menu_version(pizzeria_id=shop.pizzeria.pk)
    with django_capture_on_commit_callbacks(execute=True):
        stock_count_inventory(stock=shop.stock["dough"], counted=5)
        during = menu_version(pizzeria_id=shop.pizzeria.pk)
    after = menu_version(pizzeria_id=shop.pizzeria.pk)
    assert before != during != after


def test_a_change_no_version_sees_lasts_at_most_menu_cache_seconds(client, shop, settings, monkeypatch):
    settings.OCPIZZA = {**settings.OCPIZZA, "MENU_CACHE_SECONDS": 5}
    menu_html(client, shop)
    # A raw update bypasses the services and the signals, as a manual SQL fix would.
    Stock.objects.filter(pk=shop.stock["dough"].pk).update(on_hand=0)
    assert "épuisé" not in menu_html(client, shop)
    now = time.time()
    monkeypatch.setattr(locmem.time, "time", lambda: now + 6)
    assert "épuisé" in menu_html(client, shop)
