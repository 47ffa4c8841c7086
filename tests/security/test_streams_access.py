"""Every stream URL, as every kind of visitor, answers what its page's live part answers.

The page is asked as the browser asks it (gunicorn's WSGI, the test ``Client``), its stream as the stream
server is asked (ASGI, the ``AsyncClient``). Where the page answers 200 the stream opens (PostgreSQL),
or says it is unavailable (SQLite: nothing to listen to); every refusal is the page's, status and place.
"""

from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from django.urls import reverse

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.tracking import order_tracking_token

# Committed rows: the stream's gate reads them on a thread of the stream server's own pool, with a connection of
# its own, as it does when deployed; it would not see what the test's transaction had not committed.
pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class World:
    users: dict
    orders: dict
    tokens: dict
    pizzeria: object
    other_pizzeria: object


@pytest.fixture
def world(shop):
    def staff(role, pizzeria, email):
        user = factories.UserFactory(email=email)
        factories.StaffMemberFactory(user=user, role=role, pizzeria=pizzeria)
        return user

    owner = factories.CustomerFactory(user=factories.UserFactory(email="client@example.com"))
    other_customer = factories.CustomerFactory(user=factories.UserFactory(email="autre@example.com"))
    orders = {
        "guest": place(shop),
        "account": place(shop, customer=owner),
        "elsewhere": place(shop, pizzeria_id=shop.other_pizzeria.pk),
    }
    users = {
        "anonymous": None,
        "owner": owner.user,
        "other customer": other_customer.user,
        "pizzaiolo": staff(StaffMember.PIZZAIOLO, shop.pizzeria, "pizzaiolo@ocpizza.fr"),
        "other pizzaiolo": staff(StaffMember.PIZZAIOLO, shop.other_pizzeria, "pizzaiolo-mon@ocpizza.fr"),
        "rider": staff(StaffMember.RIDER, shop.pizzeria, "livreur@ocpizza.fr"),
        "counter": staff(StaffMember.COUNTER, shop.pizzeria, "comptoir@ocpizza.fr"),
        "manager": staff(StaffMember.MANAGER, None, "manager@ocpizza.fr"),
    }
    tokens = {name: order_tracking_token(number=order.number) for name, order in orders.items()}
    return World(users, orders, tokens, shop.pizzeria, shop.other_pizzeria)


def _clients(user) -> tuple[Client, AsyncClient]:
    page, stream = Client(), AsyncClient()
    if user is not None:
        page.force_login(user)
        stream.force_login(user)
    return page, stream


def _same_answer(page_response, stream_response, on_postgres, what):
    if page_response.status_code == 200:
        expected = 200 if on_postgres else 503
        assert stream_response.status_code == expected, what
        if on_postgres:
            assert stream_response["Content-Type"] == "text/event-stream", what
        return
    assert stream_response.status_code == page_response.status_code, what
    if page_response.status_code == 302:
        # The staff login, back to the page that was asked: the stream's own address here.
        assert stream_response["Location"].split("?")[0] == page_response["Location"].split("?")[0], what


# Who may follow which order: the page's rules (ventes.selectors.order_for_viewer).
ORDER_VISITS = [
    # visitor, order, token of which order ("" none, "forged" a bad one)
    ("anonymous", "guest", ""),
    ("anonymous", "guest", "guest"),
    ("anonymous", "guest", "forged"),
    ("anonymous", "guest", "elsewhere"),
    ("anonymous", "account", ""),
    ("anonymous", "account", "account"),
    ("owner", "account", ""),
    ("owner", "guest", ""),
    ("other customer", "account", ""),
    ("other customer", "account", "guest"),
    ("other customer", "guest", "guest"),
    ("pizzaiolo", "guest", ""),
    ("pizzaiolo", "elsewhere", ""),
    ("other pizzaiolo", "guest", ""),
    ("other pizzaiolo", "elsewhere", ""),
    ("rider", "account", ""),
    ("counter", "account", ""),
    ("manager", "elsewhere", ""),
]


@pytest.mark.parametrize(("visitor", "order", "token"), ORDER_VISITS, ids=["-".join(v) for v in ORDER_VISITS])
def test_an_order_stream_answers_as_the_order_page(world, on_postgres, visitor, order, token):
    page, stream = _clients(world.users[visitor])
    number = world.orders[order].number
    query = {"t": "forged-token" if token == "forged" else world.tokens[token]} if token else {}
    page_response = page.get(reverse("ventes:order_status", args=[number]), query)
    stream_response = async_to_sync(stream.get)(reverse("flux:order", args=[number]), query)
    _same_answer(page_response, stream_response, on_postgres, (visitor, order, token, page_response.status_code))


def test_an_order_stream_refuses_what_its_page_refuses(world, on_postgres):
    """The cases above hold both answers: some visitors are let in, some are not."""
    refused = {"owner": 0, "other customer": 0}
    for visitor in refused:
        page, _ = _clients(world.users[visitor])
        refused[visitor] = page.get(reverse("ventes:order_status", args=[world.orders["account"].number])).status_code
    assert refused == {"owner": 200, "other customer": 404}


# The staff screens: each stream beside its live part, for the own pizzeria and another one.
STAFF_STREAMS = [
    ("flux:kitchen", "production:kitchen_board"),
    ("flux:rider", "production:rider_board"),
    ("flux:counter", "production:counter_board"),
]
STAFF_VISITORS = ["anonymous", "owner", "pizzaiolo", "other pizzaiolo", "rider", "counter", "manager"]


@pytest.mark.parametrize("visitor", STAFF_VISITORS)
def test_a_staff_stream_answers_as_its_board(world, on_postgres, visitor):
    page, stream = _clients(world.users[visitor])
    answers = set()
    for stream_name, board_name in STAFF_STREAMS:
        for pizzeria in (world.pizzeria, world.other_pizzeria):
            page_response = page.get(reverse(board_name, args=[pizzeria.slug]))
            stream_response = async_to_sync(stream.get)(reverse(stream_name, args=[pizzeria.slug]))
            _same_answer(page_response, stream_response, on_postgres, (visitor, stream_name, pizzeria.code))
            answers.add(page_response.status_code)
    page_response = page.get(reverse("production:dashboard_board"))
    stream_response = async_to_sync(stream.get)(reverse("flux:dashboard"))
    _same_answer(page_response, stream_response, on_postgres, (visitor, "dashboard"))
    answers.add(page_response.status_code)
    expected = {
        "anonymous": {302},
        "owner": {403},
        "pizzaiolo": {200, 403, 404},
        "other pizzaiolo": {200, 403, 404},
        "rider": {200, 403, 404},
        "counter": {200, 403, 404},
        "manager": {200},
    }
    assert answers == expected[visitor]


def test_gunicorn_never_holds_a_stream(world):
    """Asked of the WSGI server, a stream is refused at once: it would hold a worker for as long as it stays open."""
    page, _ = _clients(world.users["manager"])
    response = page.get(reverse("flux:kitchen", args=[world.pizzeria.slug]))
    assert response.status_code == 503
    assert not response.streaming
