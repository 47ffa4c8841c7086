"""On a phone, each add shows at the foot of the screen: the cart bar's count and total follow, a short
confirmation shows, and one tap on the bar leads to the checkout. A product with sizes or options, and a formula,
open their choices in a sheet over the menu; the cart's lines change with − and +."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from production.models import Allergen, Formula, FormulaChoice, FormulaSlot
from tests.e2e.screens import looked_at_on_a_phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def looked_at_on_a_desktop(page, name: str) -> None:
    """No axe-core violation; the screen saved as ``<name>-desktop.png`` for docs/ui when asked."""
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    if folder := os.environ.get("UI_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / f"{name}-desktop.png"), caret="initial")


def watch_csp(page) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    return refused


def risen(sheet) -> None:
    """The sheet's rise over: axe-core reads the contrast of text half faded in as it is at that instant."""
    sheet.evaluate("sheet => Promise.all(sheet.getAnimations().map(animation => animation.finished))")


@pytest.fixture
def pictured(options_shop):
    """The options shop with the menu's drawings, and a formula always served: a pizza and a dessert for 15 €."""
    shop = options_shop
    for product, picture in [(shop.regina, "regina"), (shop.napoletana, "napoletana"), (shop.tiramisu, "tiramisu")]:
        product.picture = picture
        product.save()
    formula = Formula.objects.create(name="Formule duo", price=Decimal("15.00"), description="Une pizza, un dessert.")
    formula.pizzerias.add(shop.pizzeria)
    pizza = FormulaSlot.objects.create(formula=formula, name="Pizza", position=0)
    dessert = FormulaSlot.objects.create(formula=formula, name="Dessert", position=1)
    FormulaChoice.objects.create(slot=pizza, product=shop.napoletana)
    FormulaChoice.objects.create(slot=dessert, product=shop.tiramisu)
    return shop


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
    looked_at_on_a_phone(page, "cart-bar-added", full_page=False)

    page.get_by_role("button", name="Ajouter Peroni").first.click()
    expect(bar.locator(".cart-bar-count")).to_have_text("2 articles —")
    expect(bar.locator(".cart-bar-total")).to_have_text("14,00 €")
    page.mouse.wheel(0, 2000)
    expect(bar).to_be_in_viewport()

    bar.click()
    expect(page).to_have_url(f"{live_server.url}/commander/")


def test_the_menu_tabs_stay_on_top_and_the_allergen_filter_hides_what_holds_it(browser, live_server, shop):
    gluten = Allergen.objects.get_or_create(code="gluten", defaults={"name": "Gluten"})[0]
    shop.stock["dough"].ingredient.allergens.add(gluten)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")

    page.get_by_text("Filtrer par allergène").click()
    page.get_by_label("Gluten").check()
    expect(page.locator(f"#produit-{shop.margherita.pk}")).to_be_hidden()
    expect(page.locator(f"#produit-{shop.beer.pk}")).to_be_visible()
    expect(page.locator("[data-filter-status]")).to_have_text("2 produits masqués.")
    expect(page.get_by_role("heading", name="Pizzas")).to_be_hidden()  # no pizza left: its heading goes too
    looked_at_on_a_phone(page, "menu-allergen-filter")
    page.get_by_label("Gluten").uncheck()
    expect(page.locator(f"#produit-{shop.margherita.pk}")).to_be_visible()

    tabs = page.get_by_role("navigation", name="Rubriques de la carte")
    tabs.get_by_role("link", name="Boissons").click()
    expect(page.get_by_role("heading", name="Boissons")).to_be_in_viewport()
    expect(tabs).to_be_in_viewport()  # the tabs stay at the top of the screen


