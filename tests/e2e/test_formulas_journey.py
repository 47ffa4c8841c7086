"""Formulas on the menu and at the counter, a phone order composed from the keyboard, and a manager's own prices,
in a real browser at 390×844 and on a desktop."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from production.models import Formula, FormulaChoice, FormulaSlot, MenuOverride, StaffMember
from tests import factories
from ventes.models import Order

from .test_configurator_journey import DESKTOP, PHONE, TIMEOUT_MS, keep, no_axe_violations, watch_csp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def duo(options_shop):
    """A formula always served: a Regina Moyenne or a Napoletana, and a tiramisu, for 15 €."""
    shop = options_shop
    formula = Formula.objects.create(name="Formule duo", price=Decimal("15.00"), description="Une pizza, un dessert.")
    formula.pizzerias.add(shop.pizzeria)
    pizza = FormulaSlot.objects.create(formula=formula, name="Pizza", position=0)
    dessert = FormulaSlot.objects.create(formula=formula, name="Dessert", position=1)
    FormulaChoice.objects.create(slot=pizza, product=shop.regina, size=shop.sizes["Moyenne"])
    FormulaChoice.objects.create(slot=pizza, product=shop.napoletana)
    FormulaChoice.objects.create(slot=dessert, product=shop.tiramisu)
    return formula


def sign_in(browser, live_server, user, viewport):
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/equipe/connexion/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Mot de passe").fill("motdepasse-solide")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    return page


def test_a_formula_chosen_on_a_phone_reaches_the_kitchen_ticket_with_its_parts(live_server, options_shop, duo, browser):
    shop = options_shop
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(TIMEOUT_MS)
    refused = watch_csp(page)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    card = page.locator(f"#formule-{duo.pk}")
    expect(card).to_contain_text("15,00 €")
    card.get_by_role("link", name="Composer la formule Formule duo").click()  # its choices in the menu's sheet
    sheet = page.get_by_role("dialog", name="Formule duo")
    sheet.get_by_role("button", name="Ajouter la formule Formule duo").click()
    expect(sheet.get_by_role("alert")).to_have_text("Formule duo : choisissez « Pizza ».")  # nothing chosen yet
    sheet.get_by_label("Napoletana (Moyenne)").check()
    sheet.get_by_label("Tiramisu").check()
    no_axe_violations(page)
    keep(page, "menu-formula-390.png")
    sheet.get_by_role("button", name="Ajouter la formule Formule duo").click()
    expect(sheet).to_be_hidden()
    cart = page.locator("#panier")
    expect(cart).to_contain_text("Formule duo (Napoletana (Moyenne), Tiramisu) ajoutée au panier.")
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
    assert order.total == Decimal("15.00") and order.lines.count() == 2
    assert refused == []

    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=shop.pizzeria).user
    ticket = sign_in(browser, live_server, manager, DESKTOP)
    ticket.goto(f"{live_server.url}/equipe/{shop.pizzeria.slug}/commandes/{order.pk}/ticket/")
    lines = ticket.locator(".order-lines")
    expect(lines.locator(".formula-head")).to_have_text("1 × Formule duo")
    expect(lines.locator(".formula-part")).to_have_count(2)
    no_axe_violations(ticket)
    keep(ticket, "ticket-formula-desktop.png", full_page=True)
    ticket.set_viewport_size(PHONE)
    keep(ticket, "ticket-formula-390.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/#formule-{duo.pk}")
    expect(page.locator(f"#formule-{duo.pk}")).to_contain_text("Formule duo")
    no_axe_violations(page)
    keep(page, "menu-formula-desktop.png", full_page=True)


@pytest.mark.parametrize(("viewport", "suffix"), [(PHONE, "390"), (DESKTOP, "desktop")])
def test_a_phone_order_is_composed_from_the_keyboard_at_the_counter(
    live_server, options_shop, duo, browser, viewport, suffix
):
    shop = options_shop
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    page = sign_in(browser, live_server, counter, viewport)
    refused = watch_csp(page)
    page.goto(f"{live_server.url}/equipe/commande/")
    link = page.get_by_role("link", name="Composer Regina")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Regina")).to_be_visible()
    page.get_by_text("Grande", exact=True).click()
    page.get_by_label("Sans champignons").check()
    expect(page.locator(".configurator-bar button[type=submit]")).to_contain_text("14,50 €")
    # Each choice redraws the configurator: the quantity is typed into the one drawn for the last choice.
    expect(page.locator(".configurator-summary")).to_contain_text("sans champignons")
    page.locator("#configurateur-quantite").fill("2")
    expect(page.locator("#configurateur-quantite")).to_have_value("2")
    page.locator("#configurateur-quantite").press("Enter")

    expect(page.get_by_role("heading", name="Lignes composées")).to_be_visible()
    expect(page.locator(".staff-configured")).to_contain_text("Grande, sans champignons")
    formula = page.locator(f"#formule-{duo.pk}")
    formula.get_by_label("Regina (Moyenne)").check()
    formula.get_by_label("Tiramisu").check()
    formula.get_by_label("Quantité").press("Enter")
    expect(page.locator(".staff-configured")).to_contain_text("Formule duo")
    page.locator("#id_customer_name").fill("M. Dupont")
    page.locator("#id_customer_phone").fill("01 02 03 04 05")
    page.get_by_label("À emporter").check()
    page.get_by_label("Dès que possible").check()
    page.get_by_label("Espèces").check()
    no_axe_violations(page)
    keep(page, f"staff-order-composed-{suffix}.png", full_page=True)
    page.locator("#id_customer_phone").press("Enter")

    expect(page.get_by_text("enregistrée : elle est dans la file de la cuisine")).to_be_visible()
    order = Order.objects.get()
    # The composed Regina, and the formula's two parts; their order in the order is not the point.
    assert sorted((line.product_name, line.quantity, bool(line.formula)) for line in order.lines.all()) == [
        ("Regina", 1, True),
        ("Regina", 2, False),
        ("Tiramisu", 1, True),
    ]
    assert refused == []


@pytest.mark.parametrize(("viewport", "suffix"), [(PHONE, "390"), (DESKTOP, "desktop")])
def test_a_manager_prices_a_size_and_withdraws_an_extra(live_server, options_shop, browser, viewport, suffix):
    shop = options_shop
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=shop.pizzeria).user
    page = sign_in(browser, live_server, manager, viewport)
    page.goto(f"{live_server.url}/equipe/{shop.pizzeria.slug}/carte/")
    grande = page.locator(f"#ligne-s{shop.sizes['Grande'].pk}")
    grande.get_by_label("Prix ici de Regina Grande, en euros").fill("douze")
    grande.get_by_label("Prix ici de Regina Grande, en euros").press("Enter")
    grande = page.locator(f"#ligne-s{shop.sizes['Grande'].pk}")
    expect(grande.get_by_role("alert")).to_have_text("Saisissez un montant, par exemple 12,50.")
    grande.get_by_role("alert").scroll_into_view_if_needed()
    no_axe_violations(page)
    keep(page, f"menu-prices-error-{suffix}.png")
    grande.get_by_label("Prix ici de Regina Grande, en euros").fill("15,90")
    grande.get_by_label("Prix ici de Regina Grande, en euros").press("Enter")
    expect(page.get_by_text("Carte de la pizzeria enregistrée.")).to_be_visible()
    jambon = page.locator(f"#ligne-o{shop.extras['Jambon'].pk}")
    jambon.get_by_label("Retiré ici").check()
    jambon.get_by_role("button").click()
    expect(page.get_by_text("Carte de la pizzeria enregistrée.")).to_be_visible()
    no_axe_violations(page)
    keep(page, f"menu-prices-{suffix}.png", full_page=True)
    assert MenuOverride.objects.get(size=shop.sizes["Grande"]).price == Decimal("15.90")
    assert MenuOverride.objects.get(option=shop.extras["Jambon"]).withdrawn
