"""The order page: who may see it, live status with conditional GET, edit, cancel, receipt, re-order."""

import datetime
import html
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
    assert "Regina : épuisé" in edit_line(html, shop.regina)  # beside the line it is about
    assert order.lines.count() == 2


def field(product) -> str:
    """The edit page's quantity field of a product as it comes."""
    return f"qty_{product.pk}--"


def edit_line(html: str, product) -> str:
    """The edit page's line of a product: from its list item to the end of its error slot."""
    name = field(product)
    start = html.index(f'id="moins-{name}"')
    return html[html.rindex('<li class="edit-line', 0, start) : html.index(f'id="id_{name}_error"', start) + 200]


def card(html: str, product) -> str:
    """The edit page's menu card of a product."""
    start = html.index(f'id="carte-{field(product)}"')
    return html[start : html.index("</li>", start)]


def test_the_edit_page_is_the_orders_lines_with_steppers_and_the_menus_cards(client, shop, order, customer):
    client.force_login(customer.user)
    html = client.get(page(order.number, "modifier/")).content.decode()
    margherita = edit_line(html, shop.margherita)
    for step in ("fewer", "more", "drop"):
        assert f'name="{step}" value="{field(shop.margherita)}"' in margherita
    assert f'name="{field(shop.margherita)}"' in margherita and 'value="2"' in margherita
    assert "Ajouter un produit" in html
    regina = card(html, shop.regina)
    assert f'name="add" value="{field(shop.regina)}"' in regina
    # Only when few are left, as on the menu; never the internal counts the page used to print.
    assert "plus que 5" in regina  # 300 g of ham, 60 g a pizza
    assert "possibles" not in html and "plus que 8" not in html and "plus que 23" not in html
    assert "Total des articles" in html and "23,50 €" in html


def test_the_cards_offer_only_what_the_pizzeria_can_still_make(client, shop, order, customer):
    stock_count_inventory(stock=shop.stock["ham"], counted=0)
    client.force_login(customer.user)
    html = client.get(page(order.number, "modifier/")).content.decode()
    assert f'id="carte-{field(shop.regina)}"' not in html and f'value="{field(shop.regina)}"' not in html
    assert f'name="add" value="{field(shop.margherita)}"' in card(html, shop.margherita)


def test_each_tap_draws_the_draft_again_and_writes_nothing(client, shop, order, customer):
    client.force_login(customer.user)
    draft = {field(shop.margherita): 2, field(shop.beer): 1}
    url = page(order.number, "modifier/")

    more = client.post(url, {**draft, "more": field(shop.margherita)}).content.decode()
    assert f'name="{field(shop.margherita)}" id="id_{field(shop.margherita)}" value="3"' in more
    assert "33,00 €" in more  # 3 × 9.50 + 4.50
    added = client.post(url, {**draft, "add": field(shop.regina)}).content.decode()
    assert f'name="{field(shop.regina)}" id="id_{field(shop.regina)}" value="1"' in edit_line(added, shop.regina)
    assert "1 dans la commande" in card(added, shop.regina)
    removed = client.post(url, {**draft, "drop": field(shop.beer)}).content.decode()
    assert f'name="{field(shop.beer)}"' not in removed and f'name="add" value="{field(shop.beer)}"' in removed
    fewer = client.post(url, {**draft, "fewer": field(shop.margherita)}).content.decode()
    assert f'id="id_{field(shop.margherita)}" value="1"' in fewer

    assert sorted(order.lines.values_list("product_name", "quantity")) == [("Margherita", 2), ("Peroni", 1)]
    assert order.events.count() == 1 and ledger_matches_levels()

    response = client.post(url, {field(shop.margherita): 3, field(shop.regina): 1})
    assert response.status_code == 302
    assert sorted(order.lines.values_list("product_name", "quantity")) == [("Margherita", 3), ("Regina", 1)]


def test_a_tap_past_the_stock_is_refused_beside_its_line(client, shop, order, customer):
    stock_count_inventory(stock=shop.stock["ham"], counted=120)  # two Reginas
    client.force_login(customer.user)
    url = page(order.number, "modifier/")
    draft = {field(shop.margherita): 2, field(shop.beer): 1, field(shop.regina): 2}

    html = client.post(url, {**draft, "more": field(shop.regina)}).content.decode()

    line = edit_line(html, shop.regina)
    assert "Regina : pas plus de 2" in line and 'value="2"' in line
    drawn = client.post(url, {**draft, "fewer": field(shop.beer)}).content.decode()
    assert f'id="plus-{field(shop.regina)}" class="stepper-button" formnovalidate disabled' in drawn
    assert "le maximum" in edit_line(drawn, shop.regina)
    assert order.lines.count() == 2 and order.events.count() == 1


def test_a_mistyped_quantity_is_told_beside_its_line_and_the_tap_waits(client, shop, order, customer):
    client.force_login(customer.user)
    data = {field(shop.margherita): "beaucoup", field(shop.beer): 1, "more": field(shop.beer)}
    html = client.post(page(order.number, "modifier/"), data).content.decode()
    assert "nombre entier" in edit_line(html, shop.margherita)
    assert f'id="id_{field(shop.beer)}" value="1"' in html
    assert sorted(order.lines.values_list("product_name", "quantity")) == [("Margherita", 2), ("Peroni", 1)]