def test_a_product_with_choices_opens_them_in_a_sheet_and_the_cart_changes_with_steppers(
    browser, live_server, pictured
):
    shop = pictured
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(30_000)
    refused = watch_csp(page)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    bar, sheet = page.locator("#cart-bar"), page.locator("#fiche")
    looked_at_on_a_phone(page, "sheet-1-menu", full_page=False)

    page.get_by_role("button", name="Ajouter Tiramisu").click()  # nothing to choose: in the cart at once
    expect(bar.locator(".cart-bar-count")).to_have_text("1 article —")

    page.get_by_role("link", name="Ajouter Regina").click()
    expect(sheet).to_be_visible()
    dialog = page.get_by_role("dialog", name="Regina")
    expect(dialog).to_be_in_viewport()
    add = dialog.locator(".configurator-bar button[type=submit]")
    expect(add).to_contain_text("11,00 €")
    risen(sheet)
    looked_at_on_a_phone(page, "sheet-2-open", full_page=False)
    dialog.get_by_text("Grande", exact=True).click()
    expect(add).to_contain_text("14,50 €")
    dialog.get_by_label("Mozzarella + 1,50 €", exact=True).check()
    expect(add).to_contain_text("16,00 €")  # priced by the server at each change
    looked_at_on_a_phone(page, "sheet-3-chosen", full_page=False)
    add.click()

    expect(sheet).to_be_hidden()  # added: the sheet closes on the bar's new count and total
    expect(bar.locator(".cart-bar-count")).to_have_text("2 articles —")
    expect(bar.locator(".cart-bar-total")).to_have_text("21,00 €")
    expect(bar.locator(".cart-bar-notice")).to_have_text("Regina (Grande, + mozzarella) ajouté au panier.")
    expect(page.locator("#panier [role=status]")).to_have_text("Regina (Grande, + mozzarella) ajouté au panier.")
    looked_at_on_a_phone(page, "sheet-4-added", full_page=False)

    # Esc closes a sheet without adding, the focus back on the card's button.
    opener = page.get_by_role("link", name="Ajouter Napoletana")
    opener.click()
    expect(page.get_by_role("dialog", name="Napoletana")).to_be_visible()
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(opener).to_be_focused()

    # A formula: « Composer », a refusal said in the sheet, then its choices added.
    page.get_by_role("link", name="Composer la formule Formule duo").click()
    formula = page.get_by_role("dialog", name="Formule duo")
    formula.get_by_role("button", name="Ajouter la formule Formule duo").click()
    expect(formula.get_by_role("alert")).to_have_text("Formule duo : choisissez « Pizza ».")
    risen(sheet)
    expect(bar.locator(".cart-bar-count")).to_have_text("2 articles —")
    looked_at_on_a_phone(page, "sheet-5-formula-refused", full_page=False)
    formula.get_by_label("Napoletana (Moyenne)").check()
    formula.get_by_label("Tiramisu").check()
    formula.get_by_role("button", name="Ajouter la formule Formule duo").click()
    expect(sheet).to_be_hidden()
    expect(bar.locator(".cart-bar-count")).to_have_text("3 articles —")

    page.get_by_role("link", name="Panier").first.click()
    cart = page.locator("#panier")
    tiramisu = cart.locator(".cart-line").filter(has=page.get_by_role("button", name="Ajouter 1 Tiramisu", exact=True))
    cart.get_by_role("button", name="Ajouter 1 Tiramisu").click()
    expect(tiramisu.locator(".stepper-count")).to_have_text("2 dans le panier")
    expect(bar.locator(".cart-bar-count")).to_have_text("4 articles —")
    expect(cart.locator(".cart-total")).to_have_text("41,00 €")
    expect(cart.get_by_role("button", name="Ajouter 1 Tiramisu")).to_be_focused()  # ready for the next tap
    looked_at_on_a_phone(page, "sheet-6-cart-steppers")
    cart.get_by_role("button", name="Retirer 1 Tiramisu").click()
    expect(tiramisu.locator(".stepper-count")).to_have_text("1 dans le panier")
    cart.get_by_role("button", name="Retirer Tiramisu du panier").click()
    expect(cart).not_to_contain_text("Tiramisu 5,00")
    expect(bar.locator(".cart-bar-count")).to_have_text("2 articles —")
    expect(cart.locator(".cart-total")).to_have_text("31,00 €")
    assert refused == []


def test_the_sheet_and_the_steppers_on_a_desktop(browser, live_server, pictured):
    shop = pictured
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    page.get_by_role("link", name="Ajouter Regina").click()
    dialog = page.get_by_role("dialog", name="Regina")
    expect(dialog).to_be_in_viewport()
    box = dialog.bounding_box()
    assert abs(box["x"] + box["width"] / 2 - DESKTOP["width"] / 2) < 2  # a window in the middle of the screen
    risen(page.locator("#fiche"))
    looked_at_on_a_desktop(page, "sheet-open")
    dialog.locator(".configurator-bar button[type=submit]").click()
    expect(dialog).to_be_hidden()
    cart = page.locator("#panier")
    expect(cart.locator("[role=status]")).to_have_text("Regina (Moyenne) ajouté au panier.")
    cart.get_by_role("button", name="Ajouter 1 Regina (Moyenne)").click()
    expect(cart.locator(".cart-total")).to_have_text("22,00 €")
    page.mouse.wheel(0, 1500)
    expect(cart).to_be_in_viewport()  # the cart stays beside the menu as it scrolls
    looked_at_on_a_desktop(page, "sheet-cart-steppers")
