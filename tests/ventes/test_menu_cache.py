"""The menu is cached until its stock or the catalogue changes, never longer than MENU_CACHE_SECONDS."""

import datetime
import re
import time

import pytest
import time_machine
from django.core.cache.backends import locmem
from django.test import Client
from django.utils import timezone

from production.cache import menu_version
from production.models import OpeningHours, Stock
from production.services import pizzeria_set_accepting_orders, pizzeria_set_busy, stock_count_inventory
from tests import factories
from tests.ventes.helpers import place
from ventes.cart import Cart
from ventes.selectors import pizzeria_for_menu
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


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_page_a_guest_without_a_cart_sees_is_rendered_once_for_every_guest(shop):
    first = Client().get(f"/pizzeria/{shop.pizzeria.slug}/")
    assert first.templates  # rendered for the first guest
    second = Client().get(f"/pizzeria/{shop.pizzeria.slug}/")
    assert second.templates == []  # the same page for the next one, not rendered again
    html, again = first.content.decode(), second.content.decode()
    assert _token(html) != _token(again)
    assert html.replace(_token(html), "") == again.replace(_token(again), "")
    assert CSRF_TOKEN_SLOT not in again
    # The token of the page's own htmx requests is the visitor's too.
    assert f'"X-CSRFToken": "{_token(again)}"' in again


def test_a_visitor_with_a_cart_or_signed_in_gets_a_page_of_their_own(shop):
    Client().get(f"/pizzeria/{shop.pizzeria.slug}/")  # the guests' page, cached
    buyer = Client()
    buyer.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": 1})
    html = menu_html(buyer, shop)
    assert "Votre panier est vide" not in html and 'class="cart-line"' in html
    member = Client()
    member.force_login(factories.UserFactory())
    html = menu_html(member, shop)
    assert "Déconnexion" in html
    guest = menu_html(Client(), shop)
    assert "Votre panier est vide" in guest and "Déconnexion" not in guest


def test_a_timed_busy_mode_leaves_the_guests_page_when_it_ends(shop, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "MENU_CACHE_SECONDS": 3600}
    now = timezone.now()
    pizzeria_set_busy(pizzeria=shop.pizzeria, minutes=10, until=now + datetime.timedelta(minutes=10), now=now)
    with time_machine.travel(now, tick=False):
        assert "Coup de feu" in menu_html(Client(), shop)
    with time_machine.travel(now + datetime.timedelta(minutes=11), tick=False):
        assert "Coup de feu" not in menu_html(Client(), shop)


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


def test_the_menus_pizzeria_is_kept_unpickled_by_each_process(shop):
    assert pizzeria_for_menu(slug=shop.pizzeria.slug) is pizzeria_for_menu(slug=shop.pizzeria.slug)
