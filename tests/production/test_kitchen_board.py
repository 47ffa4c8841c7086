"""The kitchen board: its ETag follows its orders and the clock, and it is rendered once for all the screens."""

import datetime
import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.ventes.helpers import place
from ventes import selectors
from ventes.models import Order, OrderEvent, OrderState
from ventes.services import LineRequest, order_edit_lines
from ventes.workflow import order_transition

HTMX = {"HTTP_HX_REQUEST": "true"}
CARD = re.compile(r'kitchen-card(?: is-(\w+))?" id="order-(\d+)"\s+data-order-id="\d+" data-state="(\w+)"')


def url(name, pizzeria, **kwargs):
    return reverse(f"production:{name}", kwargs={"slug": pizzeria.slug, **kwargs})


def board(client, pizzeria, etag=None):
    """A kitchen screen's poll, sent with the ETag of the board it shows."""
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return client.get(url("kitchen_board", pizzeria), **headers, **HTMX)


def cards(response):
    """The board's cards: order -> (state, lateness)."""
    return {int(pk): (state, lateness) for lateness, pk, state in CARD.findall(response.content.decode())}


def the_board(response):
    """The shared part of a board, without the viewer's messages."""
    html = response.content.decode()
    return html[html.index('<div class="kitchen-board"') :]


def screens(team):
    """A pizzaiolo's tablet and the manager's screen on the same kitchen."""
    pizzaiolo, manager = Client(), Client()
    pizzaiolo.force_login(team.pizzaiolo)
    manager.force_login(team.manager)
    return pizzaiolo, manager


def test_every_change_to_an_order_reaches_every_screen_at_its_next_refresh(shop, team):
    pizzaiolo, manager = screens(team)
    first = place(shop)
    etag = board(pizzaiolo, shop.pizzeria)["ETag"]
    assert board(manager, shop.pizzeria, etag).status_code == 304

    def next_refresh():
        nonlocal etag
        seen = []
        for screen in (pizzaiolo, manager):
            response = board(screen, shop.pizzeria, etag)
            assert response.status_code == 200
            seen.append(response)
        assert the_board(seen[0]) == the_board(seen[1])
        etag = seen[0]["ETag"]
        return {pk: state for pk, (state, _) in cards(seen[0]).items()}

    second = place(shop)
    assert next_refresh() == {first.pk: "received", second.pk: "received"}
    order_transition(order_id=first.pk, to_state=OrderState.PREPARING, by=team.pizzaiolo)
    assert next_refresh() == {first.pk: "preparing", second.pk: "received"}
    order_edit_lines(order_id=second.pk, lines=[LineRequest(shop.regina.pk, 2)], by=team.counter)
    assert next_refresh() == {first.pk: "preparing", second.pk: "received"}
    assert "Regina" in the_board(board(pizzaiolo, shop.pizzeria))
    order_transition(order_id=second.pk, to_state=OrderState.CANCELLED, by=team.counter, cancel_reason="too_busy")
    assert next_refresh() == {first.pk: "preparing"}
    order_transition(order_id=first.pk, to_state=OrderState.READY, by=team.pizzaiolo)
    assert next_refresh() == {first.pk: "ready"}
    order_transition(order_id=first.pk, to_state=OrderState.COMPLETED, by=team.counter)
    assert next_refresh() == {}


def test_a_card_turning_amber_then_red_is_a_new_board(client, shop, team):
    order = place(shop)
    client.force_login(team.pizzaiolo)

    def due_in(minutes):
        # As if the clock had moved: ``update`` leaves the order's ``updated_at`` as it was.
        Order.objects.filter(pk=order.pk).update(
            estimated_ready_at=timezone.now() + datetime.timedelta(minutes=minutes)
        )

    due_in(30)
    response = board(client, shop.pizzeria)
    assert cards(response) == {order.pk: ("received", "")}
    due_in(2)
    response = board(client, shop.pizzeria, response["ETag"])
    assert response.status_code == 200
    assert cards(response) == {order.pk: ("received", "soon")}
    due_in(-1)
    response = board(client, shop.pizzeria, response["ETag"])
    assert response.status_code == 200
    assert cards(response) == {order.pk: ("received", "late")}


def test_an_undo_running_out_is_a_new_board(client, shop, team):
    order = place(shop)
    client.force_login(team.pizzaiolo)
    undo = url("kitchen_undo", shop.pizzeria, pk=order.pk)
    assert undo in client.post(url("kitchen_start", shop.pizzeria, pk=order.pk), **HTMX).content.decode()
    response = board(client, shop.pizzeria)
    assert undo in response.content.decode()
    OrderEvent.objects.filter(order=order).update(at=timezone.now() - datetime.timedelta(seconds=61))
    response = board(client, shop.pizzeria, response["ETag"])
    assert response.status_code == 200
    assert undo not in response.content.decode()


