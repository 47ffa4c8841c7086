"""The order page: who may see it, live status with conditional GET, edit, cancel, receipt, re-order."""

import datetime
import re
from unittest import mock
from urllib.parse import unquote

import pytest
from django.core import signing
from django.utils import timezone
from django.utils.http import http_date

from production.models import StaffMember
from production.services import stock_count_inventory
from tests import factories
from tests.conftest import ledger_matches_levels
from ventes import tracking
from ventes.models import OrderState
from ventes.services import LineRequest
from ventes.tracking import order_tracking_url
from ventes.workflow import order_transition

from .helpers import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return factories.CustomerFactory()


@pytest.fixture
def order(shop, customer):
    return place(shop, [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)], customer=customer)


@pytest.fixture
def pizzaiolo(shop):
    return factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user


def page(number, suffix=""):
    return f"/commande/{number}/{suffix}"


# Who may see it


def test_owner_sees_number_lines_vat_timeline_and_estimate(client, order, customer):
    client.force_login(customer.user)
    html = client.get(page(order.number)).content.decode()
    assert order.number in html and "Margherita" in html and "Peroni" in html
    assert "TVA par taux" in html and "10 %" in html and "20 %" in html
    assert "Reçue" in html  # timeline and state
    assert "À retirer entre" in html
    assert 'hx-trigger="every 5s' in html
    assert "Modifier" in html and "Annuler la commande" in html and "Commander à nouveau" in html


def test_staff_of_the_pizzeria_and_managers_see_it(client, shop, order):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    for user in (counter, manager):
        client.force_login(user)
        assert client.get(page(order.number)).status_code == 200


def test_anyone_else_gets_404(client, shop, order):
    stranger = factories.CustomerFactory().user
    elsewhere = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.other_pizzeria).user
    assert client.get(page(order.number)).status_code == 404
    for user in (stranger, elsewhere):
        client.force_login(user)
        for suffix in ("", "suivi/", "recu/", "modifier/", "annuler/"):
            assert client.get(page(order.number, suffix)).status_code == 404
    assert client.get(page("BAS-000000-999")).status_code == 404


def test_guest_signed_link_works_and_shows_no_edit_buttons(client, order):
    html = client.get(order_tracking_url(number=order.number)).content.decode()
    assert order.number in html
    assert "Annuler la commande" not in html and "Commander à nouveau" not in html
    assert "Pour modifier ou annuler cette commande, appelez OC Pizza Bastille" in html


def test_forged_expired_or_other_orders_links_are_404_without_leak(client, shop, order):
    other = place(shop)
    forged = tracking.order_tracking_token(number=order.number)[:-2] + "xx"
    foreign = unquote(order_tracking_url(number=other.number).split("?t=")[1])
    with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() - 31 * 86400):
        old = signing.TimestampSigner(salt=tracking.SALT).sign(order.number)
    for token in (forged, foreign, old, "n'importe quoi"):
        for suffix in ("", "suivi/", "recu/"):
            response = client.get(page(order.number, suffix), {"t": token})
            assert response.status_code == 404
            assert order.number not in response.content.decode()


# Live status


