"""The managers' sales journal screen in a real browser: intact chains, then one altered by SQL."""

import datetime
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.journal_helpers import completed
from ventes.closings import closings_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "motdepasse-solide"
# Set to a folder (docs/ui) to keep the screenshots of the screen at phone and desktop widths.
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


def test_a_manager_sees_which_chain_holds_and_where_one_breaks(browser, live_server, shop):
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    for _ in range(2):
        completed(shop, manager)
    completed(shop, manager, pizzeria_id=shop.other_pizzeria.pk)
    # Today's till day as if it had ended: its Z is on the screen.
    closings_make(pizzeria_id=shop.pizzeria.pk, now=timezone.now() + datetime.timedelta(days=1))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/equipe/connexion/")
    page.get_by_label("E-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Journal des ventes").click()

    bastille = page.get_by_role("region", name="OC Pizza Bastille")
    expect(bastille).to_contain_text("Chaîne intacte")
    expect(bastille).to_contain_text("4 écritures")
    expect(bastille).to_contain_text("Ventes (2)19,00 € TTC")
    shoot(page, "sales-journal")
    bastille.get_by_role("button", name="Clôturer les journées terminées").click()
    expect(page.get_by_role("status")).to_contain_text("rien à clôturer")

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE ventes_journalentry SET amount = 0.01 WHERE pizzeria_id = %s AND sequence = 3", [shop.pizzeria.pk]
        )
    page.reload()
    expect(bastille).to_contain_text("Journal altéré")
    expect(bastille).to_contain_text("Écriture n° 3 : son contenu a été modifié")
    expect(page.get_by_role("region", name="OC Pizza Montmartre")).to_contain_text("Chaîne intacte")
    shoot(page, "sales-journal-broken")