def test_the_fingerprint_moves_whenever_the_clock_changes_a_card(shop, team):
    """Minute after minute, one fingerprint always stands for the same cards."""
    now = timezone.now()
    soon, later, tapped = place(shop), place(shop), place(shop)
    Order.objects.filter(pk=soon.pk).update(estimated_ready_at=now + datetime.timedelta(minutes=3))
    Order.objects.filter(pk=later.pk).update(estimated_ready_at=now + datetime.timedelta(minutes=9))
    order_transition(order_id=tapped.pk, to_state=OrderState.PREPARING, by=team.pizzaiolo)
    Order.objects.filter(pk=tapped.pk).update(estimated_ready_at=now + datetime.timedelta(minutes=12))
    boards = {}
    for seconds in range(0, 14 * 60, 15):
        at = now + datetime.timedelta(seconds=seconds)
        columns = selectors.kitchen_columns(pizzeria=shop.pizzeria, now=at)
        shown = sorted((card.order.pk, card.lateness, card.undo_to) for column in columns for card in column.cards)
        fingerprint = selectors.kitchen_fingerprint(pizzeria_id=shop.pizzeria.pk, now=at)
        assert boards.setdefault(fingerprint, shown) == shown, at
    # The first card amber and its tap undoable; the undo gone; then five turns, amber or red, one card at a time.
    # (The quarter hour under way ends every fingerprint: the board shows the load of the next slots.)
    assert len({fingerprint.rsplit("-", 1)[0] for fingerprint in boards}) == 7


def test_screens_share_the_board_but_not_their_messages_nor_a_csrf_token(shop, team):
    order = place(shop)
    pizzaiolo, manager = screens(team)
    board(pizzaiolo, shop.pizzeria)
    manager.post(url("kitchen_start", shop.pizzeria, pk=order.pk))  # without htmx: the message waits for the board
    managers = board(manager, shop.pizzeria)
    pizzaiolos = board(pizzaiolo, shop.pizzeria)
    message = f"Commande {order.short_number} : en préparation."
    assert message in managers.content.decode()
    assert message not in pizzaiolos.content.decode()
    assert the_board(managers) == the_board(pizzaiolos)
    assert "csrfmiddlewaretoken" not in managers.content.decode() + pizzaiolos.content.decode()


def test_each_pizzeria_has_its_own_board(client, shop, team):
    here, there = place(shop), place(shop, pizzeria_id=shop.other_pizzeria.pk)
    client.force_login(team.pizzaiolo)
    assert cards(board(client, shop.pizzeria)).keys() == {here.pk}
    client.force_login(team.other_pizzaiolo)
    assert cards(board(client, shop.other_pizzeria)).keys() == {there.pk}
    client.force_login(team.manager)
    assert cards(board(client, shop.pizzeria)).keys() == {here.pk}
    assert cards(board(client, shop.other_pizzeria)).keys() == {there.pk}


def test_the_tapping_screen_renders_the_board_for_the_others(shop, team):
    order = place(shop)
    pizzaiolo, manager = screens(team)
    pizzaiolo.post(url("kitchen_start", shop.pizzeria, pk=order.pk), **HTMX)
    with CaptureQueriesContext(connection) as queries:
        response = board(manager, shop.pizzeria)
    assert cards(response) == {order.pk: ("preparing", "")}
    assert not [query for query in queries if "ventes_orderline" in query["sql"]]


def test_a_change_saved_with_an_older_clock_still_changes_the_fingerprint(shop, team):
    """Two taps at once: the transaction that commits last may carry the older time, or come from a server behind."""
    first, second = place(shop), place(shop)
    order_transition(order_id=second.pk, to_state=OrderState.PREPARING, by=team.pizzaiolo)
    now = timezone.now() + datetime.timedelta(minutes=2)  # the taps' undo buttons have gone
    before = selectors.kitchen_fingerprint(pizzeria_id=shop.pizzeria.pk, now=now)
    order_transition(order_id=first.pk, to_state=OrderState.PREPARING, by=team.pizzaiolo)
    older = Order.objects.get(pk=second.pk).updated_at - datetime.timedelta(seconds=1)
    Order.objects.filter(pk=first.pk).update(updated_at=older)
    OrderEvent.objects.filter(order=first, to_state=OrderState.PREPARING).update(at=older)
    assert selectors.kitchen_fingerprint(pizzeria_id=shop.pizzeria.pk, now=now) != before