def test_status_partial_answers_304_while_the_order_has_not_changed(client, order, pizzaiolo, customer):
    client.force_login(customer.user)
    first = client.get(page(order.number, "suivi/"), headers={"HX-Request": "true"})
    assert first.status_code == 200 and "<html" not in first.content.decode()
    assert first["ETag"] and first["Last-Modified"]
    assert "no-cache" in first["Cache-Control"] and "private" in first["Cache-Control"]
    again = client.get(page(order.number, "suivi/"), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    moved = client.get(page(order.number, "suivi/"), headers={"If-None-Match": first["ETag"]})
    assert moved.status_code == 200
    html = moved.content.decode()
    assert "En préparation" in html
    assert "Annuler la commande" not in html  # the buttons go once the kitchen starts


def test_status_of_a_guest_link_is_conditional_too(client, order, pizzaiolo, django_assert_num_queries):
    url = order_tracking_url(number=order.number).replace("/?t=", "/suivi/?t=")
    first = client.get(url)
    assert first.status_code == 200
    order.refresh_from_db()
    assert first["Last-Modified"] == http_date(order.updated_at.timestamp())
    with django_assert_num_queries(1):
        assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    moved = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert moved.status_code == 200 and "En préparation" in moved.content.decode()
    assert moved["ETag"] != first["ETag"]


def test_status_query_count_is_flat_whatever_the_order_size_and_history(
    client, shop, customer, pizzaiolo, django_assert_num_queries
):
    client.force_login(customer.user)
    small = place(shop, customer=customer)
    # The session, the user with his staff membership (none), the order's version; the order, its lines and events.
    with django_assert_num_queries(6):
        client.get(page(small.number, "suivi/"))
    big = place(
        shop,
        [LineRequest(shop.margherita.pk, 3), LineRequest(shop.regina.pk, 2), LineRequest(shop.beer.pk, 5)],
        customer=customer,
    )
    order_transition(order_id=big.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    order_transition(order_id=big.pk, to_state=OrderState.READY, by=pizzaiolo)
    with django_assert_num_queries(6):
        client.get(page(big.number, "suivi/"))
    with django_assert_num_queries(5):
        client.get(page(big.number))
    etag = client.get(page(big.number, "suivi/"))["ETag"]
    with django_assert_num_queries(3):
        response = client.get(page(big.number, "suivi/"), headers={"If-None-Match": etag})
    assert response.status_code == 304


def test_finished_order_stops_polling(client, order, customer):
    client.force_login(customer.user)
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=customer.user)
    html = client.get(page(order.number)).content.decode()
    assert "hx-trigger" not in html and "Annulée" in html


# Edit and cancel


def test_owner_edits_lines_while_received(client, shop, order, customer):
    client.force_login(customer.user)
    form = client.get(page(order.number, "modifier/")).content.decode()
    assert f'name="qty_{shop.margherita.pk}--"' in form
    response = client.post(
        page(order.number, "modifier/"), {f"qty_{shop.margherita.pk}--": 1, f"qty_{shop.regina.pk}--": 1}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert sorted(order.lines.values_list("product_name", "quantity")) == [("Margherita", 1), ("Regina", 1)]
    assert ledger_matches_levels()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"qty_MARGHERITA": -1}, "au moins 0"),
        ({"qty_MARGHERITA": "beaucoup"}, "nombre entier"),
        ({"qty_MARGHERITA": 999}, "Au plus 50"),
        ({"qty_MARGHERITA": 0}, "Votre commande est vide."),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(client, shop, order, customer, data, message):
    client.force_login(customer.user)
    data = {key.replace("MARGHERITA", f"{shop.margherita.pk}--"): value for key, value in data.items()}
    html = client.post(page(order.number, "modifier/"), data).content.decode()
    assert message in html
    assert sorted(order.lines.values_list("product_name", "quantity")) == [("Margherita", 2), ("Peroni", 1)]


def test_edit_beyond_stock_says_sold_out(client, shop, order, customer):
    client.force_login(customer.user)
    stock_count_inventory(stock=shop.stock["ham"], counted=0)
    html = client.post(page(order.number, "modifier/"), {f"qty_{shop.regina.pk}--": 1}).content.decode()
    assert "Regina : épuisé" in html
    assert order.lines.count() == 2


def test_owner_cancels_with_a_reason(client, shop, order, customer):
    client.force_login(customer.user)
    assert "Pourquoi annulez-vous" in client.get(page(order.number, "annuler/")).content.decode()
    html = client.post(page(order.number, "annuler/"), {"reason": ""}).content.decode()
    assert "Dites-nous pourquoi vous annulez." in html
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED
    response = client.post(page(order.number, "annuler/"), {"reason": "Je me suis trompé"}, follow=True)
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED and order.cancel_reason == "customer"
    assert f"Commande {order.number} annulée." in response.content.decode()
    assert shop.level("dough") == 10 and ledger_matches_levels()


def test_counter_cancels_with_a_reason_code(client, shop, order):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    html = client.post(page(order.number, "annuler/"), {"reason": "rupture", "cancel_reason": "sold_out"})
    assert html.status_code == 302
    order.refresh_from_db()
    assert order.cancel_reason == "sold_out"


