"""A guest's tracking link keeps working once its holder has an account and is signed in."""

from urllib.parse import unquote

import pytest

from tests import factories
from tests.accounts.helpers import logged_in_user
from tests.ventes.helpers import GUEST, is_tracking_link, place
from ventes.models import Order
from ventes.tracking import order_tracking_url

pytestmark = pytest.mark.django_db


SIGNUP = {
    "email": "camille@example.com",
    "first_name": "Camille",
    "last_name": "Martin",
    "phone": "06 12 34 56 78",
    "password1": "une-pizza-au-four",
    "password2": "une-pizza-au-four",
}


def guest_checkout(client, shop) -> tuple[Order, dict]:
    """A guest fills the cart and orders through the pages, as a visitor does; the order and the form sent."""
    client.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": "1"})
    sent = {**GUEST, "token": client.get("/commander/").context["form"]["token"].value()}
    response = client.post("/commander/", sent)
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.customer is None
    assert is_tracking_link(response["Location"], number=order.number)
    return order, sent


def sign_up(client) -> None:
    assert client.post("/compte/inscription/", SIGNUP).status_code == 302
    assert logged_in_user(client) is not None


def test_guest_who_signs_up_still_follows_the_order_with_its_link(client, shop):
    order, _sent = guest_checkout(client, shop)
    link = order_tracking_url(number=order.number)
    status_link = link.replace("/?t=", "/suivi/?t=")
    receipt_link = link.replace("/?t=", "/recu/?t=")
    sign_up(client)

    page = client.get(link)
    assert page.status_code == 200
    assert order.number in page.content.decode()
    # The link still makes its holder the guest who placed it: they may change or cancel it while it waits.
    assert "Annuler la commande" in page.content.decode()
    poll = client.get(status_link)
    assert poll.status_code == 200
    assert order.number in poll.content.decode()
    assert client.get(status_link, HTTP_IF_NONE_MATCH=poll["ETag"]).status_code == 304
    assert client.get(receipt_link).status_code == 200


def test_guest_form_sent_again_after_signing_up_leads_to_the_order_not_to_a_404(client, shop):
    """The back button, or a second click that outlived the sign-up: the form goes where it went the first time."""
    order, sent = guest_checkout(client, shop)
    sign_up(client)

    again = client.post("/commander/", sent)
    assert again.status_code == 302
    assert Order.objects.count() == 1
    page = client.get(again["Location"])
    assert page.status_code == 200
    assert order.number in page.content.decode()
    poll = client.get(again["Location"].replace(f"/{order.number}/", f"/{order.number}/suivi/"))
    assert poll.status_code == 200


def test_owner_sending_the_form_again_gets_the_owners_page(client, shop):
    customer = factories.CustomerFactory()
    client.force_login(customer.user)
    client.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": "1"})
    sent = {**GUEST, "token": client.get("/commander/").context["form"]["token"].value()}
    first = client.post("/commander/", sent)
    again = client.post("/commander/", sent)
    order = Order.objects.get()
    assert first["Location"] == again["Location"] == f"/commande/{order.number}/"


def test_signed_in_customer_with_a_link_of_another_order_still_gets_404(client, shop, django_user_model):
    mine = place(shop)
    theirs = place(shop, customer_email="autre@example.com")
    user = django_user_model.objects.create_user(email="camille@example.com", password="une-pizza-au-four")
    client.force_login(user)
    foreign = unquote(order_tracking_url(number=theirs.number).split("?t=")[1])
    for suffix in ("", "suivi/", "recu/"):
        response = client.get(f"/commande/{mine.number}/{suffix}", {"t": foreign})
        assert response.status_code == 404
        assert mine.number not in response.content.decode()
