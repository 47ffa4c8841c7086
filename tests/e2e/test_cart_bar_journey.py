"""On a phone, each add shows at the foot of the screen: the cart bar's count and total follow, a short
confirmation shows, and one tap on the bar leads to the checkout."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def looked_at(page, name):
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    if folder := os.environ.get("UI_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}-390.png"))


def test_the_cart_bar_follows_each_add_and_leads_to_the_checkout(browser, live_server, shop):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    bar = page.locator("#cart-bar")
    expect(bar).to_be_hidden()

    page.get_by_role("button", name="Ajouter Margherita").first.click()
    expect(bar.locator(".cart-bar-count")).to_have_text("1 article —")
    expect(bar).to_be_in_viewport()  # at the foot of the screen, wherever the menu is scrolled
    expect(bar.locator(".cart-bar-notice")).to_have_text("Margherita ajouté au panier.")
    looked_at(page, "cart-bar-added")

    page.get_by_role("button", name="Ajouter Peroni").first.click()
    expect(bar.locator(".cart-bar-count")).to_have_text("2 articles —")
    expect(bar.locator(".cart-bar-total")).to_have_text("14,00 €")
    page.mouse.wheel(0, 2000)
    expect(bar).to_be_in_viewport()

    bar.click()
    expect(page).to_have_url(f"{live_server.url}/commander/")
