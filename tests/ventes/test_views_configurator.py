"""The customer's configurator: priced by the server as it changes, refusing in French what cannot be ordered."""

from html import unescape

import pytest

from production.models import MenuOverride
from production.services import stock_count_inventory
from tests import factories
from ventes.cart import SESSION_KEY

pytestmark = pytest.mark.django_db


def url(shop):
    return f"/pizzeria/{shop.pizzeria.slug}/produit/{shop.regina.pk}/"


def cart_lines(client):
    return (client.session.get(SESSION_KEY) or {}).get("lines", {})


def test_the_menu_offers_the_configurator_and_the_price_of_the_first_size(client, options_shop):
    html = client.get(f"/pizzeria/{options_shop.pizzeria.slug}/").content.decode()
    assert f'href="{url(options_shop)}"' in html
    assert "dès 11,00 €" in html


def test_the_configurator_prices_each_change_on_the_server(client, options_shop):
    shop = options_shop
    page = client.get(url(shop)).content.decode()
    assert "<html" in page and 'name="size"' in page and "Sans champignons" in page
    assert "Allergènes : Anhydride sulfureux et sulfites, Gluten, Lait" in unescape(page)
    params = {"size": shop.sizes["Grande"].pk, "option": [shop.extras["Mozzarella"].pk, shop.removals["jambon"].pk]}
    html = unescape(client.get(url(shop), params, headers={"HX-Request": "true"}).content.decode())
    assert "<html" not in html
    assert '<span data-unit-price="16.00">16,00</span> €' in html  # 14.50 + 1.50
    assert "Grande, sans jambon, + mozzarella" in html
    assert "Allergènes : Gluten, Lait" in html  # the ham's sulfites went with it


@pytest.mark.parametrize(("typed", "kept"), [("3", 3), ("0", 1), ("x", 1), ("999", 1), ("", 1)])
def test_a_change_keeps_the_quantity_chosen_and_prices_that_many(client, options_shop, typed, kept):
    shop = options_shop
    params = {"size": shop.sizes["Grande"].pk, "quantity": typed}
    html = unescape(client.get(url(shop), params, headers={"HX-Request": "true"}).content.decode())
    assert f'name="quantity" id="configurateur-quantite" min="1" value="{kept}"' in html
    total = f"{14.5 * kept:.2f}".replace(".", ",")
    assert f'<span data-unit-price="14.50">{total}</span> €' in html


def test_adding_from_the_configurator_puts_the_configured_line_in_the_cart(client, options_shop):
    shop = options_shop
    response = client.post(
        url(shop),
        {"size": shop.sizes["Grande"].pk, "option": [shop.extras["Mozzarella"].pk], "quantity": 2},
    )
    assert response.status_code == 302
    key = f"{shop.regina.pk}:{shop.sizes['Grande'].pk}:{shop.extras['Mozzarella'].pk}"
    assert cart_lines(client) == {key: 2}
    cart = unescape(client.get("/panier/").content.decode())
    assert "Grande, + mozzarella" in cart and "32,00 €" in cart


def test_a_short_extra_is_shown_disabled_and_refused_when_posted(client, options_shop):
    shop = options_shop
    stock_count_inventory(stock=shop.stock["mozzarella"], counted=120)  # a Moyenne, but no extra mozzarella
    page = client.get(url(shop)).content.decode()
    box = page[page.index(f'id="option-{shop.extras["Mozzarella"].pk}"') - 120 :]
    assert "disabled" in box[: box.index(">", 120)]
    response = client.post(url(shop), {"option": [shop.extras["Mozzarella"].pk], "quantity": 1})
    assert response.status_code == 400
    assert "Stock insuffisant — Regina (Moyenne, + mozzarella) : épuisé." in unescape(response.content.decode())
    assert cart_lines(client) == {}


@pytest.mark.parametrize("case", ["foreign_option", "too_many", "withdrawn", "bad_id", "quantity"])
def test_bad_choices_are_refused_beside_the_form_and_the_cart_stays_as_it_was(client, options_shop, case):
    shop = options_shop
    group = shop.extras["Mozzarella"].group
    group.max_choices = 1
    group.save()
    MenuOverride.objects.create(
        pizzeria=shop.pizzeria, product=shop.regina, option=shop.extras["Champignons"], withdrawn=True
    )
    foreign = factories.OptionFactory(group__product=shop.tiramisu, name="Coulis")
    data, message = {
        "foreign_option": ({"option": [foreign.pk]}, "Une des options choisies n'existe pas pour Regina."),
        "too_many": (
            {"option": [shop.extras["Mozzarella"].pk, shop.extras["Jambon"].pk]},
            "Regina : au plus 1 option(s) dans « Suppléments ».",
        ),
        "withdrawn": (
            {"option": [shop.extras["Champignons"].pk]},
            "L'option « Champignons » n'est plus proposée à OC Pizza Bastille.",
        ),
        "bad_id": ({"option": ["1; DROP"]}, "Option inconnue."),
        "quantity": ({"quantity": "0"}, "La quantité doit être d'au moins 1."),
    }[case]
    response = client.post(url(shop), {"quantity": 1, **data})
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert f'role="alert" id="configurateur-erreur">{message}</p>' in html
    assert cart_lines(client) == {}


