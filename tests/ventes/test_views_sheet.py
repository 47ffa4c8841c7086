"""The menu's sheet: a product with sizes or options, and a formula, open their choices over the menu; adding from
there answers with the cart (and the event that closes the sheet), a refusal is drawn again in the sheet. Without
script, the same links lead to pages of their own. The cart's lines change with − and + steppers."""

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from production.models import Formula, FormulaChoice, FormulaSlot
from ventes.cart import SESSION_KEY

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def squeezed(response) -> str:
    return " ".join(unescape(response.content.decode()).split())


def cart_lines(client):
    return (client.session.get(SESSION_KEY) or {}).get("lines", {})


def configure_url(shop):
    return reverse("ventes:product_configure", args=[shop.pizzeria.slug, shop.regina.pk])


@pytest.fixture
def duo(options_shop):
    """A formula always served: a Regina Moyenne or a Napoletana, and a tiramisu, for 15 €."""
    shop = options_shop
    formula = Formula.objects.create(name="Formule duo", price=Decimal("15.00"), description="Une pizza, un dessert.")
    formula.pizzerias.add(shop.pizzeria)
    pizza = FormulaSlot.objects.create(formula=formula, name="Pizza", position=0)
    dessert = FormulaSlot.objects.create(formula=formula, name="Dessert", position=1)
    return {
        "formula": formula,
        "napoletana": FormulaChoice.objects.create(slot=pizza, product=shop.napoletana),
        "tiramisu": FormulaChoice.objects.create(slot=dessert, product=shop.tiramisu),
        "url": reverse("ventes:formula_choose", args=[shop.pizzeria.slug, formula.pk]),
    }


def test_the_menu_opens_choices_in_its_sheet_and_adds_a_plain_product_in_one_tap(client, options_shop, duo):
    shop = options_shop
    html = squeezed(client.get(shop.pizzeria.get_absolute_url()))
    # A product with sizes: one « Ajouter » leading to its configurator, which the sheet opens.
    regina = html[html.index(f'id="produit-{shop.regina.pk}"') : html.index(f'id="produit-{shop.napoletana.pk}"')]
    assert f'<a class="button add-button" href="{configure_url(shop)}" data-sheet aria-haspopup="dialog">' in regina
    assert "Personnaliser" not in regina and 'name="quantity"' not in regina
    # A plain product: added at once, one at a time (the cart's steppers change the count).
    tiramisu = html[html.index(f'id="produit-{shop.tiramisu.pk}"') :]
    assert '<input type="hidden" name="quantity" value="1">' in tiramisu
    # A formula: « Composer » leads to its choices, no longer spread over the menu.
    assert f'href="{duo["url"]}" data-sheet aria-haspopup="dialog">Composer' in html
    assert f'name="choice-{duo["napoletana"].slot_id}"' not in html
    assert '<dialog id="fiche" class="sheet">' in html and '<div id="fiche-contenu"></div>' in html


def test_the_configurator_drawn_for_the_sheet_adds_with_htmx_and_the_page_still_posts(client, options_shop):
    url = configure_url(options_shop)
    sheet = squeezed(client.get(url, {"fiche": "1"}, headers=HTMX))
    assert "<html" not in sheet
    assert '<h2 id="configurateur-titre">Regina</h2>' in sheet  # under the menu's own heading
    assert '<input type="hidden" name="fiche" value="1">' in sheet
    assert f'<button type="submit" hx-post="{url}" hx-target="#panier" hx-swap="innerHTML" >' in sheet

    page = squeezed(client.get(url))
    assert '<h1 id="configurateur-titre">Regina</h1>' in page
    assert "hx-post" not in page[page.index('id="configurateur"') :] and 'name="fiche"' not in page


def test_adding_from_the_sheet_answers_with_the_cart_and_closes_it(client, options_shop):
    shop = options_shop
    data = {"fiche": "1", "size": shop.sizes["Grande"].pk, "option": [shop.extras["Mozzarella"].pk], "quantity": 2}
    response = client.post(configure_url(shop), data, headers=HTMX)

    assert response.status_code == 200 and response["HX-Trigger"] == "panier-ajoute"
    html = squeezed(response)
    assert "Regina (Grande, + mozzarella) ajouté au panier." in html
    assert '<span class="cart-bar-count">2<span class="visually-hidden"> articles —</span></span>' in html
    assert '<span class="cart-bar-total">32,00 €</span>' in html
    key = f"{shop.regina.pk}:{shop.sizes['Grande'].pk}:{shop.extras['Mozzarella'].pk}"
    assert cart_lines(client) == {key: 2}


