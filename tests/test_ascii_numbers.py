"""Numbers are typed with the digits 0 to 9: every form that reads a quantity refuses the rest and writes nothing.

Python's ``int()`` reads '٣' (Arabic-Indic), '５' (full width) and '1_0' as 3, 5
and 10, and Django's IntegerField also reads '+3' and '3.0'.
"""

import re
from html import unescape

import pytest

from accounts.forms import french_phone
from ocpizzapp.forms import DIGITS_ONLY, AsciiIntegerField
from production.models import StaffMember, Stock, StockMovement
from tests import factories
from ventes.cart import SESSION_KEY
from ventes.models import Order, OrderLine
from ventes.services import LineRequest

from .ventes.helpers import GUEST, place

pytestmark = pytest.mark.django_db

NOT_ASCII_INTEGERS = ["٣", "５", "1_0", "+3", "3.0", "３", "๓", "3e0", "0x3", "1 0"]
QUANTITY_MESSAGE = "La quantité doit être un nombre entier. Tapez-la avec les chiffres 0 à 9."


@pytest.mark.parametrize("typed", NOT_ASCII_INTEGERS)
def test_the_field_refuses_what_only_int_would_read(typed):
    field = AsciiIntegerField(min_value=0)
    with pytest.raises(Exception) as refused:
        field.clean(typed)
    assert refused.value.messages == [DIGITS_ONLY]


@pytest.mark.parametrize(("typed", "read"), [("3", 3), (" 3 ", 3), ("03", 3), ("0", 0)])
def test_the_field_reads_ascii_digits(typed, read):
    assert AsciiIntegerField(min_value=0).clean(typed) == read


def test_a_minus_sign_is_refused_by_the_minimum_in_its_own_words():
    with pytest.raises(Exception) as refused:
        AsciiIntegerField(min_value=1).clean("-1")
    assert refused.value.messages == ["Assurez-vous que cette valeur est supérieure ou égale à 1."]


# The cart


def cart_lines(client):
    return (client.session.get(SESSION_KEY) or {}).get("lines", {})


def add(client, shop, quantity, product=None):
    data = {"pizzeria": shop.pizzeria.pk, "product": (product or shop.margherita).pk, "quantity": quantity}
    return client.post("/panier/ajouter/", data, headers={"HX-Request": "true"})


@pytest.mark.parametrize("typed", NOT_ASCII_INTEGERS)
def test_cart_add_and_update_refuse_other_digits_and_write_nothing(client, shop, typed):
    add(client, shop, "1", product=shop.regina)
    html = unescape(add(client, shop, typed).content.decode())
    assert QUANTITY_MESSAGE in html
    updated = client.post(f"/panier/{shop.regina.pk}/", {"quantity": typed}, headers={"HX-Request": "true"})
    assert updated.status_code == 200
    assert QUANTITY_MESSAGE in unescape(updated.content.decode())
    assert cart_lines(client) == {f"{shop.regina.pk}::": 1}


def test_cart_refuses_a_negative_quantity_and_reads_one_between_spaces(client, shop):
    assert "au moins 1" in unescape(add(client, shop, "-1").content.decode())
    assert cart_lines(client) == {}
    assert "Margherita ajouté au panier." in add(client, shop, " 3 ").content.decode()
    assert cart_lines(client) == {f"{shop.margherita.pk}::": 3}


@pytest.mark.parametrize("typed", ["٣", "５", "1_0"])
def test_hand_posted_ids_in_other_digits_are_unknown(client, shop, typed):
    cases = [
        ({"pizzeria": typed, "product": shop.margherita.pk}, "Pizzeria inconnue."),
        ({"pizzeria": shop.pizzeria.pk, "product": typed}, "Produit inconnu."),
    ]
    for data, message in cases:
        html = client.post("/panier/ajouter/", {**data, "quantity": "1"}, headers={"HX-Request": "true"})
        assert message in html.content.decode()
    assert cart_lines(client) == {}


