"""Slots take orders only while their ovens have room: picker, placing, editing, staff override."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.utils import timezone

from production.models import Pizzeria, StaffMember
from tests import factories
from ventes.estimates import order_expected_range
from ventes.exceptions import InvalidOrder, SlotFull
from ventes.models import Order, OrderEvent, OrderEventType, OrderState
from ventes.selectors import checkout_slots, pizzeria_get
from ventes.services import LineRequest, order_edit_lines
from ventes.workflow import order_transition

from .helpers import GUEST, place
from .test_views_checkout import fill_cart, token_of
from .test_views_staff import URL as STAFF_URL
from .test_views_staff import order_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_oven(shop):
    """One oven of three pizzas a quarter hour."""
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=1, pizzas_per_oven=3)
    shop.pizzeria.refresh_from_db()
    return shop


@pytest.fixture
def counter(shop):
    return factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user


def a_slot(shop, index=4):
    return checkout_slots(pizzeria=pizzeria_get(pk=shop.pizzeria.pk))[index].at


def option(html, slot):
    value = timezone.localtime(slot).strftime("%Y-%m-%dT%H:%M")
    return re.search(rf'<option value="{value}"[^>]*>[^<]*</option>', html).group(0)


def test_a_slot_holds_the_oven_load_of_its_orders_and_drinks_take_none(small_oven):
    slot = a_slot(small_oven)
    order = place(
        small_oven, [LineRequest(small_oven.margherita.pk, 2), LineRequest(small_oven.beer.pk, 3)], requested_for=slot
    )
    assert order.slot == slot and order.oven_load == 2
    room = next(room for room in checkout_slots(pizzeria=small_oven.pizzeria) if room.at == slot)
    assert (room.load, room.capacity, room.remaining) == (2, 3, 1)
    # Beer alone fits any slot, even a full one.
    place(small_oven, [LineRequest(small_oven.margherita.pk, 1)], requested_for=slot)
    assert place(small_oven, [LineRequest(small_oven.beer.pk, 4)], requested_for=slot).oven_load == 0


def test_a_full_slot_refuses_the_order_and_writes_nothing(small_oven):
    slot = a_slot(small_oven)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 2)], requested_for=slot)
    with pytest.raises(SlotFull) as refused:
        place(small_oven, [LineRequest(small_oven.regina.pk, 2)], requested_for=slot)
    assert refused.value.field == "requested_for"
    assert "complet (2 pizzas prévues sur 3)" in refused.value.message
    assert Order.objects.count() == 1 and small_oven.figures("ham") == (300, 0)
    # The next quarter hour has room, and one pizza still fits the first.
    assert place(
        small_oven, [LineRequest(small_oven.regina.pk, 2)], requested_for=slot + datetime.timedelta(minutes=15)
    )
    assert place(small_oven, [LineRequest(small_oven.regina.pk, 1)], requested_for=slot)


def test_a_cancelled_order_gives_its_room_back(small_oven, counter):
    slot = a_slot(small_oven)
    order = place(small_oven, [LineRequest(small_oven.margherita.pk, 3)], requested_for=slot)
    with pytest.raises(SlotFull):
        place(small_oven, [LineRequest(small_oven.margherita.pk, 1)], requested_for=slot)
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=counter, cancel_reason="too_busy")
    assert place(small_oven, [LineRequest(small_oven.margherita.pk, 3)], requested_for=slot).slot == slot


def test_an_order_bigger_than_a_slot_is_sent_to_the_phone(small_oven):
    with pytest.raises(InvalidOrder) as refused:
        place(small_oven, [LineRequest(small_oven.margherita.pk, 4)])
    assert refused.value.field == "lines" and "au plus 3 pizzas par quart d'heure" in refused.value.message
    assert small_oven.pizzeria.phone in refused.value.message
    assert not Order.objects.exists()


# A Friday evening in Paris, the clock stopped at 19:00.
FRIDAY_EVENING = datetime.datetime(2026, 12, 4, 19, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))


def test_asap_quotes_the_first_slot_with_room(shop):
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=3, pizzas_per_oven=1)
    with time_machine.travel(FRIDAY_EVENING, tick=False) as clock:
        first = place(shop, [LineRequest(shop.margherita.pk, 3)])
        # Three pizzas in three ovens: one batch of six minutes, in the 19:00 slot, which it fills.
        assert first.estimated_ready_at == FRIDAY_EVENING + datetime.timedelta(minutes=6)
        assert first.slot == FRIDAY_EVENING
        clock.shift(1)  # the queue counts the orders placed before
        second = place(shop, [LineRequest(shop.margherita.pk, 1)])
        # The queue alone would have it at 19:12; 19:00 is full, so 19:15, and the estimate moves with it.
        assert second.slot == FRIDAY_EVENING + datetime.timedelta(minutes=15)
        assert second.estimated_ready_at == second.slot
        assert order_expected_range(order=second)[0] == second.slot
        clock.shift(1)
        delivered = place(shop, [LineRequest(shop.margherita.pk, 2)], fulfilment="delivery")
        # Six pizzas queued, out at 19:12, delivered twenty minutes later: the 19:30 slot, which has room.
        assert delivered.slot == FRIDAY_EVENING + datetime.timedelta(minutes=30)


def test_asap_with_every_slot_full_until_closing_is_refused(small_oven):
    small_oven.pizzeria.opening_hours.all().delete()
    small_oven.pizzeria.opening_hours.create(weekday=4, opens=datetime.time(18, 0), closes=datetime.time(20, 0))
    Pizzeria.objects.filter(pk=small_oven.pizzeria.pk).update(ovens=3, pizzas_per_oven=1)
    with time_machine.travel(FRIDAY_EVENING + datetime.timedelta(minutes=20), tick=False):
        placed = [place(small_oven, [LineRequest(small_oven.margherita.pk, 3)]) for _ in range(3)]
        assert [timezone.localtime(order.slot).strftime("%H:%M") for order in placed] == ["19:15", "19:30", "19:45"]
        with pytest.raises(SlotFull) as refused:
            place(small_oven, [LineRequest(small_oven.margherita.pk, 1)])
    assert "plus de place en cuisine d'ici la fermeture" in refused.value.message
    assert Order.objects.count() == 3


def test_an_edit_must_fit_in_the_slot(small_oven, counter):
    slot = a_slot(small_oven)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 1)], requested_for=slot)
    order = place(small_oven, [LineRequest(small_oven.margherita.pk, 1)], requested_for=slot)
    with pytest.raises(SlotFull) as refused:
        order_edit_lines(order_id=order.pk, lines=[LineRequest(small_oven.margherita.pk, 3)], by=counter)
    assert "au plus 2 pizzas" in refused.value.message and refused.value.field == "lines"
    order.refresh_from_db()
    assert order.oven_load == 1 and order.lines.get().quantity == 1
    edited = order_edit_lines(order_id=order.pk, lines=[LineRequest(small_oven.margherita.pk, 2)], by=counter)
    assert Order.objects.get(pk=edited.pk).oven_load == 2


def test_the_picker_shows_full_slots_as_full_for_this_cart(client, small_oven):
    full, tight = a_slot(small_oven, 4), a_slot(small_oven, 5)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 3)], requested_for=full)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 2)], requested_for=tight)
    fill_cart(client, small_oven, small_oven.margherita, 1)
    html = client.get("/commander/").content.decode()
    assert "disabled" in option(html, full) and "complet" in option(html, full)
    assert "disabled" not in option(html, tight) and "complet" not in option(html, tight)
    fill_cart(client, small_oven, small_oven.margherita, 1)  # two pizzas now: the second slot cannot take them
    html = client.get("/commander/").content.decode()
    assert "disabled" in option(html, tight) and "complet" in option(html, tight)


@pytest.mark.parametrize(
    "when, message",
    [
        ("full", "est complet (3 pizzas prévues sur 3)"),
        ("past", "Ce créneau est déjà passé."),
        ("closed", "est fermée à ce moment-là."),
    ],
)
def test_a_slot_posted_by_hand_is_refused_beside_the_field(client, small_oven, when, message):
    full = a_slot(small_oven)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 3)], requested_for=full)
    if when == "closed":
        small_oven.pizzeria.opening_hours.filter(weekday=timezone.localtime(full).weekday()).delete()
    slot = full - datetime.timedelta(days=1) if when == "past" else full
    fill_cart(client, small_oven, small_oven.margherita, 1)
    token = token_of(client.get("/commander/"))
    value = timezone.localtime(slot).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/commander/", {**GUEST, "token": token, "when": "slot", "slot": value})
    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(r'<div id="id_slot_error" class="field-errors">(.*?)</div>', html, re.S).group(1)
    assert message in error.replace("&#x27;", "'")
    assert Order.objects.count() == 1 and small_oven.figures("dough") == (10, 3)


def test_staff_may_fill_a_full_slot_and_it_is_recorded(client, small_oven, counter):
    slot = a_slot(small_oven)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 3)], requested_for=slot)
    client.force_login(counter)
    value = timezone.localtime(slot).strftime("%Y-%m-%dT%H:%M")
    page = client.get(STAFF_URL).content.decode()
    assert "complet" in option(page, slot) and "disabled" not in option(page, slot)  # the staff may pick it
    one = {f"qty_{small_oven.margherita.pk}": 1}
    data = order_data(small_oven, token_of(client.get(STAFF_URL)), when="slot", slot=value, **one)
    refused = client.post(STAFF_URL, data).content.decode()
    assert "est complet (3 pizzas prévues sur 3)" in refused and Order.objects.count() == 1
    data = order_data(
        small_oven, token_of(client.get(STAFF_URL)), when="slot", slot=value, override_capacity="on", **one
    )
    page = client.post(STAFF_URL, data, follow=True).content.decode()
    assert "Attention, créneau complet forcé : 4 pizzas pour 3" in page
    order = Order.objects.latest("pk")
    assert order.slot == slot and order.channel == "phone"
    event = OrderEvent.objects.get(order=order, type=OrderEventType.CAPACITY_OVERRIDDEN)
    assert event.by == counter and event.params == {
        "slot": timezone.localtime(slot).isoformat(),
        "load_before": 3,
        "order_load": 1,
        "capacity": 3,
    }


def test_a_web_order_cannot_override(small_oven):
    slot = a_slot(small_oven)
    place(small_oven, [LineRequest(small_oven.margherita.pk, 3)], requested_for=slot)
    with pytest.raises(SlotFull):
        place(small_oven, [LineRequest(small_oven.margherita.pk, 1)], requested_for=slot, override_capacity=True)
    assert not OrderEvent.objects.filter(type=OrderEventType.CAPACITY_OVERRIDDEN).exists()
