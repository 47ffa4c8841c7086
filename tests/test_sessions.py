"""Sessions: a guest's travels in a signed cookie, a signed-in user's stays in the database."""

import re
import secrets

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session

from ocpizzapp.sessions import COOKIE_LIMIT, SessionStore, in_cookie
from tests import factories
from tests.accounts.helpers import PASSWORD, logged_in_user
from tests.ventes.helpers import GUEST, is_tracking_link
from ventes.models import Order

pytestmark = pytest.mark.django_db


def add_to_cart(client, shop, quantity=1):
    return client.post(
        "/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": quantity}
    )


def cookie(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_a_guest_orders_without_a_session_written_to_the_database(client, shop):
    add_to_cart(client, shop)
    add_to_cart(client, shop)
    assert in_cookie(cookie(client))
    form = client.get("/commander/").content.decode()
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    response = client.post("/commander/", {**GUEST, "token": token})

    assert response.status_code == 302
    order = Order.objects.get()
    assert order.lines.get().quantity == 2  # both adds reached the cart the cookie carried
    assert not Session.objects.exists()
    assert client.session["cart"]["lines"] == {}
    # The same form sent again (a double click) finds the order the token placed: nothing more.
    again = client.post("/commander/", {**GUEST, "token": token})
    assert again.status_code == 302 and is_tracking_link(again["Location"], number=order.number)
    assert Order.objects.count() == 1


def test_a_forged_or_mangled_cookie_is_a_new_empty_session(client, shop):
    add_to_cart(client, shop, quantity=3)
    value = cookie(client)
    client.cookies[settings.SESSION_COOKIE_NAME] = value[:-3] + ("abc" if not value.endswith("abc") else "xyz")
    assert client.get("/panier/").status_code == 200
    assert "cart" not in client.session


def test_signing_in_moves_the_session_to_the_database_and_signing_out_ends_it(client, shop):
    factories.CustomerFactory(user__email="camille@example.com")
    add_to_cart(client, shop, quantity=2)
    client.post("/compte/connexion/", {"username": "camille@example.com", "password": PASSWORD})

    signed_in = cookie(client)
    assert not in_cookie(signed_in)
    assert Session.objects.filter(session_key=signed_in).exists()
    assert client.session["cart"]["lines"] == {f"{shop.margherita.pk}::": 2}

    client.post("/compte/deconnexion/")
    assert not Session.objects.exists()
    # A copy of the cookie kept from before signing out opens nothing.
    client.cookies[settings.SESSION_COOKIE_NAME] = signed_in
    assert logged_in_user(client) is None


def test_a_session_too_big_for_a_cookie_is_kept_in_the_database():
    notes = secrets.token_hex(COOKIE_LIMIT)  # what compression cannot shrink
    store = SessionStore()
    store["notes"] = notes
    store.save()
    assert not in_cookie(store.session_key)
    assert SessionStore(store.session_key)["notes"] == notes
    del store["notes"]
    store.save()  # small again: it leaves the database
    assert in_cookie(store.session_key)
    assert not Session.objects.exists()


def test_a_guest_session_from_the_database_moves_to_its_cookie_when_written(client, shop):
    store = SessionStore()
    store["cart"] = {"pizzeria_id": shop.pizzeria.pk, "lines": {f"{shop.margherita.pk}::": 1}}
    store._database_create()  # as sessions were kept before: in the database
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key

    add_to_cart(client, shop)
    assert in_cookie(cookie(client))
    assert client.session["cart"]["lines"] == {f"{shop.margherita.pk}::": 2}
    assert not Session.objects.exists()
