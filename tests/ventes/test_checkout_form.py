"""The checkout page itself: each error once, beside its field; the payment heading following what is on offer;
the address book offered as cards, and every field labelled for the browser's autofill."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.utils import timezone
from django.utils.html import escape

from production.models import OpeningHours, Pizzeria, StockMovement
from production.services import pizzeria_set_accepting_orders
from tests import factories
from ventes.models import Order
from ventes.selectors import checkout_slots, pizzeria_get
from ventes.services import LineRequest

from .helpers import GUEST, place
from .test_views_checkout import checkout, fill_cart

pytestmark = pytest.mark.django_db

INVALID_PHONE = "Ce numéro de téléphone n'est pas valable. Exemple : 06 12 34 56 78."
NO_ADDRESS = "Indiquez l'adresse de livraison."
BAD_POSTCODE = "Le code postal compte 5 chiffres."
CLOSED = "OC Pizza Bastille est fermée : choisissez un créneau pendant ses horaires."
PAUSED = "OC Pizza Bastille est débordée et ne prend plus de commande immédiate : choisissez un créneau plus tard."
SLOT_FULL = "est complet (3 pizzas prévues sur 3)"
NOT_SERVED = "OC Pizza Bastille ne livre pas le code postal 75019."
# A Friday evening in Paris.
FRIDAY_EVENING = datetime.datetime(2026, 12, 4, 19, 20, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))


def error_beside(html: str, field: str) -> str:
    """The text of ``field``'s error container, unescaped."""
    found = re.search(rf'<div id="id_{field}_error" class="field-errors">(.*?)</div>', html, re.S)
    assert found, f"no error container for {field}"
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("&#x27;", "'")


def top_alert(html: str) -> str:
    found = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("&#x27;", "'") if found else ""


def shown_once_beside(html: str, errors: dict[str, str]) -> None:
    """Each message exactly once in the page, in its field's container (marked invalid); none at the top."""
    for field, message in errors.items():
        assert html.count(escape(message)) == 1, (message, html.count(escape(message)))
        assert message in error_beside(html, field)
        tag = re.search(rf'<(?:input|select) [^>]*id="id_{field}(?:_0)?"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag, tag
    assert top_alert(html) == ""


def nothing_written(*, orders: int = 0, reservations: int = 0) -> bool:
    """No order but the ``orders`` there were, no stock held but their ``reservations``."""
    return Order.objects.count() == orders and StockMovement.objects.filter(kind="reservation").count() == reservations


def reservations() -> int:
    return StockMovement.objects.filter(kind="reservation").count()


def delivered_to(line: str, postcode: str) -> dict[str, str]:
    return {"fulfilment": "delivery", "address_line": line, "address_postcode": postcode}


def closed_now(shop):
    OpeningHours.objects.filter(pizzeria=shop.pizzeria).delete()


def paused(shop):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)


@pytest.mark.parametrize(
    ("setup", "data", "errors"),
    [
        # A page opened before closing time, sent after: « dès que possible » no longer exists.
        (closed_now, {"when": "asap"}, {"slot": CLOSED}),
        (paused, {"when": "asap"}, {"slot": PAUSED}),
        (None, {"customer_phone": "06 12"}, {"customer_phone": INVALID_PHONE}),
        (None, {"customer_phone": "téléphone"}, {"customer_phone": INVALID_PHONE}),
        (None, delivered_to(" ", "75001"), {"address_line": NO_ADDRESS}),
        (None, delivered_to("1 rue X", "75O01"), {"address_postcode": BAD_POSTCODE}),
        (None, delivered_to("1 rue X", "75019"), {"address_line": NOT_SERVED}),
        (
            None,
            {"customer_phone": "12", **delivered_to("", "750")},
            {"customer_phone": INVALID_PHONE, "address_line": NO_ADDRESS, "address_postcode": BAD_POSTCODE},
        ),
    ],
)
def test_each_error_shows_once_beside_its_field_and_nothing_is_written(client, shop, setup, data, errors):
    if setup is not None:
        setup(shop)
    fill_cart(client, shop)
    response = checkout(client, **data)
    assert response.status_code == 200
    html = response.content.decode()
    shown_once_beside(html, errors)
    assert '<p class="notice' not in html or "slot" not in errors  # a refused time: no notice repeating it
    assert nothing_written()


