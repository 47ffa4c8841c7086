"""Checkout: delivery or pick-up, now or later, paid at the door; one submit, one order."""

import datetime
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from production.models import OpeningHours, StockMovement
from production.services import pizzeria_set_accepting_orders, stock_count_inventory
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.queue import run_queued_tasks
from ventes.models import Order, OrderState
from ventes.selectors import checkout_slots

from .helpers import GUEST, is_tracking_link

pytestmark = pytest.mark.django_db


def fill_cart(client, shop, product=None, quantity=2):
    product = product or shop.margherita
    client.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": product.pk, "quantity": quantity})


def token_of(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def checkout(client, **data):
    token = token_of(client.get("/commander/"))
    return client.post("/commander/", {**GUEST, "token": token, **data})


def nothing_written():
    return not Order.objects.exists() and not StockMovement.objects.filter(kind="reservation").exists()


def test_empty_cart_sends_back_to_the_pizzerias(client, shop):
    response = client.get("/commander/", follow=True)
    assert "Votre panier est vide" in response.content.decode()


def test_checkout_page_lists_fields_slots_and_payment_at_the_door(client, shop, django_assert_max_num_queries):
    fill_cart(client, shop)
    with django_assert_max_num_queries(8):
        html = client.get("/commander/").content.decode()
    for label in ("Nom", "Téléphone", "E-mail", "Livraison", "À emporter", "Espèces", "Titre-restaurant", "Créneau"):
        assert label in html
    assert "carte en ligne" not in html.lower()
    assert '<label for="id_customer_phone">' in html
    assert 'aria-describedby="id_customer_phone_error"' in html


def test_guest_pickup_order_goes_to_its_page_through_a_signed_link(client, shop):
    fill_cart(client, shop)
    response = checkout(client, price="0.01", pizzeria=shop.other_pizzeria.pk)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url.startswith(f"/commande/{order.number}/?t=")
    assert order.pizzeria == shop.pizzeria and order.state == OrderState.RECEIVED
    assert str(order.total) == "19.00"  # server prices, whatever was posted
    assert order.customer is None and order.customer_email == "camille@example.com"
    assert client.session["cart"]["lines"] == {}
    assert shop.level("dough") == 8 and ledger_matches_levels()
    html = client.get(response.url).content.decode()
    assert f"Merci ! Votre commande {order.number} est enregistrée." in html


def test_confirmation_mail_carries_the_tracking_link(client, shop, settings):
    settings.SITE_URL = "https://ocpizza.example"
    fill_cart(client, shop)
    checkout(client)
    run_queued_tasks()
    number = Order.objects.get().number
    link = re.search(r"Suivre votre commande : (\S+)", mail.outbox[0].body).group(1)
    assert link.startswith("https://ocpizza.example/") and is_tracking_link(link, number=number)
    assert client.get(link.removeprefix("https://ocpizza.example")).status_code == 200


def test_delivery_in_zone_with_a_slot(client, shop):
    fill_cart(client, shop)
    slot = checkout_slots(pizzeria=shop.pizzeria)[3].at
    response = checkout(
        client,
        fulfilment="delivery",
        address_line="3 rue de Rivoli",
        address_postcode="75001",
        when="slot",
        slot=timezone.localtime(slot).strftime("%Y-%m-%dT%H:%M"),
        payment_method="meal_voucher",
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.fulfilment == "delivery" and order.delivery_address == "3 rue de Rivoli"
    assert order.requested_for == slot and order.payment_method == "meal_voucher"
    assert order.delivery_fee == shop.pizzeria.delivery_fee


def test_logged_in_customer_picks_a_saved_address_and_owns_the_order(client, shop):
    customer = factories.CustomerFactory()
    address = factories.AddressFactory(customer=customer, line1="5 rue du Louvre", postcode="75001")
    client.force_login(customer.user)
    fill_cart(client, shop)
    html = client.get("/commander/").content.decode()
    assert "5 rue du Louvre" in html and customer.user.email in html
    response = checkout(client, fulfilment="delivery", saved_address_id=address.pk)
    order = Order.objects.get()
    assert response.url == f"/commande/{order.number}/"
    assert order.customer == customer and order.delivery_address == "5 rue du Louvre"
    assert order.delivery_latitude == address.latitude


def test_someone_elses_saved_address_is_refused(client, shop):
    customer = factories.CustomerFactory()
    factories.AddressFactory(customer=customer)
    other = factories.AddressFactory()
    client.force_login(customer.user)
    fill_cart(client, shop)
    html = checkout(client, fulfilment="delivery", saved_address_id=other.pk).content.decode()
    assert "Sélectionnez un choix valide" in html or "pas dans votre carnet" in html
    assert nothing_written()


def test_logged_in_user_without_profile_gets_one(client, shop):
    user = factories.UserFactory()
    client.force_login(user)
    fill_cart(client, shop)
    checkout(client)
    order = Order.objects.get()
    assert order.customer.user == user and order.customer.phone == GUEST["customer_phone"]


def test_double_submit_makes_one_order(client, shop):
    fill_cart(client, shop)
    token = token_of(client.get("/commander/"))
    first = client.post("/commander/", {**GUEST, "token": token})
    fill_cart(client, shop)  # even with a new cart, the same form does not order twice
    second = client.post("/commander/", {**GUEST, "token": token})
    assert Order.objects.count() == 1
    assert second.status_code == 302 and second.url.split("?")[0] == first.url.split("?")[0]


def test_a_forged_or_old_token_places_nothing(client, shop):
    fill_cart(client, shop)
    client.get("/commander/")
    html = client.post("/commander/", {**GUEST, "token": "forged"}).content.decode()
    assert "Ce formulaire a expiré" in html
    assert nothing_written()
    assert 'name="token" value="forged"' not in html  # a fresh token to try again


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"customer_name": ""}, "Indiquez votre nom."),
        ({"customer_phone": ""}, "Indiquez un numéro de téléphone."),
        ({"customer_email": "pas-un-mail"}, "Cette adresse e-mail n&#x27;est pas valable."),
        ({"fulfilment": "teleportation"}, "Mode inconnu."),
        ({"payment_method": "bitcoin"}, "Moyen de paiement inconnu."),
        ({"payment_method": "online_card"}, "Moyen de paiement inconnu."),
        ({"fulfilment": "delivery", "address_line": "", "address_postcode": "75001"}, "Indiquez l&#x27;adresse"),
        ({"fulfilment": "delivery", "address_line": "1 rue X", "address_postcode": "7500"}, "5 chiffres"),
        ({"fulfilment": "delivery", "address_line": "1 rue X", "address_postcode": "75019"}, "ne livre pas"),
        ({"when": "slot", "slot": ""}, "Choisissez un créneau."),
        ({"when": "slot", "slot": "demain soir"}, "Créneau invalide."),
        ({"when": "slot", "slot": "2020-01-01T12:00"}, "Ce créneau est déjà passé."),
    ],
)
def test_bad_checkout_input_is_refused_beside_its_field(client, shop, data, message):
    fill_cart(client, shop)
    response = checkout(client, **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert nothing_written()


def test_slot_outside_opening_hours_is_refused(client, shop):
    OpeningHours.objects.filter(pizzeria=shop.pizzeria).update(opens=datetime.time(11, 0), closes=datetime.time(14, 0))
    fill_cart(client, shop)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    html = checkout(client, when="slot", slot=f"{tomorrow:%Y-%m-%d}T22:00").content.decode()
    assert "est fermée à ce moment-là" in html
    assert nothing_written()


def test_paused_pizzeria_refuses_asap_and_offers_later_slots(client, shop, settings):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)
    fill_cart(client, shop)
    html = checkout(client).content.decode()
    assert "ne prend plus de commande immédiate" in html
    assert nothing_written()
    earliest = checkout_slots(pizzeria=shop.pizzeria)[0].at
    assert earliest >= timezone.now() + datetime.timedelta(minutes=settings.OCPIZZA["PAUSE_LEAD_MINUTES"])


