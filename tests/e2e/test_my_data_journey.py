"""A customer downloads their data, then erases their account, in a real browser; the privacy page."""

import json
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from accounts.models import User
from tests import factories
from tests.ventes.helpers import place
from ventes.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "motdepasse-solide"
# Set to a folder (docs/ui) to keep the screenshots at phone and desktop widths.
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


def test_a_customer_takes_their_data_then_erases_their_account(browser, live_server, shop):
    customer = factories.CustomerFactory(user__email="zenobie@example.org", user__first_name="Zénobie")
    order = place(shop, customer=customer, customer_name="Zénobie Quintrec", customer_email="zenobie@example.org")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/compte/connexion/")
    page.get_by_label("E-mail").fill("zenobie@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion/" not in url)  # signed in before going on
    page.goto(f"{live_server.url}/compte/")
    page.get_by_role("link", name="Mes données").click()
    expect(page.get_by_role("heading", name="Télécharger mes données")).to_be_visible()
    shoot(page, "my-data")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert data["commandes"][0]["numéro"] == order.number

    page.get_by_label("Pour confirmer, tapez EFFACER").fill("oui")
    page.get_by_label("Votre mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Effacer mon compte").click()
    expect(page.get_by_text("Tapez EFFACER en majuscules pour confirmer.")).to_be_visible()
    shoot(page, "my-data-error")
    assert User.objects.filter(email="zenobie@example.org").exists()

    page.get_by_label("Pour confirmer, tapez EFFACER").fill("EFFACER")
    page.get_by_label("Votre mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Effacer mon compte").click()
    expect(page.get_by_role("status")).to_contain_text("Votre compte et vos données personnelles sont effacés")
    assert not User.objects.filter(email="zenobie@example.org").exists()
    assert Order.objects.get(pk=order.pk).customer_name == "Client effacé"

    page.get_by_role("link", name="Données personnelles").click()
    expect(page.get_by_role("heading", name="Données personnelles")).to_be_visible()
    expect(page.get_by_text("12 mois après la commande")).to_be_visible()
    shoot(page, "privacy")