def test_with_htmx_a_tap_swaps_the_form_and_the_save_leaves_for_the_order(client, shop, order, customer):
    client.force_login(customer.user)
    url = page(order.number, "modifier/")
    draft = {field(shop.margherita): 2, field(shop.beer): 1}

    swapped = client.post(url, {**draft, "more": field(shop.beer)}, headers={"HX-Request": "true"})
    html = swapped.content.decode()
    assert "<html" not in html and 'id="order-edit"' in html
    assert f'id="id_{field(shop.beer)}" value="2"' in html

    saved = client.post(url, {**draft, field(shop.beer): 2}, headers={"HX-Request": "true"})
    assert saved.status_code == 200 and saved["HX-Redirect"] == page(order.number)
    assert order.lines.get(product=shop.beer).quantity == 2


def test_owner_cancels_in_one_tap_on_a_reason(client, shop, order, customer):
    client.force_login(customer.user)
    html = client.get(page(order.number, "annuler/")).content.decode()
    for value in ("changed_mind", "too_long", "mistake", "other"):
        assert f'name="reason" value="{value}"' in html
    assert 'name="cancel_reason"' not in html

    response = client.post(page(order.number, "annuler/"), {"reason": "too_long"}, follow=True)

    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED and order.cancel_reason == "customer"
    assert order.events.latest("pk").note == "Délai trop long"
    assert f"Commande {order.number} annulée." in response.content.decode()
    assert shop.level("dough") == 10 and ledger_matches_levels()


def test_another_reason_may_say_a_few_words(client, order, customer):
    client.force_login(customer.user)
    client.post(page(order.number, "annuler/"), {"reason": "other", "detail": "Je serai absente ce soir"})
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert order.events.latest("pk").note == "Autre raison : Je serai absente ce soir"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choisissez pourquoi vous annulez."),
        ({"reason": "plus faim"}, "Choisissez une des raisons proposées."),
        ({"reason": "other", "detail": "x" * 301}, "Au plus 300 caractères."),
    ],
)
def test_a_cancel_without_a_reason_offered_changes_nothing(client, order, customer, data, message):
    client.force_login(customer.user)
    html = client.post(page(order.number, "annuler/"), data).content.decode()
    assert message in html
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED and order.events.count() == 1


def test_counter_cancels_in_one_tap_on_its_motive(client, shop, order):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    html = client.get(page(order.number, "annuler/")).content.decode()
    assert 'name="cancel_reason" value="sold_out"' in html and 'name="reason"' not in html
    assert 'value="payment_expired"' not in html
    assert "Choisissez le motif" in client.post(page(order.number, "annuler/"), {}).content.decode()

    response = client.post(page(order.number, "annuler/"), {"cancel_reason": "sold_out", "detail": "plus de pâte"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.cancel_reason == "sold_out" and order.events.latest("pk").note == "plus de pâte"


def _cancellation_read(client, number) -> str:
    text = client.get(page(number)).content.decode()
    return html.unescape(re.search(r'<p class="cancellation">(.*?)</p>', text).group(1))


def test_the_customer_reads_his_own_reason_back(client, order, customer):
    client.force_login(customer.user)
    client.post(page(order.number, "annuler/"), {"reason": "other", "detail": "Je serai absente ce soir"})
    assert _cancellation_read(client, order.number) == (
        "Annulée à votre demande (« Autre raison : Je serai absente ce soir »)."
    )


def test_a_cancel_by_the_pizzeria_tells_the_customer_why_and_keeps_the_staffs_words_for_the_staff(
    client, shop, order, customer
):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    client.post(page(order.number, "annuler/"), {"cancel_reason": "sold_out", "detail": "plus de pâte"})
    assert _cancellation_read(client, order.number) == "Motif : rupture de stock (« plus de pâte »)."
    client.force_login(customer.user)
    assert _cancellation_read(client, order.number) == (
        "Annulée par la pizzeria : un produit est en rupture de stock. Toutes nos excuses."
    )


def test_a_cancel_asked_on_the_phone_is_the_customers_without_the_staffs_words(client, shop, order, customer):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    client.post(page(order.number, "annuler/"), {"cancel_reason": "customer", "detail": "a rappelé à 19h"})
    client.force_login(customer.user)
    assert _cancellation_read(client, order.number) == "Annulée à votre demande."


def test_the_staffs_motive_is_the_note_when_they_add_nothing(client, shop, order):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    client.force_login(counter)
    client.post(page(order.number, "annuler/"), {"cancel_reason": "too_busy"})
    order.refresh_from_db()
    assert order.cancel_reason == "too_busy" and order.events.latest("pk").note == "pizzeria débordée"


def test_cancel_or_edit_after_the_kitchen_started(client, order, customer, pizzaiolo):
    client.force_login(customer.user)
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    for suffix, data in (("annuler/", {"reason": "too_long"}), ("modifier/", {"qty_1": 1})):
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
        response = client.post(page(order.number, "annuler/"), {"reason": "too_long"}, follow=True)
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
    assert client.post(page(theirs.number, "annuler/"), {"reason": "changed_mind"}).status_code == 404
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
