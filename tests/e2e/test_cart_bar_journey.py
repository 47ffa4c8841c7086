"""On a phone, each add shows at the foot of the screen: the cart bar's count and total follow, a short
confirmation shows, and one tap on the bar leads to the checkout."""

import pytest
from playwright.sync_api import expect

from production.models import Allergen
from tests.e2e.screens import looked_at_on_a_phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
