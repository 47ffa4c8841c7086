"""A manager closes the whole chain on a day and opens one pizzeria late another, from the screen itself."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from production.models import OpeningException

from .test_pace_screens import looked_at, member, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_sets_exceptional_hours_for_the_chain_and_for_one_pizzeria(browser, live_server, shop):
    manager = member("manager", None, "direction@ocpizza.fr")
    closed_day = timezone.localdate() + datetime.timedelta(days=3)
    late_day = timezone.localdate() + datetime.timedelta(days=5)
    page = signed_in(browser, live_server, manager)
    page.goto(f"{live_server.url}/equipe/horaires/")

    page.get_by_label("Pour").select_option(label="Toute la chaîne")
    page.get_by_label("Jour", exact=True).fill(closed_day.isoformat())
    page.get_by_label("Fermée toute la journée").check()
    page.get_by_label("Motif").fill("Inventaire annuel")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("toute la chaîne : horaires du")).to_be_visible()

    # A mistake is said beside its field, and nothing is written.
    page.get_by_label("Pour").select_option(label=shop.other_pizzeria.name)
    page.get_by_label("Jour", exact=True).fill(late_day.isoformat())
    page.get_by_label("Ouverture", exact=True).fill("18:00")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#id_exception-closes_error")).to_contain_text("Indiquez la fermeture")
    assert OpeningException.objects.filter(day=late_day).count() == 0

    page.get_by_label("Fermeture", exact=True).fill("01:30")
    page.get_by_role("button", name="Enregistrer").click()
    days = page.locator(".calendar-day")
    expect(days.filter(has_text="Toute la chaîne")).to_contain_text("fermée — Inventaire annuel")
    expect(days.filter(has_text=shop.other_pizzeria.name)).to_contain_text("18h00–01h30 (le lendemain)")
    looked_at(page, "opening-exceptions")
    assert OpeningException.objects.filter(day=closed_day, chain_wide=True).count() == 2
