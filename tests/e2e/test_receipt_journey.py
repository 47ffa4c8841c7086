"""A counter member prints a receipt again, in a real browser: « DUPLICATA », and the journal says so."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.journal_helpers import completed
from ventes.models import JournalEntry
from ventes.services import LineRequest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "motdepasse-solide"
SHOTS = os.environ.get("UI_SCREENSHOTS_DIR")


def shoot(page, name):
    """No axe-core violation at phone size nor on a desktop; the screens saved for docs/ui when asked."""
    for width, height, suffix in [(390, 844, "390"), (1280, 800, "desktop")]:
        page.set_viewport_size({"width": width, "height": height})
        violations = Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"{name}-{suffix}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})


def test_a_receipt_reprinted_is_a_journalled_duplicata(browser, live_server, shop, settings):
    settings.COMPANY = {
        "NAME": "OC Pizza SAS",
        "ADDRESS": "12 rue de la Roquette, 75011 Paris",
        "SIRET": "123 456 789 00012",
        "VAT_NUMBER": "FR32123456789",
    }
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    order = completed(shop, manager, [LineRequest(shop.regina.pk, 2), LineRequest(shop.beer.pk, 1)])
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/equipe/connexion/")
    page.get_by_label("E-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion/" not in url)  # signed in before going on
    page.goto(f"{live_server.url}/commande/{order.number}/recu/")
    expect(page.get_by_text("Ticket n° BAS-000001")).to_be_visible()
    expect(page.get_by_text("SIRET 123 456 789 00012")).to_be_visible()
    shoot(page, "receipt")

    page.get_by_role("button", name="Réimprimer (duplicata)").click()
    expect(page.get_by_role("note")).to_have_text("DUPLICATA n° 1")
    assert JournalEntry.objects.filter(order=order, kind="duplicate").count() == 1
    shoot(page, "receipt-duplicata")
