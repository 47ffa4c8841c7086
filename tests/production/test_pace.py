"""Busy mode and timed pauses end by themselves: proved with the clock stopped and moved on."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from production.exceptions import InvalidPace
from production.models import Pizzeria, PizzeriaEvent
from production.services import pizzeria_set_accepting_orders, pizzeria_set_busy
from tests.queue import run_queued_tasks
from tests.ventes.helpers import place
from ventes.capacity import slot_capacity
from ventes.exceptions import PizzeriaUnavailable
from ventes.models import OrderState
from ventes.pace import kitchens_busy_when_late
from ventes.selectors import dashboard_fingerprint, kitchen_columns
from ventes.services import LineRequest
from ventes.workflow import order_transition

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# A Friday evening, the clock stopped at 19:00.
FRIDAY_EVENING = datetime.datetime(2026, 12, 4, 19, 0, tzinfo=PARIS)
MINUTE = datetime.timedelta(minutes=1)


def at(hour, minute=0):
    return FRIDAY_EVENING.replace(hour=hour, minute=minute)


@pytest.fixture
def evening(shop):
    """The shop open 18:00–23:00 on Fridays; two ovens of six pizzas a quarter hour."""
    shop.pizzeria.opening_hours.all().delete()
    shop.pizzeria.opening_hours.create(weekday=4, opens=datetime.time(18, 0), closes=datetime.time(23, 0))
    with time_machine.travel(FRIDAY_EVENING, tick=False) as clock:
        yield clock


def fresh(shop):
    return Pizzeria.objects.get(pk=shop.pizzeria.pk)


def test_busy_mode_adds_its_minutes_and_lowers_capacity_until_its_end_then_ends_by_itself(shop, evening, team):
    pizzeria_set_busy(pizzeria=shop.pizzeria, minutes=20, until=at(19, 45), by=team.pizzaiolo)
    pizzeria = fresh(shop)
    assert pizzeria.busy_now == 20
    # Twelve pizzas a quarter hour, 15/35 of it while busy.
    assert slot_capacity(pizzeria=pizzeria, at=at(19, 30)) == 5
    assert slot_capacity(pizzeria=pizzeria, at=at(19, 45)) == 12
    busy = place(shop, [LineRequest(shop.margherita.pk, 1)])
    assert busy.estimated_ready_at == at(19, 26)  # six minutes of oven, twenty of busy kitchen
    # The kitchen's card and the customer's range read that one estimate.
    columns = kitchen_columns(pizzeria=pizzeria, now=at(19))
    card = next(card for column in columns for card in column.cards if card.order.pk == busy.pk)
    assert card.due_at == busy.estimated_ready_at

    evening.move_to(at(19, 46))  # nobody touched anything
    pizzeria = fresh(shop)
    assert pizzeria.busy_now == 0 and slot_capacity(pizzeria=pizzeria, at=at(20)) == 12
    calm = place(shop, [LineRequest(shop.margherita.pk, 1)])
    assert calm.estimated_ready_at == at(19, 46) + 6 * MINUTE
    assert list(PizzeriaEvent.objects.values_list("kind", "minutes", "until", "by")) == [
        ("busy", 20, at(19, 45), team.pizzaiolo.pk)
    ]


def test_busy_mode_without_an_end_lasts_until_closing(shop, evening):
    pizzeria_set_busy(pizzeria=shop.pizzeria, minutes=10)
    assert fresh(shop).busy_until == at(23)
    evening.move_to(at(22, 59))
    assert fresh(shop).busy_now == 10
    evening.move_to(at(23))
    assert fresh(shop).busy_now == 0


@pytest.mark.parametrize(
    "minutes, until, field",
    [(15, None, "minutes"), (10, FRIDAY_EVENING - MINUTE, "until"), (20, FRIDAY_EVENING, "until")],
)
def test_a_bad_busy_mode_changes_nothing(shop, evening, minutes, until, field):
    with pytest.raises(InvalidPace) as refused:
        pizzeria_set_busy(pizzeria=shop.pizzeria, minutes=minutes, until=until)
    assert refused.value.field == field
    assert fresh(shop).busy_minutes == 0 and not PizzeriaEvent.objects.exists()


def test_a_timed_pause_ends_by_itself(client, shop, evening, team):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False, until=at(19, 30), by=team.manager)
    with pytest.raises(PizzeriaUnavailable):
        place(shop)
    menu = reverse("ventes:menu", kwargs={"slug": shop.pizzeria.slug})
    assert "est débordée" in client.get(menu).content.decode()
    evening.move_to(at(19, 30))
    assert place(shop).state == "received"
    assert "est débordée" not in client.get(menu).content.decode()
    assert fresh(shop).is_paused is False


def test_a_pause_without_an_end_lasts_until_resumed(shop, evening):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)
    evening.move_to(at(22, 59))
    assert fresh(shop).is_paused
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=True)
    assert not fresh(shop).is_paused
    assert list(PizzeriaEvent.objects.order_by("at", "pk").values_list("kind", flat=True)) == ["paused", "resumed"]


def test_the_dashboard_shows_who_is_busy_or_paused_and_until_when(client, shop, evening, team):
    client.force_login(team.manager)
    before = dashboard_fingerprint(now=at(19))
    response = client.post(
        reverse("production:pizzeria_busy", kwargs={"slug": shop.pizzeria.slug}),
        {"minutes": "30", "until": "20:15", "back": "dashboard"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("production:dashboard")
    client.post(
        reverse("production:pizzeria_pause", kwargs={"slug": shop.other_pizzeria.slug}),
        {"accepting": "0", "until": "19:40"},
    )
    html = client.get(reverse("production:dashboard")).content.decode()
    assert "Coup de feu +30 min jusqu&#x27;à 20h15" in html or "Coup de feu +30 min jusqu'à 20h15" in html
    assert "Commandes en pause jusqu" in html and "19h40" in html
    assert dashboard_fingerprint(now=at(19)) != before
    evening.move_to(at(20, 16))
    html = client.get(reverse("production:dashboard")).content.decode()
    assert "Coup de feu +" not in html and "Commandes en pause" not in html
    # Both ended by themselves: the board's fingerprint says so, for the live refresh.
    assert dashboard_fingerprint(now=at(20, 16)) != dashboard_fingerprint(now=at(19, 30))


def test_a_pause_ending_after_midnight_is_tonight(client, shop, evening, team):
    evening.move_to(at(23, 30))
    client.force_login(team.manager)
    client.post(
        reverse("production:pizzeria_pause", kwargs={"slug": shop.pizzeria.slug}), {"accepting": "0", "until": "00:30"}
    )
    assert fresh(shop).paused_until == datetime.datetime(2026, 12, 5, 0, 30, tzinfo=PARIS)


def test_the_kitchen_sets_busy_mode_and_a_past_end_is_said_not_written(client, shop, evening, team):
    client.force_login(team.pizzaiolo)
    kitchen = reverse("production:kitchen", kwargs={"slug": shop.pizzeria.slug})
    busy_url = reverse("production:pizzeria_busy", kwargs={"slug": shop.pizzeria.slug})
    page = client.post(busy_url, {"minutes": "20", "until": "08:00"}, follow=True).content.decode()
    assert "Cette heure de fin est déjà passée." in page and fresh(shop).busy_minutes == 0
    assert "0/12 pizzas" in client.get(kitchen).content.decode()  # the board, rendered and kept for its ETag
    page = client.post(busy_url, {"minutes": "20"}, follow=True)
    assert page.redirect_chain[-1][0] == kitchen
    assert "Coup de feu +20 min jusqu" in page.content.decode() and fresh(shop).busy_now == 20
    assert "0/5 pizzas" in page.content.decode()  # busy mode lowers what the board says the ovens take
    client.post(busy_url, {"minutes": "0"})
    assert fresh(shop).busy_now == 0
    client.force_login(team.rider)
    assert client.post(busy_url, {"minutes": "10"}).status_code in (403, 404)
    assert fresh(shop).busy_now == 0


# --- Busy mode started by a kitchen running late ---------------------------------------------


def watch_kitchens():
    """What cron does every five minutes: queue the watch; the worker runs it."""
    call_command("cron_job", "watch_kitchens")
    run_queued_tasks()


def test_a_late_kitchen_goes_busy_by_itself_says_why_and_calms_down_by_itself(client, shop, evening, team, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "AUTO_BUSY_LATE_MINUTES": 15}
    assert ("*/5 * * * *", "ocpizzapp.cron.watch_kitchens") in settings.CRONJOBS
    late = [place(shop, [LineRequest(shop.margherita.pk, 1)]) for _ in range(2)]  # both due at 19:06
    evening.move_to(at(19, 20))
    watch_kitchens()  # fourteen minutes late on average: not yet
    assert fresh(shop).busy_now == 0 and not PizzeriaEvent.objects.exists()

    evening.move_to(at(19, 25))
    watch_kitchens()  # nineteen minutes: busy mode, by the smallest step covering it, for half an hour

    pizzeria = fresh(shop)
    assert (pizzeria.busy_now, pizzeria.busy_until) == (20, at(19, 55))
    assert pizzeria.busy_reason == "retard moyen de 19 min en cuisine"
    assert list(PizzeriaEvent.objects.values_list("kind", "minutes", "by", "note")) == [
        ("busy", 20, None, "retard moyen de 19 min en cuisine")
    ]
    client.force_login(team.pizzaiolo)
    kitchen = client.get(reverse("production:kitchen", kwargs={"slug": shop.pizzeria.slug})).content.decode()
    assert "Coup de feu +20 min jusqu" in kitchen and "automatique : retard moyen de 19 min en cuisine" in kitchen
    client.force_login(team.manager)
    dashboard = client.get(reverse("production:dashboard")).content.decode()
    assert "automatique : retard moyen de 19 min en cuisine" in dashboard

    evening.move_to(at(19, 30))
    watch_kitchens()  # already busy: left as it is
    assert PizzeriaEvent.objects.count() == 1

    for order in late:
        for state in (OrderState.PREPARING, OrderState.READY):
            order_transition(order_id=order.pk, to_state=state, by=team.pizzaiolo)
    evening.move_to(at(19, 56))
    watch_kitchens()  # caught up: busy mode ended by itself and does not start again
    pizzeria = fresh(shop)
    assert pizzeria.busy_now == 0 and PizzeriaEvent.objects.count() == 1


def test_one_forgotten_order_does_not_make_a_kitchen_busy(shop, evening, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "AUTO_BUSY_LATE_MINUTES": 15}
    place(shop, [LineRequest(shop.margherita.pk, 1)])  # due at 19:06, forgotten on the pass
    evening.move_to(at(19, 40))  # 34 minutes late, beside two orders on time: 12 minutes on average
    for _ in range(2):
        place(shop, [LineRequest(shop.margherita.pk, 1)])

    assert kitchens_busy_when_late(now=at(19, 40)) == []
    assert fresh(shop).busy_now == 0


def test_a_busy_mode_set_by_hand_stands_for_an_hour(shop, evening, team, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "AUTO_BUSY_LATE_MINUTES": 15}
    place(shop, [LineRequest(shop.margherita.pk, 1)])
    evening.move_to(at(19, 25))
    assert [p.pk for p in kitchens_busy_when_late(now=at(19, 25))] == [shop.pizzeria.pk]
    pizzeria_set_busy(pizzeria=fresh(shop), minutes=0, by=team.manager)  # « the oven is fine, we're catching up »
    assert fresh(shop).busy_reason == ""

    assert kitchens_busy_when_late(now=at(19, 35)) == []
    evening.move_to(at(20, 26))
    assert [p.pk for p in kitchens_busy_when_late(now=at(20, 26))] == [shop.pizzeria.pk]


def test_without_a_threshold_busy_mode_never_starts_by_itself(shop, evening, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "AUTO_BUSY_LATE_MINUTES": 0}
    place(shop, [LineRequest(shop.margherita.pk, 1)])
    evening.move_to(at(20))
    assert kitchens_busy_when_late(now=at(20)) == []
    assert not PizzeriaEvent.objects.exists()