def test_without_htmx_the_refusal_is_a_message_not_a_500(client, shop):
    response = client.post(
        "/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": "٣"}, follow=True
    )
    assert response.status_code == 200
    assert QUANTITY_MESSAGE in unescape(response.content.decode())
    assert cart_lines(client) == {}


# Orders: the customer's edit and the counter's entry


@pytest.mark.parametrize("typed", [*NOT_ASCII_INTEGERS, "-1"])
def test_order_edit_refuses_other_digits_and_changes_nothing(client, shop, typed):
    customer = factories.CustomerFactory()
    order = place(shop, [LineRequest(shop.margherita.pk, 2)], customer=customer)
    client.force_login(customer.user)
    response = client.post(f"/commande/{order.number}/modifier/", {f"qty_{shop.margherita.pk}--": typed})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert QUANTITY_MESSAGE in html or "au moins 0" in html
    assert list(OrderLine.objects.filter(order=order).values_list("product_id", "quantity")) == [
        (shop.margherita.pk, 2)
    ]


@pytest.mark.parametrize("typed", [*NOT_ASCII_INTEGERS, "-1"])
def test_counter_order_entry_refuses_other_digits_and_places_nothing(client, shop, typed):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    form = client.get("/equipe/commande/").content.decode()
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    data = {
        **GUEST,
        "token": token,
        "channel": "phone",
        f"qty_{shop.margherita.pk}": typed,
    }
    html = unescape(client.post("/equipe/commande/", data).content.decode())
    assert QUANTITY_MESSAGE in html or "au moins 0" in html
    assert not Order.objects.exists()


# Stock screens


@pytest.mark.parametrize("kind", ["restock", "inventory", "waste"])
@pytest.mark.parametrize("typed", NOT_ASCII_INTEGERS)
def test_stock_screens_refuse_other_digits_and_record_nothing(client, shop, kind, typed):
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    client.force_login(manager)
    stock = shop.stock["cheese"]
    before = list(Stock.objects.filter(pk=stock.pk).values())
    movements = StockMovement.objects.count()
    paths = {"restock": "reapprovisionner", "inventory": "inventaire", "waste": "perte"}
    url = f"/equipe/{shop.pizzeria.slug}/stock/{stock.pk}/{paths[kind]}/"
    response = client.post(url, {f"{kind}-quantity": typed})
    assert response.status_code == 400
    assert DIGITS_ONLY in unescape(response.content.decode())
    assert list(Stock.objects.filter(pk=stock.pk).values()) == before
    assert StockMovement.objects.count() == movements


# Postcodes and phone numbers are typed numbers too


@pytest.mark.parametrize("postcode", ["７５０１１", "٧٥٠١١"])
def test_postcodes_in_other_digits_are_refused(client, shop, postcode):
    html = client.get("/", {"code_postal": postcode}).content.decode()
    assert "Le code postal compte 5 chiffres." in html
    client.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": "1"})
    token = client.get("/commander/").context["form"]["token"].value()
    data = {**GUEST, "token": token, "fulfilment": "delivery", "address_line": "8 rue Keller"}
    html = client.post("/commander/", {**data, "address_postcode": postcode}).content.decode()
    assert "Le code postal compte 5 chiffres." in html
    assert not Order.objects.exists()


def test_account_phone_and_address_refuse_other_digits(client):
    with pytest.raises(Exception, match="numéro de téléphone français"):
        french_phone("０６ １２ ３４ ５６ ７８")
    customer = factories.CustomerFactory()
    client.force_login(customer.user)
    data = {"label": "Maison", "line1": "8 rue Keller", "postcode": "７５０１１", "city": "Paris"}
    response = client.post("/compte/adresses/ajouter/", data)
    assert response.status_code == 200
    assert "Saisissez un code postal à 5 chiffres" in response.content.decode()
    assert not customer.addresses.exists()
