"""A pizza configured on a phone, in a real browser, followed to the kitchen card and its memo."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from ventes.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 20_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
UI = Path(__file__).resolve().parents[2] / "docs" / "ui"


def no_axe_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def watch_csp(page) -> list[str]:
    """Every message of the page's console about something the Content-Security-Policy refused."""
    refused: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    return refused


def test_a_regina_grande_with_an_extra_configured_on_a_phone_reaches_the_kitchen(live_server, options_shop, browser):
    shop = options_shop
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(TIMEOUT_MS)
    refused = watch_csp(page)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    regina = page.locator(f"#produit-{shop.regina.pk}")
    expect(regina).to_contain_text("dès 11,00 €")
    regina.get_by_role("link", name="Personnaliser Regina").click()

    expect(page.get_by_role("heading", name="Regina")).to_be_visible()
    add = page.locator(".configurator-bar button")
    expect(add).to_contain_text("11,00 €")
    page.get_by_text("Grande", exact=True).click()
    expect(add).to_contain_text("14,50 €")  # priced again by the server at each change
    page.get_by_label("Sans champignons").check()
    page.get_by_label("Mozzarella + 1,50 €", exact=True).check()
    expect(add).to_contain_text("16,00 €")
    expect(page.locator(".configurator-summary")).to_have_text("Grande, sans champignons, + mozzarella")
    page.get_by_label("Sans jambon").check()
    expect(page.locator("#configurateur-allergenes")).to_have_text("Allergènes : Gluten, Lait")
    page.get_by_label("Sans jambon").uncheck()
    expect(page.locator("#configurateur-allergenes")).to_contain_text("sulfites")
    no_axe_violations(page)
    page.screenshot(path=str(UI / "configurator-390.png"), full_page=True)
    add.click()

    expect(page.get_by_text("Regina (Grande, sans champignons, + mozzarella) ajouté au panier.")).to_be_visible()
    cart = page.locator("#panier")
    expect(cart).to_contain_text("Grande, sans champignons, + mozzarella")
    expect(cart).to_contain_text("16,00 €")
    no_axe_violations(page)
    page.screenshot(path=str(UI / "menu-cart-options-390.png"), full_page=True)
    cart.get_by_role("link", name="Commander").click()
    page.get_by_label("Nom").fill("Camille Martin")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("E-mail").fill("camille@example.com")
    page.get_by_label("À emporter").check()
    page.get_by_label("Dès que possible").check()
    page.get_by_label("Espèces").check()
    page.get_by_role("button", name="Valider la commande").click()
    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Commande {order.number}")).to_be_visible()
    line = order.lines.get()
    assert (line.description, line.unit_price) == ("Grande, sans champignons, + mozzarella", 16)
    assert shop.figures("mozzarella") == (2_000, 225) and shop.figures("champignons") == (1_000, 0)
    assert refused == []

    kitchen = browser.new_page(viewport=DESKTOP)
    kitchen.set_default_timeout(TIMEOUT_MS)
    kitchen.goto(f"{live_server.url}/equipe/connexion/")
    kitchen.get_by_label("E-mail").fill(pizzaiolo.email)
    kitchen.get_by_label("Mot de passe").fill("motdepasse-solide")
    kitchen.get_by_role("button", name="Se connecter").click()
    card = kitchen.locator(f".column-received #order-{order.pk}")
    expect(card).to_contain_text("Grande, sans champignons, + mozzarella")
    kitchen.screenshot(path=str(UI / "kitchen-options-desktop.png"))
    card.get_by_role("link", name="Regina").click()
    expect(kitchen.get_by_role("heading", name="Regina")).to_contain_text("Grande, sans champignons, + mozzarella")
    expect(kitchen.locator("tr.memo-removed")).to_contain_text("champignons")
    expect(kitchen.locator("tr", has_text="mozzarella")).to_contain_text("225 g")
    no_axe_violations(kitchen)
    kitchen.screenshot(path=str(UI / "memo-options-desktop.png"), full_page=True)


def test_the_configurator_on_a_desktop(live_server, options_shop, browser):
    shop = options_shop
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    no_axe_violations(page)
    page.screenshot(path=str(UI / "menu-options-desktop.png"), full_page=True)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/produit/{shop.regina.pk}/")
    page.get_by_text("Géante", exact=True).click()
    expect(page.locator(".configurator-bar button")).to_contain_text("18,00 €")
    no_axe_violations(page)
    page.set_viewport_size({"width": 1280, "height": 1250})  # the whole form in view: the price bar at its end
    page.screenshot(path=str(UI / "configurator-desktop.png"))
