"""The checkout in a real browser: each error once, beside its field, the focus on the first; the payment heading
following the mode chosen; a signed-in customer's address book as cards, one tap delivering there.

Each screen is checked with axe-core at 390×844 and on a desktop; with ``UI_SCREENSHOTS`` set to a folder
(``docs/ui``), saved there as ``<name>-390.png`` and ``<name>-desktop.png``."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests import factories
from ventes.models import Order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
SIZES = [(PHONE, "390"), ({"width": 1280, "height": 900}, "desktop")]
PASSWORD = "motdepasse-solide"  # the user factory's


def looked_at_here_and_on_a_desktop(page, name: str) -> None:
    """No axe-core violation at phone size nor on a desktop; both saved for docs/ui when asked."""
    for viewport, suffix in SIZES:
        page.set_viewport_size(viewport)
        violations = Axe().run(page).response["violations"]
        assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
        if folder := os.environ.get("UI_SCREENSHOTS"):
            page.screenshot(path=str(Path(folder) / f"{name}-{suffix}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def with_a_margherita(page, live_server, shop):
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    page.get_by_role("button", name="Ajouter Margherita").first.click()
    expect(page.locator("#panier")).to_contain_text("Margherita")
    page.goto(f"{live_server.url}/commander/")


def test_a_guest_sees_each_mistake_once_beside_its_field(browser, live_server, shop):
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(30_000)
    with_a_margherita(page, live_server, shop)
    expect(page.get_by_role("heading", name="Paiement à la livraison ou au comptoir", exact=True)).to_be_visible()
    page.get_by_label("Nom").fill("Camille Martin")
    page.get_by_label("Téléphone").fill("06 12")
    page.get_by_label("E-mail").fill("camille@example.com")
    page.get_by_label("Livraison", exact=True).check()
    expect(page.get_by_role("heading", name="Paiement à la livraison", exact=True)).to_be_visible()
    page.get_by_label("Code postal").fill("750")
    page.get_by_label("Espèces").check()
    page.get_by_role("button", name="Valider la commande").click()

    errors = {
        "customer_phone": "Ce numéro de téléphone n'est pas valable. Exemple : 06 12 34 56 78.",
        "address_line": "Indiquez l'adresse de livraison.",
        "address_postcode": "Le code postal compte 5 chiffres.",
    }
    for field, message in errors.items():
        expect(page.get_by_text(message)).to_have_count(1)
        expect(page.locator(f"#id_{field}_error")).to_have_text(message)
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".form-errors")).to_have_count(0)  # no summary repeating them
    expect(page.locator("#id_customer_phone")).to_be_focused()
    looked_at_here_and_on_a_desktop(page, "checkout-errors")
    assert not Order.objects.exists()

    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("Adresse de livraison").fill("3 rue de Rivoli")
    page.get_by_label("Code postal").fill("75001")
    page.get_by_label("À emporter").check()
    expect(page.get_by_role("heading", name="Paiement au comptoir", exact=True)).to_be_visible()
    # The button says what will be paid: the Margherita alone, then with the delivery fee.
    expect(page.get_by_role("button", name="Valider la commande (9,50 €)", exact=True)).to_be_visible()
    page.get_by_label("Livraison", exact=True).check()
    expect(page.get_by_role("button", name="Valider la commande (12,00 €)", exact=True)).to_be_visible()
    page.get_by_role("button", name="Valider la commande").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Commande ")
    order = Order.objects.get()
    assert (order.delivery_address, order.delivery_postcode, order.customer_phone) == (
        "3 rue de Rivoli",
        "75001",
        "06 12 34 56 78",
    )


def test_a_customer_delivers_to_a_saved_address_in_one_tap(browser, live_server, shop):
    customer = factories.CustomerFactory(user__email="zoe@example.org", user__first_name="Zoé", phone="06 11 22 33 44")
    factories.AddressFactory(customer=customer, label="Bureau", line1="12 rue de la Paix", postcode="75002")
    factories.AddressFactory(customer=customer, label="Maison", line1="5 rue du Louvre", postcode="75001")
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/compte/connexion/")
    page.get_by_label("E-mail").fill("zoe@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion/" not in url)
    with_a_margherita(page, live_server, shop)

    page.get_by_label("Livraison", exact=True).check()
    book = page.get_by_role("group", name="Livrer à")
    expect(book.get_by_role("radio")).to_have_count(3)
    expect(book.get_by_label("Bureau")).to_be_checked()  # the first of the book, ready
    expect(book).to_contain_text("12 rue de la Paix, 75002 Paris")
    expect(page.get_by_label("Adresse de livraison")).to_be_hidden()  # nothing to type
    looked_at_here_and_on_a_desktop(page, "checkout-address-book")
    book.get_by_label("Une autre adresse").check()
    expect(page.get_by_label("Adresse de livraison")).to_be_visible()
    book.get_by_label("Maison").check()
    expect(page.get_by_label("Adresse de livraison")).to_be_hidden()
    page.get_by_label("Espèces").check()
    page.get_by_role("button", name="Valider la commande").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Commande ")
    order = Order.objects.get()
    assert order.customer == customer
    assert (order.delivery_address, order.delivery_postcode) == ("5 rue du Louvre", "75001")
