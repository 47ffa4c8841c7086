"""A guest's signed tracking link lets them change and cancel their order while the kitchen has not started, by
the owner's rules, for that order only; a client trying links that are not valid is slowed down."""

import html
from decimal import Decimal
from urllib.parse import unquote

import pytest

from production.models import StaffMember
from tests import factories
from ventes.exceptions import OrderNotEditable, TransitionForbidden
from ventes.models import CancelReason, Order, OrderEventType, OrderState
from ventes.services import LineRequest, order_edit_lines
from ventes.tracking import order_tracking_token, order_tracking_url
from ventes.workflow import order_transition

from .helpers import is_tracking_link, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def guest_order(shop):
    return place(shop, [LineRequest(shop.margherita.pk, 1)])


def link(order, suffix=""):
    return order_tracking_url(number=order.number).replace("/?t=", f"/{suffix}?t=")


def quantities(form, **wanted) -> dict[str, str]:
    """The edit form's fields as the page fills them, with the quantities changed by field label."""
    data = {}
    for name, field in form.fields.items():
        data[name] = str(wanted.get(field.label, field.initial or 0))
    return data


def test_the_guest_changes_their_order_from_the_link(client, shop, guest_order):
    page = client.get(link(guest_order)).content.decode()
    assert "Modifier" in page and "Annuler la commande" in page
    edit = client.get(link(guest_order, "modifier/"))
    assert edit.status_code == 200

    response = client.post(link(guest_order, "modifier/"), quantities(edit.context["form"], Margherita=3))

    assert response.status_code == 302
    assert is_tracking_link(response["Location"], number=guest_order.number)
    guest_order.refresh_from_db()
    assert guest_order.total == Decimal("28.50") and guest_order.lines.get().quantity == 3
    event = guest_order.events.get(type=OrderEventType.LINES_EDITED)
    assert event.by is None  # the guest has no account: the history says the customer, through their link


def test_the_guests_taps_stay_on_their_link(client, shop, guest_order):
    url = link(guest_order, "modifier/")
    margherita, beer = f"qty_{shop.margherita.pk}--", f"qty_{shop.beer.pk}--"
    assert f'hx-post="{unquote(url)}"' in html.unescape(client.get(url).content.decode())

    drawn = client.post(url, {margherita: 1, "add": beer}, headers={"HX-Request": "true"})

    assert f'id="id_{beer}" value="1"' in drawn.content.decode()
    assert guest_order.lines.count() == 1
    saved = client.post(url, {margherita: 1, beer: 1}, headers={"HX-Request": "true"})
    assert is_tracking_link(saved["HX-Redirect"], number=guest_order.number)
    assert sorted(guest_order.lines.values_list("product_name", "quantity")) == [("Margherita", 1), ("Peroni", 1)]


def test_the_guest_cancels_from_the_link_in_one_reason(client, shop, guest_order):
    page = client.get(link(guest_order, "annuler/")).content.decode()
    assert 'name="reason" value="mistake"' in page and "Garder ma commande" in page

    response = client.post(link(guest_order, "annuler/"), {"reason": "mistake"})

    assert response.status_code == 302
    guest_order.refresh_from_db()
    assert guest_order.state == OrderState.CANCELLED and guest_order.cancel_reason == CancelReason.CUSTOMER
    event = guest_order.events.get(type=OrderEventType.STATE_MOVED)
    assert (event.by, event.note) == (None, "Erreur dans la commande")


def test_once_the_kitchen_has_started_the_link_changes_nothing(client, shop, guest_order):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order_transition(order_id=guest_order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)

    response = client.post(link(guest_order, "annuler/"), {"reason": "too_long"}, follow=True)

    assert html.unescape(OrderNotEditable.default_message) in html.unescape(response.content.decode())
    guest_order.refresh_from_db()
    assert guest_order.state == OrderState.PREPARING


def test_a_link_acts_on_its_own_order_only(client, shop, guest_order):
    other = place(shop, [LineRequest(shop.margherita.pk, 1)])
    foreign = unquote(order_tracking_url(number=other.number).split("?t=")[1])
    for suffix in ("modifier/", "annuler/"):
        posted = client.post(f"/commande/{guest_order.number}/{suffix}", {"t": foreign, "reason": "too_long"})
        assert posted.status_code == 404
        assert client.get(f"/commande/{guest_order.number}/{suffix}", {"t": foreign}).status_code == 404
    with pytest.raises(TransitionForbidden):
        order_transition(order_id=guest_order.pk, to_state=OrderState.CANCELLED, link=foreign)
    with pytest.raises(TransitionForbidden):
        order_edit_lines(order_id=guest_order.pk, lines=[LineRequest(shop.margherita.pk, 5)], by=None, link=foreign)
    assert Order.objects.get(pk=guest_order.pk).state == OrderState.RECEIVED


def test_the_link_of_an_order_placed_with_an_account_only_shows_it(client, shop):
    customer = factories.CustomerFactory()
    order = place(shop, customer=customer)

    assert "Annuler la commande" not in client.get(link(order)).content.decode()
    assert client.get(link(order, "annuler/")).status_code == 404
    with pytest.raises(TransitionForbidden):
        order_transition(
            order_id=order.pk, to_state=OrderState.CANCELLED, link=order_tracking_token(number=order.number)
        )


def test_a_client_trying_links_that_are_not_valid_waits_an_hour(client, shop, guest_order):
    for attempt in range(20):
        assert client.get(f"/commande/{guest_order.number}/", {"t": f"devine-{attempt}"}).status_code == 404
    assert client.get(f"/commande/{guest_order.number}/", {"t": "devine-encore"}).status_code == 429

    refused = client.get(link(guest_order))  # even a good link, from that client, for now

    assert refused.status_code == 429
    assert "Trop de liens de suivi non valables" in refused.content.decode()
    assert client.get(link(guest_order, "suivi/")).status_code == 429  # the page's live part too
    assert client.get(link(guest_order), REMOTE_ADDR="192.0.2.7").status_code == 200  # another client is not
