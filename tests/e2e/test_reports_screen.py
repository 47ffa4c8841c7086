"""The managers' reports in a real browser: six weeks of a chain drawn by Chart.js under the strict CSP,
the tables behind the charts, the period presets, a period that does not hold.

Checked with axe-core at phone size and on a desktop; with ``UI_SCREENSHOTS`` set to a folder (``docs/ui``),
the screens are saved there.
"""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.report_helpers import chain_history
from ventes.journal import business_date

from .test_kitchen_journey import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SIZES = {"390": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
CHARTS = ["sales", "channels", "fulfilments", "products", "cancellations", "kitchen", "oven", "lateness", "pace"]


def looked_at(page, name):
    """No axe-core violation at either size, every chart drawn at each; saved for docs/ui when asked."""
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)  # Chart.js redraws at the new width
        violations = Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
        if folder := os.environ.get("UI_SCREENSHOTS"):
            page.screenshot(path=str(Path(folder) / f"{name}-{size}.png"), full_page=True)


def drawn(page) -> list[str]:
    """The charts Chart.js has drawn on the page."""
    return page.evaluate(
        "[...document.querySelectorAll('canvas[data-chart]')]"
        ".filter((canvas) => window.Chart.getChart(canvas)).map((canvas) => canvas.dataset.chart)"
    )


def test_a_manager_reads_six_weeks_of_the_chain_then_one_pizzeria(browser, live_server, db):
    pizzerias = [
        factories.PizzeriaFactory(name=f"OC Pizza {name}", slug=name.lower())
        for name in ("Bastille", "Montmartre", "Batignolles")
    ]
    chain_history(pizzerias=pizzerias, days=60, today=business_date(timezone.now()))
    manager = factories.UserFactory(email="directrice@ocpizza.fr")
    factories.StaffMemberFactory(user=manager, role=StaffMember.MANAGER, pizzeria=None)
    page = log_in(browser, live_server, manager.email)
    refused: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    page.wait_for_url(lambda url: "/connexion/" not in url)
    page.set_viewport_size(SIZES["390"])

    page.get_by_role("link", name="Rapports").click()
    expect(page.get_by_role("heading", name="Rapports", exact=True)).to_be_visible()
    expect(page.locator(".reports-scope")).to_contain_text("Toute la chaîne")
    expect(page.get_by_role("list", name="Chiffres clés")).to_contain_text("Panier moyen")
    expect(page.get_by_role("link", name="30 jours")).to_have_attribute("aria-current", "true")
    assert drawn(page) == CHARTS
    looked_at(page, "reports")

    # The table behind the best sellers' chart, for a screen reader or to check a figure.
    products = page.get_by_role("region", name="Meilleures ventes")
    products.get_by_text("Voir le tableau").click()
    expect(products.get_by_role("table")).to_contain_text("Margherita")

    # One pizzeria, twelve months by month.
    page.get_by_label("Pizzeria").select_option(label="OC Pizza Montmartre")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator(".reports-scope")).to_contain_text("OC Pizza Montmartre")
    page.get_by_role("link", name="12 mois").click()
    expect(page.get_by_role("heading", name="Ventes par mois")).to_be_visible()
    expect(page.locator(".reports-scope")).to_contain_text("OC Pizza Montmartre")
    assert drawn(page) == CHARTS

    # A period that ends before it starts: said beside the field, nothing drawn.
    page.get_by_label("Du", exact=True).fill("2026-11-20")
    page.get_by_label("Au", exact=True).fill("2026-11-10")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator("#id_au_error")).to_have_text("Le dernier jour doit suivre le premier.")
    expect(page.get_by_label("Au", exact=True)).to_have_attribute("aria-invalid", "true")
    assert drawn(page) == [] and page.locator("canvas").count() == 0
    looked_at(page, "reports-error")
    assert refused == []