def test_the_configurator_and_the_menu_read_a_fixed_number_of_queries(client, options_shop, django_assert_num_queries):
    shop = options_shop
    # A first visit (no session yet): the pizzeria, its hours and their exceptions; the menu: products, sizes,
    # option groups, options, recipes, the pizzeria's own prices, its formulas (none), its stock, the allergens.
    with django_assert_num_queries(12):
        client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    for index in range(12):
        product = factories.ProductFactory(pizzerias=[shop.pizzeria], name=f"Pizza {index}")
        factories.RecipeLineFactory(product=product, ingredient=shop.ingredients["tomate"], quantity=80)
        for size in ("Moyenne", "Grande", "Géante"):
            factories.ProductSizeFactory(product=product, name=size)
        for _ in range(4):
            factories.OptionFactory(group__product=product, ingredient=shop.ingredients["mozzarella"], quantity=30)
    with django_assert_num_queries(12):
        client.get(f"/pizzeria/{shop.pizzeria.slug}/")
    with django_assert_num_queries(0):  # the configurator reads the cached pizzeria and menu
        client.get(url(shop), {"size": shop.sizes["Grande"].pk}, headers={"HX-Request": "true"})


def test_the_order_edit_page_keeps_each_lines_options_and_reorder_brings_them_back(client, options_shop):
    shop = options_shop
    customer = factories.CustomerFactory()
    client.force_login(customer.user)
    client.post(url(shop), {"size": shop.sizes["Grande"].pk, "option": [shop.extras["Jambon"].pk], "quantity": 1})
    page = client.get("/commander/")
    token = page.content.decode().split('name="token" value="')[1].split('"')[0]
    client.post(
        "/commander/",
        {
            "customer_name": "Camille Martin",
            "customer_phone": "06 12 34 56 78",
            "customer_email": "camille@example.com",
            "fulfilment": "pickup",
            "when": "asap",
            "payment_method": "cash",
            "token": token,
        },
    )
    order = customer.orders.get()
    key = f"{shop.regina.pk}:{shop.sizes['Grande'].pk}:{shop.extras['Jambon'].pk}"
    field = "qty_" + key.replace(":", "-")
    edit = unescape(client.get(f"/commande/{order.number}/modifier/").content.decode())
    line = edit.split(f'name="{field}"')[0].rsplit('<li class="edit-line', 1)[1]  # the order's line, its options kept
    assert "Regina" in line and "Grande, + jambon" in line and "16,50 €" in line
    client.post(f"/commande/{order.number}/modifier/", {field: 2, f"qty_{shop.tiramisu.pk}--": 1})
    assert sorted(order.lines.values_list("description", "quantity")) == [("", 1), ("Grande, + jambon", 2)]
    assert shop.figures("jambon") == (1_000, 2 * (90 + 60))
    # Today's price for the same configuration, when the order is placed again.
    MenuOverride.objects.create(pizzeria=shop.pizzeria, product=shop.regina, option=shop.extras["Jambon"], price="2.50")
    client.post(f"/commande/{order.number}/recommander/")
    assert cart_lines(client) == {key: 2, f"{shop.tiramisu.pk}::": 1}
    cart = unescape(client.get("/panier/").content.decode())
    assert "Grande, + jambon" in cart and "34,00 €" in cart  # 2 × (14.50 + 2.50)


def test_a_half_and_half_from_the_configurator(client, options_shop):
    shop = options_shop
    params = {"size": shop.sizes["Grande"].pk, "half": shop.napoletana.pk, "option": [shop.extras["Jambon"].pk]}
    html = unescape(client.get(url(shop), params, headers={"HX-Request": "true"}).content.decode())
    assert f'<option value="{shop.napoletana.pk}" selected>Seconde moitié : Napoletana</option>' in html
    assert "Grande, moitié Regina / moitié Napoletana, + jambon" in html
    assert '<span data-unit-price="16.50">16,50</span> €' in html
    assert client.post(url(shop), {**params, "quantity": 1}).status_code == 302
    key = f"{shop.regina.pk}:{shop.sizes['Grande'].pk}:{shop.extras['Jambon'].pk}:{shop.napoletana.pk}"
    assert cart_lines(client) == {key: 1}
    response = client.post(url(shop), {"half": shop.tiramisu.pk, "quantity": 1})
    assert response.status_code == 400
    assert "Seules deux pizzas se partagent en deux moitiés." in unescape(response.content.decode())
    assert cart_lines(client) == {key: 1}
