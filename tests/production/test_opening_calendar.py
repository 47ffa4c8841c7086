"""Opening hours beyond the week: public holidays, dated exceptions, hours past midnight.

Each test stops the clock at a chosen moment (time-machine)."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from production.exceptions import InvalidPace
from production.models import OpeningException, OpeningHours, Pizzeria
from production.selectors import pizzeria_business_day, pizzeria_closes_at, pizzeria_is_open, public_holiday_on
from production.services import opening_exception_set
from tests.ventes.helpers import place
from ventes.exceptions import InvalidOrder, PizzeriaUnavailable
from ventes.selectors import checkout_slots, pizzeria_get

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


def week_of_evenings(pizzeria, closes=datetime.time(23, 0)):
    pizzeria.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(pizzeria=pizzeria, weekday=day, opens=datetime.time(18, 0), closes=closes) for day in range(7)
    )


def fresh(pizzeria):
    return pizzeria_get(pk=pizzeria.pk)


def slot_times(pizzeria, now):
    return [slot.at.astimezone(PARIS) for slot in checkout_slots(pizzeria=fresh(pizzeria), now=now)]


def test_christmas_is_known_and_each_pizzeria_chooses(shop):
    assert public_holiday_on(datetime.date(2026, 12, 25)) == "Noël"
    assert public_holiday_on(datetime.date(2026, 12, 24)) is None
    week_of_evenings(shop.pizzeria)
    week_of_evenings(shop.other_pizzeria)
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(opens_on_public_holidays=False)
    christmas_evening = paris(2026, 12, 25, 19, 0)
    closed, open_ = fresh(shop.pizzeria), fresh(shop.other_pizzeria)
    assert not pizzeria_is_open(closed, at=christmas_evening)
    assert pizzeria_is_open(open_, at=christmas_evening)
    # The day before, both open; on the day, no slot at the one that closes.
    eve = paris(2026, 12, 24, 12, 0)
    assert {slot.date() for slot in slot_times(shop.pizzeria, eve)} == {datetime.date(2026, 12, 24)}
    assert datetime.date(2026, 12, 25) in {slot.date() for slot in slot_times(shop.other_pizzeria, eve)}
    with time_machine.travel(eve, tick=False):
        with pytest.raises(InvalidOrder) as refused:
            place(shop, requested_for=paris(2026, 12, 25, 19, 30))
        assert refused.value.field == "requested_for" and "fermée à ce moment-là" in refused.value.message
        assert place(shop, requested_for=paris(2026, 12, 25, 19, 30), pizzeria_id=shop.other_pizzeria.pk)


def test_exceptions_close_the_right_days_chain_wide_and_per_pizzeria(shop):
    week_of_evenings(shop.pizzeria)
    week_of_evenings(shop.other_pizzeria)
    inventory, party = datetime.date(2026, 12, 7), datetime.date(2026, 12, 8)
    opening_exception_set(pizzeria=None, day=inventory, closed=True, label="Inventaire")
    # The chain closes on the 8th; Bastille opens anyway, at lunch only.
    opening_exception_set(pizzeria=None, day=party, closed=True, label="Fête du personnel")
    opening_exception_set(
        pizzeria=shop.pizzeria, day=party, closed=False, opens=datetime.time(11, 30), closes=datetime.time(14, 30)
    )
    assert OpeningException.objects.filter(chain_wide=True).count() == 3
    bastille, montmartre = fresh(shop.pizzeria), fresh(shop.other_pizzeria)
    for pizzeria in (bastille, montmartre):
        assert pizzeria_is_open(pizzeria, at=paris(2026, 12, 6, 19, 0))
        assert not pizzeria_is_open(pizzeria, at=paris(2026, 12, 7, 19, 0))
        assert pizzeria_is_open(pizzeria, at=paris(2026, 12, 9, 19, 0))
    assert pizzeria_is_open(bastille, at=paris(2026, 12, 8, 12, 0))
    assert not pizzeria_is_open(bastille, at=paris(2026, 12, 8, 19, 0))
    assert not pizzeria_is_open(montmartre, at=paris(2026, 12, 8, 12, 0))
    slots = slot_times(shop.pizzeria, paris(2026, 12, 7, 10, 0))
    assert slots[0] == paris(2026, 12, 8, 11, 30) and slots[-1] == paris(2026, 12, 8, 14, 15)
    with time_machine.travel(paris(2026, 12, 7, 19, 0), tick=False), pytest.raises(PizzeriaUnavailable):
        place(shop)  # closed for its inventory: nothing for now


def test_a_bad_exception_is_refused(shop):
    with pytest.raises(InvalidPace) as refused:
        opening_exception_set(pizzeria=shop.pizzeria, day=datetime.date(2026, 12, 7), closed=False, opens=None)
    assert refused.value.field == "opens" and not OpeningException.objects.exists()


def test_hours_past_midnight_work_across_the_date_change(client, shop):
    """Friday 18:00–01:00: at 00:30 on Saturday it is still Friday's evening."""
    week_of_evenings(shop.pizzeria, closes=datetime.time(1, 0))
    friday_evening, after_midnight = paris(2026, 12, 4, 23, 0), paris(2026, 12, 5, 0, 30)
    with time_machine.travel(friday_evening, tick=False) as clock:
        first = place(shop)
        slots = slot_times(shop.pizzeria, friday_evening)
        assert paris(2026, 12, 5, 0, 45) in slots and paris(2026, 12, 5, 1, 0) not in slots
        assert place(shop, requested_for=paris(2026, 12, 5, 0, 45)).slot == paris(2026, 12, 5, 0, 45)
        clock.move_to(after_midnight)
        pizzeria = fresh(shop.pizzeria)
        assert pizzeria_is_open(pizzeria) and pizzeria_closes_at(pizzeria) == paris(2026, 12, 5, 1, 0)
        assert pizzeria_business_day(pizzeria) == datetime.date(2026, 12, 4)
        late = place(shop)
        # The kitchen's day is still Friday: its numbers go on from Friday's.
        assert late.business_date == first.business_date == datetime.date(2026, 12, 4)
        assert late.number == "BAS-261204-003"
        menu = client.get(reverse("ventes:menu", kwargs={"slug": shop.pizzeria.slug})).content.decode()
        assert "Ouverte" in menu
        clock.move_to(paris(2026, 12, 5, 1, 0))
        assert not pizzeria_is_open(fresh(shop.pizzeria))
        with pytest.raises(PizzeriaUnavailable):
            place(shop)
        # Saturday's evening is Saturday's day again.
        clock.move_to(paris(2026, 12, 5, 19, 0))
        assert place(shop).number == "BAS-261205-001"