def test_cancel_or_edit_after_the_kitchen_started(client, order, customer, pizzaiolo):
    client.force_login(customer.user)
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    for suffix, data in (("annuler/", {"reason": "trop long"}), ("modifier/", {"qty_1": 1})):
        response = client.post(page(order.number, suffix), data, follow=True)
        assert "La cuisine a commencé votre commande" in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.PREPARING and order.lines.count() == 2


def test_kitchen_starts_while_the_customer_cancels(client, order, customer, pizzaiolo):
    """The cancel form was shown while received; the kitchen starts before it is posted."""
    client.force_login(customer.user)
    from ventes import views

    real = views.order_transition

    def kitchen_first(**kwargs):
        real(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
        return real(**kwargs)

    with mock.patch.object(views, "order_transition", kitchen_first):
        response = client.post(page(order.number, "annuler/"), {"reason": "trop long"}, follow=True)
    assert "La cuisine a commencé votre commande" in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.PREPARING and order.cancel_reason == ""


def test_kitchen_starts_while_the_customer_edits(client, shop, order, customer, pizzaiolo):
    client.force_login(customer.user)
    from ventes import views

    real = views.order_edit_lines

    def kitchen_first(**kwargs):
        order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
        return real(**kwargs)

    with mock.patch.object(views, "order_edit_lines", kitchen_first):
        response = client.post(page(order.number, "modifier/"), {f"qty_{shop.regina.pk}--": 1}, follow=True)
    assert "La cuisine a commencé votre commande" in response.content.decode()
    assert order.lines.count() == 2 and ledger_matches_levels()


def test_tampered_order_number_in_edit_forms_is_404(client, shop, customer):
    mine = place(shop, customer=customer)
    theirs = place(shop, customer=factories.CustomerFactory())
    client.force_login(customer.user)
    assert client.get(page(mine.number, "modifier/")).status_code == 200
    assert client.post(page(theirs.number, "annuler/"), {"reason": "x"}).status_code == 404
    assert client.post(page(theirs.number, "modifier/"), {f"qty_{shop.margherita.pk}--": 1}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == OrderState.RECEIVED


# Receipt and re-order


def test_receipt_is_printable_with_vat_by_rate_and_pizzeria_details(client, shop, order, customer):
    client.force_login(customer.user)
    html = client.get(page(order.number, "recu/")).content.decode()
    assert order.number in html and shop.pizzeria.address in html and shop.pizzeria.phone in html
    assert "css/print.css" in html and 'media="print"' in html
    assert "TVA par taux" in html and "Peroni" in html


def test_reorder_fills_the_cart_and_says_what_is_sold_out(client, shop, customer):
    past = place(
        shop,
        [LineRequest(shop.margherita.pk, 2), LineRequest(shop.regina.pk, 3), LineRequest(shop.beer.pk, 1)],
        customer=customer,
    )
    order_transition(order_id=past.pk, to_state=OrderState.CANCELLED, by=customer.user)
    stock_count_inventory(stock=shop.stock["ham"], counted=60)  # one Regina left
    stock_count_inventory(stock=shop.stock["beer"], counted=0)
    client.force_login(customer.user)
    response = client.post(page(past.number, "recommander/"), follow=True)
    html = response.content.decode()
    assert "Regina (plus que 1)" in html and "Peroni (épuisé)" in html
    assert client.session["cart"]["lines"] == {f"{shop.margherita.pk}::": 2, f"{shop.regina.pk}::": 1}
    assert client.session["cart"]["pizzeria_id"] == shop.pizzeria.pk


def test_reorder_is_for_the_owner_only_and_post_only(client, shop, order):
    assert client.post(page(order.number, "recommander/")).status_code == 404
    client.force_login(factories.CustomerFactory().user)
    assert client.post(page(order.number, "recommander/")).status_code == 404
    assert client.get(page(order.number, "recommander/")).status_code == 405
    assert "cart" not in client.session


def test_requested_slot_is_shown(client, shop, customer):
    slot = timezone.localtime(timezone.now() + datetime.timedelta(hours=2)).replace(second=0, microsecond=0)
    order = place(shop, customer=customer, requested_for=slot)
    client.force_login(customer.user)
    html = client.get(page(order.number)).content.decode()
    assert re.search(r"pour le \d\d/\d\d à \d\dh\d\d", html)
