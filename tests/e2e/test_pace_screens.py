"""The screens of capacity and busy mode in a real browser: full slots, staff override, busy mode, pause.

Each screen is checked with axe-core at phone size and on a desktop. With
``UI_SCREENSHOTS`` set to a folder, the screens are also saved there (``docs/ui``).
"""

import datetime
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from production.models import Pizzeria, StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.models import Order, OrderEvent, OrderEventType
from ventes.selectors import checkout_slots, pizzeria_get
from ventes.services import LineRequest

from .test_kitchen_journey import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"390": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def looked_at(page, name):
    """No axe-core violation at either size; saved for docs/ui when asked."""
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        violations = Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
        if folder := os.environ.get("UI_SCREENSHOTS"):
            page.screenshot(path=str(Path(folder) / f"{name}-{size}.png"), full_page=True)


def signed_in(browser, live_server, user):
    """A page of ``user``, once the log-in has landed (a page opened before would race its redirect)."""
    page = log_in(browser, live_server, user.email)
    page.wait_for_url(lambda url: "/connexion/" not in url)
    return page


def member(role, pizzeria, email):
    user = factories.UserFactory(email=email)  # with the factory's password, which log_in types
    factories.StaffMemberFactory(user=user, role=role, pizzeria=pizzeria)
    return user


def test_full_slots_busy_mode_and_a_timed_pause_on_the_screens(browser, live_server, shop):
    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(ovens=1, pizzas_per_oven=3)
    full = checkout_slots(pizzeria=pizzeria_get(pk=shop.pizzeria.pk))[4].at
    place(shop, [LineRequest(shop.margherita.pk, 3)], requested_for=full)
    label, value = timezone.localtime(full).strftime("%Hh%M"), timezone.localtime(full).strftime("%Y-%m-%dT%H:%M")

    # A customer sees the full slot, and cannot choose it.
    customer = browser.new_page()
    customer.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    customer.get_by_role("button", name="Ajouter Margherita").first.click()
    # The add is an htmx request: leaving before its answer would leave the cart empty.
    expect(customer.locator("#panier")).to_contain_text("Margherita")
    customer.goto(f"{live_server.url}/commander/")
    customer.get_by_label("À un créneau précis").check()
    option = customer.locator(f'#id_slot option[value="{value}"]')
    day = "Aujourd'hui" if timezone.localtime(full).date() == timezone.localdate() else "Demain"
    expect(option).to_have_text(f"{day} {label} — complet")
    expect(option).to_be_disabled()
    looked_at(customer, "checkout-full-slot")

    # The counter may take it anyway, and is warned.
    counter = signed_in(browser, live_server, member(StaffMember.COUNTER, shop.pizzeria, "comptoir@ocpizza.fr"))
    counter.goto(f"{live_server.url}/equipe/commande/")
    expect(counter.get_by_role("heading", name=f"Prise de commande — {shop.pizzeria.name}")).to_be_visible()
    counter.get_by_role("spinbutton", name="Margherita").fill("1")
    counter.locator("#id_customer_name").fill("M. Dupont")
    counter.locator("#id_customer_phone").fill("01 02 03 04 05")
    counter.get_by_label("À emporter").check()
    counter.get_by_label("À un créneau précis").check()
    counter.locator("#id_slot").select_option(value=value)
    counter.get_by_label("Espèces").check()
    counter.get_by_role("button", name="Enregistrer la commande").click()
    expect(counter.locator("#id_slot_error")).to_contain_text("est complet (3 pizzas prévues sur 3)")
    looked_at(counter, "staff-order-slot-full")
    counter.get_by_label("Prendre la commande même si le créneau est complet").check()
    counter.get_by_role("button", name="Enregistrer la commande").click()
    expect(counter.get_by_text("Attention, créneau complet forcé : 4 pizzas pour 3.")).to_be_visible()
    assert OrderEvent.objects.filter(type=OrderEventType.CAPACITY_OVERRIDDEN).count() == 1
    assert Order.objects.filter(slot=full).count() == 2

    # The kitchen puts itself in busy mode; the manager pauses another pizzeria for an hour.
    kitchen = signed_in(browser, live_server, member(StaffMember.PIZZAIOLO, shop.pizzeria, "four@ocpizza.fr"))
    kitchen.goto(f"{live_server.url}/equipe/{shop.pizzeria.slug}/cuisine/")
    kitchen.get_by_role("button", name="+20 min").click()
    expect(kitchen.get_by_text("Coup de feu +20 min jusqu'à")).to_be_visible()
    looked_at(kitchen, "kitchen-busy")
    manager = signed_in(browser, live_server, member(StaffMember.MANAGER, None, "direction@ocpizza.fr"))
    manager.goto(f"{live_server.url}/equipe/tableau-de-bord/")
    until = (timezone.localtime() + datetime.timedelta(hours=1)).strftime("%H:%M")
    card = manager.locator(f"#pizzeria-{shop.other_pizzeria.slug}")
    card.get_by_label("Pause jusqu'à").fill(until)
    card.get_by_role("button", name="Mettre en pause").click()
    expect(card.get_by_text(f"Commandes en pause jusqu'à {until.replace(':', 'h')}")).to_be_visible()
    expect(manager.locator(f"#pizzeria-{shop.pizzeria.slug}").get_by_text("Coup de feu +20 min")).to_be_visible()
    looked_at(manager, "dashboard-busy-paused")
