"""A scheduled order waits in « À venir » on the kitchen screen, moves into the queue at its fire time, and the
screen beside the printer prints its ticket then, and each order's only once."""

import datetime
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.services import LineRequest

from .test_pace_screens import looked_at, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The browser's print dialog cannot be driven headless: the page's print() notes what it was asked to print.
RECORD_PRINTS = """
window.print = function () {
  var ticket = document.querySelector(".print-area .ticket h1");
  var printed = JSON.parse(window.localStorage.getItem("test-prints") || "[]");
  printed.push(ticket ? ticket.textContent : "(page entière)");
  window.localStorage.setItem("test-prints", JSON.stringify(printed));
};
"""


def prints(page) -> list[str]:
    return page.evaluate("JSON.parse(window.localStorage.getItem('test-prints') || '[]')")


def wait_for_prints(page, count: int, *, seconds: float = 30) -> list[str]:
    """Polled from here: the page's strict CSP refuses the string a wait_for_function would evaluate."""
    deadline = time.monotonic() + seconds
    while len(printed := prints(page)) < count:
        assert time.monotonic() < deadline, printed
        page.wait_for_timeout(200)
    return printed


def test_a_scheduled_order_joins_the_queue_by_itself_at_its_fire_time_and_prints_then(browser, live_server, shop):
    pizzaiolo = factories.UserFactory(email="four@ocpizza.fr")
    factories.StaffMemberFactory(user=pizzaiolo, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    already = place(shop, [LineRequest(shop.regina.pk, 1)])
    now = timezone.now()
    # One pizza bakes in one batch of six minutes: asked for in seven minutes and a half, it fires in ninety seconds.
    scheduled = place(
        shop, [LineRequest(shop.margherita.pk, 1)], requested_for=now + datetime.timedelta(minutes=7, seconds=30)
    )
    assert now < scheduled.fire_at <= now + datetime.timedelta(seconds=91)
    kitchen = signed_in(browser, live_server, pizzaiolo)
    kitchen.add_init_script(RECORD_PRINTS)
    kitchen.goto(f"{live_server.url}/equipe/{shop.pizzeria.slug}/cuisine/")
    upcoming, queue = kitchen.locator(".column-upcoming"), kitchen.locator(".column-received")
    expect(queue.locator(f"#order-{already.pk}")).to_be_visible()

    # Turned on at the screen beside the printer: the order already in the queue is not printed again.
    toggle = kitchen.locator("[data-auto-print]")
    expect(toggle).to_have_text("Imprimer les tickets")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_text("Tickets imprimés automatiquement")
    card = upcoming.locator(f"#order-{scheduled.pk}")
    expect(card).to_contain_text(f"À lancer à {timezone.localtime(scheduled.fire_at):%Hh%M}")
    expect(queue.locator(f"#order-{scheduled.pk}")).to_have_count(0)
    looked_at(kitchen, "kitchen-upcoming")

    # An order for now prints as soon as the screen sees it.
    arriving = place(shop, [LineRequest(shop.regina.pk, 2)])
    expect(queue.locator(f"#order-{arriving.pk}")).to_be_visible(timeout=15_000)
    assert wait_for_prints(kitchen, 1) == [f"N° {arriving.short_number}"]

    # Nobody taps anything: the screen's polling brings the scheduled one into the queue once its fire time has
    # passed, and its ticket prints then, not before.
    assert timezone.now() < scheduled.fire_at
    expect(queue.locator(f"#order-{scheduled.pk}")).to_be_visible(timeout=120_000)
    expect(upcoming.locator(f"#order-{scheduled.pk}")).to_have_count(0)
    assert timezone.now() >= scheduled.fire_at
    assert wait_for_prints(kitchen, 2) == [f"N° {arriving.short_number}", f"N° {scheduled.short_number}"]

    # The screen reloaded (or restarted) prints nothing twice.
    kitchen.reload()
    expect(queue.locator(f"#order-{scheduled.pk}")).to_be_visible()
    expect(kitchen.get_by_role("button", name="Tickets imprimés automatiquement")).to_be_visible()
    kitchen.wait_for_timeout(5_000)  # one more refresh of the board
    assert len(prints(kitchen)) == 2