def test_closed_pizzeria_refuses_asap(client, shop):
    OpeningHours.objects.filter(pizzeria=shop.pizzeria).delete()
    fill_cart(client, shop)
    html = checkout(client).content.decode()
    assert "est fermée : choisissez un créneau" in html
    assert nothing_written()


def test_sold_out_at_checkout_says_what_and_writes_nothing(client, shop):
    fill_cart(client, shop, shop.regina, 3)
    stock_count_inventory(stock=shop.stock["ham"], counted=60)  # one Regina left
    html = checkout(client).content.decode()
    assert "Regina : plus que 1" in html
    assert not Order.objects.exists()


def test_a_product_withdrawn_from_the_menu_during_checkout(client, shop):
    fill_cart(client, shop, shop.regina, 1)
    fill_cart(client, shop, shop.margherita, 1)
    token = token_of(client.get("/commander/"))
    shop.pizzeria.products.remove(shop.regina)
    html = client.post("/commander/", {**GUEST, "token": token}).content.decode()
    assert "Un produit de votre panier n&#x27;est plus à la carte" in html
    assert nothing_written()
    # The cart now keeps only what is on the menu: the next submit orders the Margherita alone.
    client.post("/commander/", {**GUEST, "token": token})
    assert list(Order.objects.get().lines.values_list("product_name", flat=True)) == ["Margherita"]


