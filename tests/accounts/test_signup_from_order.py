"""A guest opens an account from their order's page: the form starts from what they typed at the checkout and
the order becomes the account's first; a link that is not that order's claims nothing."""

from urllib.parse import quote, unquote

import pytest

from tests.accounts.helpers import logged_in_user
from tests.ventes.helpers import place
from ventes.models import Customer, Order
from ventes.tracking import order_tracking_token, order_tracking_url

pytestmark = pytest.mark.django_db

PASSWORDS = {"password1": "une-pizza-au-four", "password2": "une-pizza-au-four"}


@pytest.fixture
def guest_order(shop):
    return place(shop, customer_name="Camille Martin", customer_email="camille@example.com")


def signup_url(order, token=None) -> str:
    token = token or order_tracking_token(number=order.number)
    return f"/compte/inscription/?commande={order.number}&t={quote(token)}"


def test_the_order_page_offers_the_account_and_the_form_starts_filled_in(client, guest_order):
    tracking = order_tracking_url(number=guest_order.number)
    page = client.get(tracking).content.decode()
    assert "Gardez cette commande dans un compte" in page
    token = unquote(tracking.split("?t=")[1])
    assert unquote(signup_url(guest_order, token=token)) in unquote(page.replace("&amp;", "&"))

    form = client.get(signup_url(guest_order)).context["form"]

    assert form["email"].value() == "camille@example.com"
    assert (form["first_name"].value(), form["last_name"].value()) == ("Camille", "Martin")
    assert form["phone"].value() == "06 12 34 56 78"


def test_the_account_opened_from_the_order_owns_it(client, guest_order):
    form = client.get(signup_url(guest_order)).context["form"]
    sent = {name: form[name].value() or "" for name in ("email", "first_name", "last_name", "phone")}

    response = client.post(signup_url(guest_order), {**sent, **PASSWORDS})

    assert response.status_code == 302 and response["Location"] == f"/commande/{guest_order.number}/"
    customer = Customer.objects.get(user__email="camille@example.com")
    assert Order.objects.get(pk=guest_order.pk).customer == customer
    assert logged_in_user(client).email == "camille@example.com"
    assert guest_order.number in client.get("/compte/commandes/").content.decode()


def test_a_link_of_another_order_claims_nothing(client, shop, guest_order):
    other = place(shop)
    wrong = signup_url(guest_order, token=order_tracking_token(number=other.number))
    assert client.get(wrong).context["form"]["email"].value() is None

    client.post(
        wrong, {"email": "x@example.com", "first_name": "X", "last_name": "Y", "phone": "0612345678", **PASSWORDS}
    )

    assert Customer.objects.filter(user__email="x@example.com").exists()
    assert not Order.objects.filter(customer__isnull=False).exists()


def test_an_order_already_in_an_account_is_not_claimed_again(client, shop, guest_order):
    client.post(
        signup_url(guest_order),
        {"email": "a@example.com", "first_name": "A", "last_name": "B", "phone": "0612345678", **PASSWORDS},
    )
    client.logout()

    client.post(
        signup_url(guest_order),
        {"email": "c@example.com", "first_name": "C", "last_name": "D", "phone": "0612345678", **PASSWORDS},
    )

    assert Order.objects.get(pk=guest_order.pk).customer.user.email == "a@example.com"