def test_a_refusal_in_the_sheet_is_drawn_again_in_the_sheet_and_adds_nothing(client, options_shop):
    shop = options_shop
    data = {"fiche": "1", "size": shop.sizes["Grande"].pk, "quantity": 0}
    response = client.post(configure_url(shop), data, headers=HTMX)

    assert response.status_code == 400 and "HX-Trigger" not in response
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#fiche-contenu", "innerHTML")
    html = squeezed(response)
    assert '<h2 id="configurateur-titre">Regina</h2>' in html and 'role="alert"' in html
    assert cart_lines(client) == {}


def test_a_formulas_choices_open_in_the_sheet_or_on_their_own_page(client, options_shop, duo):
    page = squeezed(client.get(duo["url"]))
    assert "<html" in page and '<h1 id="formule-choix-titre">Formule duo</h1>' in page
    assert f'name="choice-{duo["napoletana"].slot_id}" value="{duo["napoletana"].pk}"' in page
    assert 'name="fiche"' not in page

    sheet = squeezed(client.get(duo["url"], {"fiche": "1"}, headers=HTMX))
    assert "<html" not in sheet and '<h2 id="formule-choix-titre">Formule duo</h2>' in sheet
    assert '<input type="hidden" name="fiche" value="1">' in sheet
    assert (
        'Ajouter <span class="visually-hidden">la formule Formule duo</span> · '
        '<span data-unit-price="15.00">15,00</span> €</button>'
    ) in sheet


def test_a_formula_not_on_this_menu_has_no_page(client, options_shop, duo):
    elsewhere = reverse("ventes:formula_choose", args=[options_shop.other_pizzeria.slug, duo["formula"].pk])
    assert client.get(elsewhere).status_code == 404
    missing = reverse("ventes:formula_choose", args=[options_shop.pizzeria.slug, duo["formula"].pk + 1])
    assert client.get(missing).status_code == 404


def test_a_formula_added_from_the_sheet_or_refused_there(client, options_shop, duo):
    shop = options_shop
    post = {"fiche": "1", "pizzeria": shop.pizzeria.pk, "formula": duo["formula"].pk, "quantity": 1}
    refused = client.post(reverse("ventes:cart_add_formula"), post, headers=HTMX)
    assert refused.status_code == 400 and refused["HX-Retarget"] == "#fiche-contenu"
    assert "Formule duo : choisissez « Pizza »." in squeezed(refused) and 'id="formule-choix"' in squeezed(refused)
    assert cart_lines(client) == {}

    chosen = {f"choice-{duo[name].slot_id}": duo[name].pk for name in ["napoletana", "tiramisu"]}
    added = client.post(reverse("ventes:cart_add_formula"), {**post, **chosen}, headers=HTMX)
    assert added.status_code == 200 and added["HX-Trigger"] == "panier-ajoute"
    assert '<span class="cart-bar-total">15,00 €</span>' in squeezed(added)


def test_a_formula_refused_without_script_goes_back_to_its_choices(client, options_shop, duo):
    post = {"pizzeria": options_shop.pizzeria.pk, "formula": duo["formula"].pk, "quantity": 1}
    response = client.post(reverse("ventes:cart_add_formula"), post, follow=True)
    assert response.redirect_chain[-1][0] == duo["url"]
    assert "Formule duo : choisissez « Pizza »." in squeezed(response)


def test_the_carts_steppers_take_one_off_add_one_and_take_the_last_one_away(client, shop):
    client.post("/panier/ajouter/", {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": 2})
    key = f"{shop.margherita.pk}::"
    update, remove = reverse("ventes:cart_update", args=[key]), reverse("ventes:cart_remove", args=[key])
    html = squeezed(client.get("/panier/"))
    assert 'name="quantity" type="number"' not in html and ">Changer<" not in html
    assert f'hx-post="{update}" hx-target="#panier"> <input type="hidden" name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="quantity" value="1"> <button type="submit" class="stepper-button"' in html
    assert 'aria-label="Retirer 1 Margherita"' in html and 'aria-label="Ajouter 1 Margherita"' in html
    assert '<input type="hidden" name="quantity" value="3">' in html

    html = squeezed(client.post(update, {"quantity": 3}, headers=HTMX))
    assert '<span class="stepper-count">3<span class="visually-hidden"> dans le panier</span></span>' in html
    assert '<span class="cart-bar-count">3<span class="visually-hidden"> articles —</span></span>' in html
    assert "28,50 €" in html
    # Said to screen readers, not shown: a notice above the lines would push them from under the finger.
    assert '<p class="notice visually-hidden" role="status">Quantité mise à jour.</p>' in html
    assert "cart-bar-notice" not in html

    html = squeezed(client.post(update, {"quantity": 1}, headers=HTMX))
    # The last one: its − takes the line out of the cart.
    assert f'hx-post="{remove}"' in html and 'aria-label="Retirer Margherita du panier"' in html
    client.post(remove, headers=HTMX)
    assert cart_lines(client) == {}
