"""The tracking page draws the order's steps with the time each was reached, the window it is expected in, the
rider on the road, and the pizzeria's phone."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from production.models import StaffMember
from tests import factories
from ventes.models import Fulfilment, OrderState
from ventes.selectors import order_events, order_progress
from ventes.services import LineRequest
from ventes.tracking import order_tracking_token, order_tracking_url
from ventes.workflow import order_transition

from .helpers import place

pytestmark = pytest.mark.django_db


def steps(order):
    return [
        (stage.label, stage.at, stage.current)
        for stage in order_progress(order=order, events=order_events(order=order))
    ]


def test_a_delivery_reaches_its_steps_one_by_one_with_their_times(shop):
    rider = factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=shop.pizzeria).user
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        order = place(shop, [LineRequest(shop.margherita.pk, 1)], fulfilment=Fulfilment.DELIVERY)
        assert steps(order) == [
            ("Reçue", start, True),
            ("Au four", None, False),
            ("Prête", None, False),
            ("En route", None, False),
            ("Livrée", None, False),
        ]
        moves = [(OrderState.PREPARING, manager), (OrderState.READY, manager), (OrderState.OUT_FOR_DELIVERY, rider)]
        for minutes, (state, by) in enumerate(moves, start=1):
            clock.move_to(start + datetime.timedelta(minutes=5 * minutes))
            order_transition(order_id=order.pk, to_state=state, by=by)
    order.refresh_from_db()
    five = datetime.timedelta(minutes=5)
    assert steps(order) == [
        ("Reçue", start, False),
        ("Au four", start + five, False),
        ("Prête", start + 2 * five, False),
        ("En route", start + 3 * five, True),
        ("Livrée", None, False),
    ]


def test_a_tap_taken_back_takes_its_step_back_too(shop):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order = place(shop, [LineRequest(shop.margherita.pk, 1)])
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    order_transition(order_id=order.pk, to_state=OrderState.RECEIVED, by=pizzaiolo)
    order.refresh_from_db()
    assert [(label, at is not None, current) for label, at, current in steps(order)] == [
        ("Reçue", True, True),
        ("Au four", False, False),
        ("Prête à retirer", False, False),
        ("Retirée", False, False),
    ]


def test_a_cancelled_order_has_no_steps(shop):
    order = place(shop, [LineRequest(shop.margherita.pk, 1)])
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, link=order_tracking_token(number=order.number))
    order.refresh_from_db()
    assert steps(order) == []


def test_the_tracking_page_shows_the_window_the_steps_the_rider_and_the_phone(client, shop):
    rider = factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=shop.pizzeria, user__first_name="Karim").user
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    order = place(shop, [LineRequest(shop.margherita.pk, 1)], fulfilment=Fulfilment.DELIVERY)
    for state, by in [
        (OrderState.PREPARING, manager),
        (OrderState.READY, manager),
        (OrderState.OUT_FOR_DELIVERY, rider),
    ]:
        order_transition(order_id=order.pk, to_state=state, by=by)

    page = " ".join(client.get(order_tracking_url(number=order.number)).content.decode().split())

    assert 'aria-label="Avancement de la commande"' in page
    assert '<li class="stage is-done is-current" aria-current="step"> <span class="stage-label">En route</span>' in page
    assert "Livraison prévue entre" in page
    assert "Votre livreur Karim est en route." in page
    assert f'<a href="tel:{shop.pizzeria.phone}">{shop.pizzeria.phone}</a>' in page
