"""A manager's own prices and withdrawals at their pizzeria, from the staff screens (« Carte et prix »)."""

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from production.exceptions import InvalidMenuOverride
from production.models import MenuOverride, StaffMember
from production.services import menu_override_set
from tests import factories
from ventes.selectors import menu_for

pytestmark = pytest.mark.django_db


def url(shop):
    return reverse("production:menu_prices", args=[shop.pizzeria.slug])


@pytest.fixture
def manager(options_shop):
    return factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=options_shop.pizzeria).user


def test_only_the_pizzerias_managers_open_it(client, options_shop, manager):
    shop = options_shop
    client.force_login(factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user)
    assert client.get(url(shop)).status_code == 403
    client.force_login(factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=shop.other_pizzeria).user)
    assert client.get(url(shop)).status_code == 404
    assert client.post(url(shop), {"product": shop.regina.pk, "withdrawn": "on"}).status_code == 404
    assert not MenuOverride.objects.exists()
    client.force_login(manager)
    page = client.get(url(shop)).content.decode()
    assert "Carte et prix — OC Pizza Bastille" in page
    assert 'id="ligne-s{}"'.format(shop.sizes["Grande"].pk) in page
    assert "Suppléments : Jambon" in page and "À retirer : sans champignons" in page


def test_a_manager_sets_a_size_price_and_withdraws_an_option_and_the_menu_follows(client, options_shop, manager):
    shop = options_shop
    client.force_login(manager)
    grande = shop.sizes["Grande"]
    answer = client.post(url(shop), {"product": shop.regina.pk, "size": grande.pk, "price": "15,90"})
    assert answer.status_code == 302 and answer.url.endswith(f"#ligne-s{grande.pk}")
    jambon = shop.extras["Jambon"]
    client.post(url(shop), {"product": shop.regina.pk, "option": jambon.pk, "withdrawn": "on"})

    assert MenuOverride.objects.get(pizzeria=shop.pizzeria, size=grande).price == Decimal("15.90")
    item = menu_for(pizzeria=shop.pizzeria).items[shop.regina.pk]
    assert {size.size.name: size.price for size in item.sizes}["Grande"] == Decimal("15.90")
    assert jambon.pk not in {choice.option.pk for group in item.groups for choice in group.options}
    # The other pizzeria keeps the chain's.
    other = menu_for(pizzeria=shop.other_pizzeria).items[shop.regina.pk]
    assert {size.size.name: size.price for size in other.sizes}["Grande"] == Decimal("14.50")

    # Neither a price nor a withdrawal: back to the chain's.
    client.post(url(shop), {"product": shop.regina.pk, "size": grande.pk, "price": ""})
    assert not MenuOverride.objects.filter(size=grande).exists()


def test_a_withdrawn_product_leaves_the_menu_of_that_pizzeria_only(client, options_shop, manager):
    shop = options_shop
    client.force_login(manager)
    client.post(url(shop), {"product": shop.napoletana.pk, "withdrawn": "on"})
    assert shop.napoletana.pk not in menu_for(pizzeria=shop.pizzeria).items
    assert shop.napoletana.pk in menu_for(pizzeria=shop.other_pizzeria).items
    page = client.get(url(shop)).content.decode()
    assert f'id="retire-p{shop.napoletana.pk}" checked' in page


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"price": "douze"}, "Saisissez un montant, par exemple 12,50."),
        ({"price": "0"}, "Le prix doit être un montant en euros, par exemple 12,50."),
        ({"price": "-3"}, "Le prix doit être un montant en euros, par exemple 12,50."),
        ({"price": "12,555"}, "Le prix s'écrit en euros et centimes, par exemple 12,50."),
    ],
)
def test_a_bad_price_is_said_beside_its_line_and_nothing_is_written(client, options_shop, manager, post, message):
    shop = options_shop
    client.force_login(manager)
    grande = shop.sizes["Grande"]
    answer = client.post(url(shop), {"key": f"s{grande.pk}", "product": shop.regina.pk, "size": grande.pk, **post})
    assert answer.status_code == 400
    page = html.unescape(answer.content.decode())
    row = page.split(f'id="ligne-s{grande.pk}"')[1].split("</li>")[0]
    assert message in row and 'aria-invalid="true"' in row
    assert not MenuOverride.objects.exists()


def test_the_service_refuses_what_is_not_this_pizzerias_to_price(options_shop):
    shop = options_shop
    other_option = factories.OptionFactory()
    with pytest.raises(InvalidMenuOverride, match=r"Cette option n.existe pas pour Regina"):
        menu_override_set(
            pizzeria=shop.pizzeria, product_id=shop.regina.pk, option_id=other_option.pk, price=None, withdrawn=True
        )
    with pytest.raises(InvalidMenuOverride, match=r"Regina se vend en tailles"):
        menu_override_set(pizzeria=shop.pizzeria, product_id=shop.regina.pk, price=Decimal("9.00"), withdrawn=False)
    outsider = factories.ProductFactory()
    with pytest.raises(InvalidMenuOverride, match=r"n'est pas à la carte"):
        menu_override_set(pizzeria=shop.pizzeria, product_id=outsider.pk, price=None, withdrawn=True)
    # An option may be given away.
    offered = menu_override_set(
        pizzeria=shop.pizzeria,
        product_id=shop.regina.pk,
        option_id=shop.extras["Champignons"].pk,
        price=Decimal("0"),
        withdrawn=False,
    )
    assert offered is not None and offered.price == Decimal("0")
    assert MenuOverride.objects.count() == 1


def test_the_page_reads_a_fixed_number_of_queries_however_big_the_menu(
    client, options_shop, manager, django_assert_num_queries
):
    shop = options_shop
    client.force_login(manager)
    client.get(url(shop))
    # The session, the user and its staff membership; the catalogue: formulas, products, sizes, option groups,
    # options, recipes, the pizzeria's own prices.
    with django_assert_num_queries(9):
        client.get(url(shop))
    for index in range(8):
        product = factories.ProductFactory(pizzerias=[shop.pizzeria], name=f"Pizza {index}")
        for size in ("Moyenne", "Grande"):
            factories.ProductSizeFactory(product=product, name=size)
        factories.OptionFactory(group__product=product)
    with django_assert_num_queries(9):
        client.get(url(shop))
