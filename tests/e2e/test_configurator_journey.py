"""A half-and-half with an extra configured on a phone, in a real browser, followed to the kitchen card and memo."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.e2e.screens import save_screenshot
from ventes.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 20_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DESCRIPTION = "Grande, moitié Regina / moitié Napoletana, sans champignons, + mozzarella"


def keep(page, name: str, *, full_page: bool = False) -> None:
    """Saved for docs/ui when asked (``UI_SCREENSHOTS`` set to that folder): a test run leaves the tree as it was."""
    if folder := os.environ.get("UI_SCREENSHOTS"):
        save_screenshot(page, Path(folder) / name, full_page=full_page)


def no_axe_violations(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def watch_csp(page) -> list[str]:
    """Every message of the page's console about something the Content-Security-Policy refused."""
    refused: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    return refused


def test_a_half_and_half_with_an_extra_configured_on_a_phone_reaches_the_kitchen(live_server, options_shop, browser):
    shop = options_shop
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(TIMEOUT_MS)
    refused = watch_csp(page)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    regina = page.locator(f"#produit-{shop.regina.pk}")
    expect(regina).to_contain_text("dès 11,00 €")
    regina.get_by_role("link", name="Ajouter Regina").click()  # its choices open in the menu's sheet

    sheet = page.get_by_role("dialog", name="Regina")
    expect(sheet.get_by_role("heading", name="Regina")).to_be_visible()
    add = sheet.locator(".configurator-bar button[type=submit]")
    expect(add).to_contain_text("11,00 €")
    sheet.get_by_text("Grande", exact=True).click()
    expect(add).to_contain_text("14,50 €")  # priced again by the server at each change
    sheet.get_by_label("Moitié-moitié").select_option(label="Seconde moitié : Napoletana")
    sheet.get_by_label("Sans champignons").check()
    sheet.get_by_label("Mozzarella + 1,50 €", exact=True).check()
    expect(add).to_contain_text("16,00 €")  # the dearer half's Grande, 14.50, + 1.50
    expect(sheet.locator(".configurator-summary")).to_have_text(DESCRIPTION)
    quantity = sheet.get_by_role("spinbutton", name="Quantité")
    sheet.get_by_role("button", name="Un de plus : Regina").click()
    sheet.get_by_role("button", name="Un de plus : Regina").click()
    sheet.get_by_role("button", name="Un de moins : Regina").click()
    expect(quantity).to_have_value("2")
    expect(sheet.get_by_role("button", name="Un de moins : Regina")).to_be_focused()  # the next tap lands there
    expect(add).to_contain_text("32,00 €")
    # A choice changed after the taps: the server draws the form again, with the quantity and its price kept.
    sheet.get_by_label("Sans jambon").check()
    expect(sheet.locator("#configurateur-allergenes")).to_have_text("Allergènes : Gluten, Lait")
    sheet.get_by_label("Sans jambon").uncheck()
    expect(sheet.locator("#configurateur-allergenes")).to_contain_text("sulfites")
    expect(quantity).to_have_value("2")
    expect(add).to_contain_text("32,00 €")
    no_axe_violations(page)
    keep(page, "configurator-390.png")
    add.click()

    expect(sheet).to_be_hidden()
    cart = page.locator("#panier")
    expect(cart.get_by_role("status")).to_have_text(f"Regina ({DESCRIPTION}) ajouté au panier.")
    expect(cart).to_contain_text(DESCRIPTION)
    expect(cart).to_contain_text("32,00 €")
    no_axe_violations(page)
    keep(page, "menu-cart-options-390.png", full_page=True)
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
    assert (line.description, line.unit_price, line.quantity, line.half_product) == (
        DESCRIPTION,
        16,
        2,
        shop.napoletana,
    )
    # Half of each recipe at the Grande's × 1.5, the extra on the whole: 75 + 60 + 75 g of mozzarella, twice.
    assert shop.figures("mozzarella") == (2_000, 420) and shop.figures("champignons") == (1_000, 0)
    assert refused == []

    kitchen = browser.new_page(viewport=DESKTOP)
    kitchen.set_default_timeout(TIMEOUT_MS)
    kitchen.goto(f"{live_server.url}/equipe/connexion/")
    kitchen.get_by_label("E-mail").fill(pizzaiolo.email)
    kitchen.get_by_label("Mot de passe").fill("motdepasse-solide")
    kitchen.get_by_role("button", name="Se connecter").click()
    card = kitchen.locator(f".column-received #order-{order.pk}")
    expect(card).to_contain_text(DESCRIPTION)
    keep(kitchen, "kitchen-options-desktop.png")
    card.get_by_role("link", name="Regina").click()
    expect(kitchen.get_by_role("heading", name="Regina")).to_contain_text(DESCRIPTION)
    expect(kitchen.locator("tr.memo-removed")).to_contain_text("champignons")
    mozzarella = kitchen.locator("tr", has_text="mozzarella")
    expect(mozzarella).to_contain_text("210 g")
    expect(mozzarella).to_contain_text("135 g")  # half of each recipe: 75 + 60 g
    expect(kitchen.locator("tr", has_text="pâte")).not_to_contain_text("supplément")
    no_axe_violations(kitchen)
    keep(kitchen, "memo-options-desktop.png", full_page=True)


def test_the_configurator_on_a_desktop(live_server, options_shop, browser):
    shop = options_shop
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    no_axe_violations(page)
    keep(page, "menu-options-desktop.png", full_page=True)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/produit/{shop.regina.pk}/")
    page.get_by_text("Géante", exact=True).click()
    expect(page.locator(".configurator-bar button[type=submit]")).to_contain_text("18,00 €")
    no_axe_violations(page)
    page.set_viewport_size({"width": 1280, "height": 1250})  # the whole form in view: the price bar at its end
    keep(page, "configurator-desktop.png")


@pytest.mark.parametrize(("viewport", "suffix"), [(PHONE, "390"), (DESKTOP, "desktop")])
def test_a_redrawn_configurator_takes_a_quantity_typed_at_once(live_server, options_shop, browser, viewport, suffix):
    """The box redrawn with a choice gets its − and + as it is drawn, not a settle later, when moving it into
    them would take the focus from a hand already typing (keys then reach nothing); the price follows the number
    typed; a redraw arriving while the box is typed into leaves the focus in it."""
    shop = options_shop
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/produit/{shop.regina.pk}/")
    # htmx's settle, 20 ms after a redraw, held open long enough to type into the box during it, as a hand can.
    page.evaluate("() => { htmx.config.defaultSettleDelay = 1000; }")
    quantity = page.get_by_role("spinbutton", name="Quantité")
    page.get_by_text("Grande", exact=True).click()
    expect(page.locator(".configurator-bar button[type=submit]")).to_contain_text("14,50 €")

    expect(page.get_by_role("button", name="Un de plus : Regina")).to_be_visible(timeout=500)  # before the settle
    quantity.fill("3")
    expect(page.locator(".configurator-bar button[type=submit]")).to_contain_text("43,50 €")  # priced as typed
    expect(page.locator(".htmx-settling")).to_have_count(0)
    expect(quantity).to_be_focused()
    expect(quantity).to_have_value("3")
    keep(page, f"configurator-typed-quantity-{suffix}.png")

    quantity.dispatch_event("change")  # the server draws the form again, the quantity kept, the hand still in it
    expect(page.locator(".configurator-bar button[type=submit]")).to_contain_text("43,50 €")
    expect(quantity).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Regina (Grande) ajouté au panier.")
