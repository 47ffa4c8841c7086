"""Scheduled orders wait in « À venir » until their fire time, then join the queue by themselves."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.ventes.helpers import place
from ventes.selectors import UPCOMING, kitchen_columns, kitchen_fingerprint
from ventes.services import LineRequest

pytestmark = pytest.mark.django_db

FRIDAY_MORNING = datetime.datetime(2026, 12, 4, 11, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))


def lanes(shop, now):
    return {
        column.state: [card.order.pk for card in column.cards]
        for column in kitchen_columns(pizzeria=shop.pizzeria, now=now)
    }


def test_an_evening_pickup_ordered_in_the_morning_waits_until_its_fire_time(shop):
    with time_machine.travel(FRIDAY_MORNING, tick=False) as clock:
        evening = place(shop, [LineRequest(shop.margherita.pk, 3)], requested_for=FRIDAY_MORNING.replace(hour=18))
        clock.shift(1)
        now_order = place(shop)
        # Three pizzas in two ovens: two batches of six minutes before 18:00.
        assert evening.fire_at == FRIDAY_MORNING.replace(hour=17, minute=48)
        assert now_order.fire_at is None
        board = lanes(shop, FRIDAY_MORNING)
        assert board[UPCOMING] == [evening.pk] and board["received"] == [now_order.pk]
        card = kitchen_columns(pizzeria=shop.pizzeria, now=FRIDAY_MORNING)[0].cards[0]
        assert card.fire_at == evening.fire_at and card.lateness == ""
        before = kitchen_fingerprint(pizzeria_id=shop.pizzeria.pk, now=evening.fire_at - datetime.timedelta(seconds=1))
        at_fire = kitchen_fingerprint(pizzeria_id=shop.pizzeria.pk, now=evening.fire_at)
        # Nothing was written at the fire time: the board's fingerprint still changes, so the screens redraw.
        assert before != at_fire
        board = lanes(shop, evening.fire_at)
        assert board[UPCOMING] == [] and board["received"] == [now_order.pk, evening.pk]


@time_machine.travel(FRIDAY_MORNING, tick=False)
def test_starting_an_order_well_before_its_fire_time_asks_for_a_confirmation(client, shop, team):
    later = FRIDAY_MORNING + datetime.timedelta(hours=2)
    order = place(shop, requested_for=later)
    client.force_login(team.pizzaiolo)
    start = reverse("production:kitchen_start", kwargs={"slug": shop.pizzeria.slug, "pk": order.pk})
    board = client.get(reverse("production:kitchen", kwargs={"slug": shop.pizzeria.slug})).content.decode()
    assert "Commencer en avance" in board and f"Confirmer : commencer {order.short_number} maintenant" in board
    page = client.post(start, follow=True).content.decode()
    fire = timezone.localtime(order.fire_at)
    assert f"Cette commande est à lancer à {fire:%H}h{fire:%M} : confirmez pour la commencer en avance." in page
    order.refresh_from_db()
    assert order.state == "received"
    client.post(start, {"avance": "1"})
    order.refresh_from_db()
    assert order.state == "preparing"
    # An order for now starts at the first tap.
    now_order = place(shop)
    client.post(reverse("production:kitchen_start", kwargs={"slug": shop.pizzeria.slug, "pk": now_order.pk}))
    now_order.refresh_from_db()
    assert now_order.state == "preparing"


@time_machine.travel(FRIDAY_MORNING, tick=False)
def test_the_board_shows_the_load_of_the_next_slots(client, shop, team):
    from production.models import Pizzeria

    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=1, pizzas_per_oven=3)
    place(shop, [LineRequest(shop.margherita.pk, 3)], requested_for=FRIDAY_MORNING.replace(minute=30))
    place(shop, [LineRequest(shop.margherita.pk, 1)], requested_for=FRIDAY_MORNING.replace(minute=45))
    client.force_login(team.pizzaiolo)
    html = client.get(reverse("production:kitchen_board", kwargs={"slug": shop.pizzeria.slug})).content.decode()
    loads = [
        " ".join(item.split())
        for item in re.findall(r'<li class="[^"]*"><span class="slot-time">(.*?)</li>', html, re.S)
    ]
    loads = [re.sub(r"<[^>]+>", "", item) for item in loads]
    assert loads == [
        "11h00 0/3 pizzas",
        "11h15 0/3 pizzas",
        "11h30 3/3 pizzas · complet",
        "11h45 1/3 pizzas",
    ]