def test_checkout_query_count_is_flat_whatever_the_cart_size(client, shop, django_assert_num_queries):
    fill_cart(client, shop, shop.margherita, 1)
    # The catalogue that adding to the cart cached has expired (or this server has none): the pizzeria, its hours
    # and their exceptions, its catalogue (its formulas, products with their sizes, option groups, recipes and
    # the pizzeria's own prices), its stock, the load of every offered slot (one query). The guest's session,
    # new token included, is his cookie.
    cache.clear()
    with django_assert_num_queries(11):
        client.get("/commander/")
    for _ in range(8):
        product = factories.ProductFactory(pizzerias=[shop.pizzeria], category="dessert")
        fill_cart(client, shop, product, 1)
    cache.clear()
    with django_assert_num_queries(11):
        client.get("/commander/")
    client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    # The pizzeria (its hours kept in memory) and the slots' load: the products and their availability come
    # from the cached menu.
    with django_assert_num_queries(2):
        client.get("/commander/")


def test_placing_an_order_from_the_checkout_reads_nothing_twice(
    client, shop, mailoutbox, django_assert_num_queries, django_capture_on_commit_callbacks, on_postgres
):
    fill_cart(client, shop, shop.margherita, 1)
    fill_cart(client, shop, shop.beer, 1)
    token = token_of(client.get("/commander/"))
    # The pizzeria with the catalogue's revision, read once and passed to the order (its hours kept in memory
    # since the form); the order in its transaction (see test_order_place: the catalogue, which this process
    # reads here for the first time, and the mail as one task row) and, behind its lock, the form token looked
    # up as an idempotency key. The slots offered are not read: the form is not shown again. The guest's
    # session is his cookie: no query. The redirect does not read the order back. On PostgreSQL, the order's
    # announcement to the live screens (NOTIFY).
    with django_assert_num_queries(22 + on_postgres), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/commander/", {**GUEST, "token": token})
    assert response.status_code == 302 and Order.objects.get().state == OrderState.RECEIVED
    assert mailoutbox == []
    run_queued_tasks()
    assert len(mailoutbox) == 1


def test_a_closed_pizzeria_offers_its_first_slot_with_room_and_no_asap(client, shop):
    OpeningHours.objects.filter(pizzeria=shop.pizzeria, weekday=timezone.localdate().weekday()).delete()
    fill_cart(client, shop)

    html = client.get("/commander/").content.decode()

    assert 'value="asap"' not in html and "Dès que possible" not in html
    assert '<input type="hidden" name="when" value="slot">' in html
    first = timezone.localtime(checkout_slots(pizzeria=shop.pizzeria)[0].at)
    assert f'<option value="{first:%Y-%m-%dT%H:%M}" selected>Demain {first:%Hh%M}</option>' in html
    # The slots come grouped by day, each group named.
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert '<optgroup label="Demain, ' in html and f"{tomorrow:%d/%m}" in html


def test_an_open_pizzeria_offers_asap_first(client, shop):
    fill_cart(client, shop)
    html = client.get("/commander/").content.decode()
    assert 'value="asap"' in html and "Dès que possible" in html
    assert (
        '<optgroup label="Aujourd&#x27;hui, ' in html or "<optgroup label=\"Aujourd'hui, " in html or "Demain" in html
    )
