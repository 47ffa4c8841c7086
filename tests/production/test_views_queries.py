"""Every staff screen costs the same number of queries with 5 or 200 orders (and ingredients)."""

import datetime
import re

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from production.services import stock_line_create
from tests import factories
from ventes.models import Fulfilment, OrderEvent, OrderState

# Any five orders in a row fill every list of every screen.
KINDS = [
    (OrderState.RECEIVED, Fulfilment.PICKUP),
    (OrderState.PREPARING, Fulfilment.DELIVERY),
    (OrderState.READY, Fulfilment.DELIVERY),
    (OrderState.READY, Fulfilment.PICKUP),
    (OrderState.OUT_FOR_DELIVERY, Fulfilment.DELIVERY),
]


# Session, user, and the staff member with his pizzeria (a manager's pizzeria: one more), then the screen's reads.
QUERIES = {
    "kitchen": 7,  # with the load of the next slots
    "kitchen_board": 7,
    "rider": 5,
    "rider_board": 5,
    "rider (manager)": 6,
    "counter": 5,
    "counter_board": 5,
    "stock": 6,
    "stock_line": 4,
    "stock_ledger": 4,
    "recipes": 3,
    "recipe": 5,
    "ticket": 4,
    "dashboard": 11,
    "dashboard_board": 11,
}


def populate(shop, team, count):
    """``count`` orders in every state, two lines each with their history, and ``count`` more ingredients."""
    now = timezone.now()
    events = []
    for pizzeria in (shop.pizzeria, shop.other_pizzeria):
        for index in range(count):
            state, fulfilment = KINDS[index % len(KINDS)]
            order = factories.OrderFactory(
                pizzeria=pizzeria,
                state=state,
                fulfilment=fulfilment,
                delivery_address="8 rue Keller" if fulfilment == Fulfilment.DELIVERY else "",
                estimated_ready_at=now + datetime.timedelta(minutes=index % 20 - 10),
                rider=team.rider if state == OrderState.OUT_FOR_DELIVERY else None,
                payment_state="paid" if index % 2 else "pending",
            )
            factories.OrderLineFactory(order=order, product=shop.margherita)
            factories.OrderLineFactory(order=order, product=shop.beer)
            events += [
                OrderEvent(order=order, type="placed", from_state="", to_state=OrderState.RECEIVED),
                OrderEvent(
                    order=order, type="state_moved", from_state=OrderState.RECEIVED, to_state=OrderState.PREPARING
                ),
                OrderEvent(order=order, type="state_moved", from_state=OrderState.PREPARING, to_state=OrderState.READY),
            ]
    OrderEvent.objects.bulk_create(events)
    for _ in range(count):
        ingredient = factories.IngredientFactory()
        stock_line_create(pizzeria=shop.pizzeria, ingredient=ingredient, on_hand=5, low_threshold=10)
        factories.RecipeLineFactory(product=shop.regina, ingredient=ingredient, quantity=1)


def screens(shop, team, order_id):
    slug = shop.pizzeria.slug
    stock_id = shop.stock["cheese"].pk
    return {
        "kitchen": (team.pizzaiolo, reverse("production:kitchen", args=[slug])),
        "kitchen_board": (team.pizzaiolo, reverse("production:kitchen_board", args=[slug])),
        "rider": (team.rider, reverse("production:rider", args=[slug])),
        "rider_board": (team.rider, reverse("production:rider_board", args=[slug])),
        "rider (manager)": (team.manager, reverse("production:rider", args=[slug])),
        "counter": (team.counter, reverse("production:counter", args=[slug])),
        "counter_board": (team.counter, reverse("production:counter_board", args=[slug])),
        "stock": (team.pizzaiolo, reverse("production:stock", args=[slug])),
        "stock_line": (team.pizzaiolo, reverse("production:stock_line", args=[slug, stock_id])),
        "stock_ledger": (team.pizzaiolo, reverse("production:stock_ledger", args=[slug])),
        "recipes": (team.pizzaiolo, reverse("production:recipe_list", args=[slug])),
        "recipe": (team.pizzaiolo, reverse("production:recipe_detail", args=[slug, shop.regina.pk])),
        "ticket": (team.pizzaiolo, reverse("production:order_ticket", args=[slug, order_id])),
        "dashboard": (team.manager, reverse("production:dashboard")),
        "dashboard_board": (team.manager, reverse("production:dashboard_board")),
    }


def query_counts(client, shop, team, order_id):
    """What each screen costs when it has to build everything (nothing cached yet)."""
    counts = {}
    for name, (user, url) in screens(shop, team, order_id).items():
        client.force_login(user)
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, name
        counts[name] = len(queries)
    return counts


def test_every_screen_costs_the_same_queries_with_5_or_200_orders(client, shop, team):
    populate(shop, team, 5)
    order_id = shop.pizzeria.orders.earliest("pk").pk
    with_5 = query_counts(client, shop, team, order_id)
    populate(shop, team, 195)
    assert shop.pizzeria.orders.count() == 200
    with_200 = query_counts(client, shop, team, order_id)
    assert with_200 == with_5
    assert with_5 == QUERIES


def test_a_kitchen_screen_refreshing_a_board_another_one_rendered_costs_three_queries(client, shop, team):
    """Session, user with his membership and its pizzeria, the board's fingerprint: whatever the number of orders."""
    populate(shop, team, 50)
    url = reverse("production:kitchen_board", args=[shop.pizzeria.slug])
    client.force_login(team.manager)
    etag = client.get(url)["ETag"]
    client.force_login(team.pizzaiolo)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) == 3
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(queries) == 3


def test_staff_pages_have_no_inline_script_or_style(client, shop, team):
    """A strict Content-Security-Policy is coming: scripts and styles come from static files only."""
    populate(shop, team, 5)
    for name, (user, url) in screens(shop, team, shop.pizzeria.orders.earliest("pk").pk).items():
        client.force_login(user)
        html = client.get(url).content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], name
        assert " style=" not in html and "<style" not in html, name
        assert " onclick=" not in html, name