def test_a_full_slot_is_refused_once_beside_the_slot_list(client, shop):
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=1, pizzas_per_oven=3)
    full = checkout_slots(pizzeria=pizzeria_get(pk=shop.pizzeria.pk))[4].at
    place(shop, [LineRequest(shop.margherita.pk, 3)], requested_for=full)
    held = reservations()
    fill_cart(client, shop, quantity=1)
    html = checkout(client, when="slot", slot=timezone.localtime(full).strftime("%Y-%m-%dT%H:%M")).content.decode()
    message = error_beside(html, "slot")
    assert SLOT_FULL in message and html.count(escape(message)) == 1
    assert top_alert(html) == ""
    assert nothing_written(orders=1, reservations=held)  # the order that filled it, alone


def test_asap_refused_for_want_of_room_is_said_beside_the_choice_of_time(client, shop):
    """The slot list is hidden while « dès que possible » is chosen: the refusal goes where it is seen."""
    shop.pizzeria.opening_hours.all().delete()
    shop.pizzeria.opening_hours.create(weekday=4, opens=datetime.time(18, 0), closes=datetime.time(20, 0))
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=3, pizzas_per_oven=1)
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        for _ in range(3):
            place(shop, [LineRequest(shop.margherita.pk, 3)])
        held = reservations()
        fill_cart(client, shop, quantity=1)
        html = checkout(client, when="asap").content.decode()
    message = "OC Pizza Bastille n'a plus de place en cuisine d'ici la fermeture : choisissez un autre jour."
    shown_once_beside(html, {"when": message})
    assert nothing_written(orders=3, reservations=held)


def test_an_error_of_no_field_shows_once_at_the_top(client, shop):
    fill_cart(client, shop)
    client.get("/commander/")
    html = client.post("/commander/", {**GUEST, "token": "forged"}).content.decode()
    message = "Ce formulaire a expiré : vérifiez votre commande et validez à nouveau."
    assert top_alert(html).strip() == message and html.count(escape(message)) == 1
    assert "aria-invalid" not in html
    assert nothing_written()


def test_a_valid_phone_passes_whatever_its_spacing(client, shop):
    fill_cart(client, shop)
    assert checkout(client, customer_phone="+33 6 12 34 56 78").status_code == 302
    assert Order.objects.get().customer_phone == "+33 6 12 34 56 78"


def heading(html: str) -> str:
    return re.search(r'<h2 class="payment-heading">(.*?)</h2>', html, re.S).group(1).strip()


def test_the_payment_heading_names_the_payment_at_the_door_for_each_mode(client, shop):
    fill_cart(client, shop)
    assert heading(client.get("/commander/").content.decode()) == (
        'Paiement<span data-heading-for="any"> à la livraison ou au comptoir</span>'
        '<span data-heading-for="delivery"> à la livraison</span><span data-heading-for="pickup"> au comptoir</span>'
    )


