"""A scheduled order waits in « À venir » on the kitchen screen and moves into the queue at its fire time."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.services import LineRequest

from .test_pace_screens import looked_at, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_scheduled_order_joins_the_queue_by_itself_at_its_fire_time(browser, live_server, shop):
    pizzaiolo = factories.UserFactory(email="four@ocpizza.fr")
    factories.StaffMemberFactory(user=pizzaiolo, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    now = timezone.now()
    # One pizza bakes in one batch of six minutes: asked for in six minutes and a half, it fires in thirty seconds.
    scheduled = place(
        shop, [LineRequest(shop.margherita.pk, 1)], requested_for=now + datetime.timedelta(minutes=6, seconds=30)
    )
    assert now < scheduled.fire_at <= now + datetime.timedelta(seconds=31)
    kitchen = signed_in(browser, live_server, pizzaiolo)
    kitchen.goto(f"{live_server.url}/equipe/{shop.pizzeria.slug}/cuisine/")
    upcoming, queue = kitchen.locator(".column-upcoming"), kitchen.locator(".column-received")
    card = upcoming.locator(f"#order-{scheduled.pk}")
    expect(card).to_contain_text(f"À lancer à {timezone.localtime(scheduled.fire_at):%Hh%M}")
    expect(queue.locator(f"#order-{scheduled.pk}")).to_have_count(0)
    looked_at(kitchen, "kitchen-upcoming")
    # Nobody taps anything: the screen's polling brings it into the queue once its fire time has passed.
    expect(queue.locator(f"#order-{scheduled.pk}")).to_be_visible(timeout=60_000)
    expect(upcoming.locator(f"#order-{scheduled.pk}")).to_have_count(0)
    assert timezone.now() >= scheduled.fire_at