def test_the_payment_heading_puts_online_payment_first_when_offered(client, shop, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_test_" + "x" * 24, "pk_test_" + "x" * 24
    settings.STRIPE_WEBHOOK_SECRET = "whsec_" + "x" * 24
    fill_cart(client, shop)
    html = client.get("/commander/").content.decode()
    assert heading(html) == (
        'Payez en ligne<span data-heading-for="any">, à la livraison ou au comptoir</span>'
        '<span data-heading-for="delivery"> ou à la livraison</span>'
        '<span data-heading-for="pickup"> ou au comptoir</span>'
    )
    assert "Carte bancaire en ligne" in html


def submit_totals(html: str) -> dict[str, str]:
    return dict(re.findall(r'<span data-total-for="(\w+)">Valider la commande \(([^<]+) €\)</span>', html))


def test_the_submit_button_says_the_total_with_the_delivery_fee_once_delivery_is_chosen(client, shop):
    fill_cart(client, shop)  # two Margherita at 9,50 €, delivered for 2,50 €
    assert submit_totals(client.get("/commander/").content.decode()) == {"pickup": "19,00", "delivery": "21,50"}
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(free_delivery_from=15)
    assert submit_totals(client.get("/commander/").content.decode()) == {"pickup": "19,00", "delivery": "19,00"}


def test_every_field_tells_the_browser_what_to_fill_in(client, shop):
    fill_cart(client, shop)
    html = client.get("/commander/").content.decode()
    for field, token in [
        ("customer_name", "name"),
        ("customer_phone", "tel"),
        ("customer_email", "email"),
        ("address_line", "street-address"),
        ("address_postcode", "postal-code"),
        ("address_city", "address-level2"),
    ]:
        tag = re.search(rf'<input [^>]*id="id_{field}"[^>]*>', html).group(0)
        assert f'autocomplete="{token}"' in tag, tag
    assert 'type="tel"' in re.search(r'<input [^>]*id="id_customer_phone"[^>]*>', html).group(0)
    assert '<label for="id_customer_name">Nom</label>' in html  # no colon after the labels


def a_customer_with_two_addresses(client):
    customer = factories.CustomerFactory()
    office = factories.AddressFactory(customer=customer, label="Bureau", line1="12 rue de la Paix", postcode="75002")
    home = factories.AddressFactory(
        customer=customer, label="Maison", line1="5 rue du Louvre", postcode="75001", instructions="Code 1234"
    )
    client.force_login(customer.user)
    return customer, office, home


def test_a_customer_is_offered_his_saved_addresses_as_cards(client, shop):
    _, office, home = a_customer_with_two_addresses(client)
    factories.AddressFactory(label="Ailleurs", line1="1 rue d'un autre")  # someone else's
    fill_cart(client, shop)
    html = client.get("/commander/").content.decode()
    cards = re.findall(r'<label class="choice address-card">(.*?)</label>', html, re.S)
    assert len(cards) == 3
    assert f'value="{office.pk}"' in cards[0] and "checked" in cards[0]  # the first of the book, ready
    assert "<strong>Bureau</strong>" in cards[0] and "12 rue de la Paix, 75002 Paris" in cards[0]
    assert f'value="{home.pk}"' in cards[1] and "5 rue du Louvre, 75001 Paris" in cards[1]
    assert 'value=""' in cards[2] and "Une autre adresse" in cards[2]
    assert "1 rue d" not in html


def test_choosing_a_saved_address_delivers_there_whatever_the_other_fields_hold(client, shop):
    customer, _, home = a_customer_with_two_addresses(client)
    fill_cart(client, shop)
    response = checkout(
        client, fulfilment="delivery", saved_address_id=home.pk, address_line="", address_postcode="750"
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.customer == customer
    assert (order.delivery_address, order.delivery_postcode) == ("5 rue du Louvre", "75001")
    assert order.delivery_instructions == "Code 1234"


def test_another_address_typed_beside_the_book(client, shop):
    a_customer_with_two_addresses(client)
    fill_cart(client, shop)
    checkout(
        client, fulfilment="delivery", saved_address_id="", address_line="3 rue de Rivoli", address_postcode="75001"
    )
    assert Order.objects.get().delivery_address == "3 rue de Rivoli"


def test_a_saved_address_out_of_the_zone_is_refused_beside_the_book(client, shop):
    customer, _, _ = a_customer_with_two_addresses(client)
    far = factories.AddressFactory(customer=customer, label="Vacances", line1="1 place du Tertre", postcode="75018")
    fill_cart(client, shop)
    html = checkout(client, fulfilment="delivery", saved_address_id=far.pk).content.decode()
    shown_once_beside(html, {"saved_address_id": "OC Pizza Bastille ne livre pas le code postal 75018."})
    assert nothing_written()


def test_an_address_not_in_the_book_is_refused_once_beside_it(client, shop):
    a_customer_with_two_addresses(client)
    other = factories.AddressFactory()
    fill_cart(client, shop)
    html = checkout(client, fulfilment="delivery", saved_address_id=other.pk).content.decode()
    shown_once_beside(html, {"saved_address_id": "Cette adresse n'est pas dans votre carnet."})
    assert error_beside(html, "address_line") == ""
    assert nothing_written()


def test_an_address_just_searched_for_comes_before_the_book(client, shop):
    a_customer_with_two_addresses(client)
    client.get("/", {"adresse": "3 rue de Rivoli", "code_postal": "75001"})
    fill_cart(client, shop)
    html = client.get("/commander/").content.decode()
    cards = re.findall(r'<label class="choice address-card">(.*?)</label>', html, re.S)
    assert "checked" in cards[2] and not any("checked" in card for card in cards[:2])
    assert 'value="3 rue de Rivoli"' in html
