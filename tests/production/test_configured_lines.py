"""The kitchen card, the ticket and the recipe memo show what each configured pizza changes."""

import re
from html import unescape

import pytest
from django.urls import reverse

from production.models import StaffMember
from tests import factories
from tests.queue import run_queued_tasks
from tests.ventes.helpers import place
from ventes.models import Fulfilment
from ventes.services import LineRequest
from ventes.workflow import order_transition

pytestmark = pytest.mark.django_db


def compact(response) -> str:
    return re.sub(r">\s+<", "><", unescape(response.content.decode()))


@pytest.fixture
def configured(options_shop):
    shop = options_shop
    pizzaiolo = factories.UserFactory(email="pizzaiolo@ocpizza.fr")
    factories.StaffMemberFactory(user=pizzaiolo, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    order = place(
        shop,
        [
            LineRequest(
                shop.regina.pk,
                1,
                size_id=shop.sizes["Grande"].pk,
                option_ids=(shop.removals["champignons"].pk, shop.extras["Mozzarella"].pk),
            ),
            LineRequest(shop.tiramisu.pk, 1),
        ],
    )
    return shop, pizzaiolo, order


def test_the_kitchen_card_and_the_ticket_say_the_size_and_the_changes(client, configured):
    shop, pizzaiolo, order = configured
    client.force_login(pizzaiolo)
    kitchen = unescape(client.get(reverse("production:kitchen", kwargs={"slug": shop.pizzeria.slug})).content.decode())
    card = kitchen[kitchen.index(f'id="order-{order.pk}"') :]
    assert '<span class="line-options">Grande, sans champignons, + mozzarella</span>' in card
    line = order.lines.get(product=shop.regina)
    memo_url = reverse("production:recipe_detail", kwargs={"slug": shop.pizzeria.slug, "product_id": shop.regina.pk})
    assert f'href="{memo_url}?ligne={line.pk}"' in card
    ticket = unescape(
        client.get(
            reverse("production:order_ticket", kwargs={"slug": shop.pizzeria.slug, "pk": order.pk})
        ).content.decode()
    )
    assert "Regina" in ticket and "Grande, sans champignons, + mozzarella" in ticket and "Tiramisu" in ticket


def test_the_memo_of_a_line_shows_its_quantities_against_the_recipe(client, configured, django_assert_max_num_queries):
    shop, pizzaiolo, order = configured
    client.force_login(pizzaiolo)
    line = order.lines.get(product=shop.regina)
    memo_url = reverse("production:recipe_detail", kwargs={"slug": shop.pizzeria.slug, "product_id": shop.regina.pk})
    with django_assert_max_num_queries(8):
        html = compact(client.get(f"{memo_url}?ligne={line.pk}"))
    rows = {
        name: html[html.index(f"<td>{name}") :].split("</tr>")[0]
        for name in ("pâte", "mozzarella", "champignons", "jambon")
    }
    # Against the recipe at its size (a Grande: × 1.5): the dough as usual, the extra mozzarella on top.
    assert "memo-change" not in rows["pâte"] and "<td>375 g</td><td>375 g</td>" in rows["pâte"]
    assert "supplément" in rows["mozzarella"] and "<td>225 g</td><td>150 g</td>" in rows["mozzarella"]
    assert "retiré" in rows["champignons"] and "<s>sans</s>" in rows["champignons"]
    assert "Grande, sans champignons, + mozzarella — commande 001" in html
    # A line of another product, or of no order of this pizzeria, has no memo here.
    other = order.lines.get(product=shop.tiramisu)
    assert client.get(f"{memo_url}?ligne={other.pk}").status_code == 404
    assert client.get(f"{memo_url}?ligne=abc").status_code == 404


def test_an_extra_the_recipe_lacks_shows_as_an_extra(client, options_shop):
    shop = options_shop
    pizzaiolo = factories.UserFactory(email="pizzaiolo@ocpizza.fr")
    factories.StaffMemberFactory(user=pizzaiolo, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    order = place(shop, [LineRequest(shop.regina.pk, 1, option_ids=(shop.base["crème"].pk,))])
    client.force_login(pizzaiolo)
    memo_url = reverse("production:recipe_detail", kwargs={"slug": shop.pizzeria.slug, "product_id": shop.regina.pk})
    html = compact(client.get(f"{memo_url}?ligne={order.lines.get().pk}"))
    row = html[html.index("<td>crème") :].split("</tr>")[0]
    assert "supplément" in row and "<td>60 g</td><td>—</td>" in row


# Allergens follow each line to every paper and screen that goes with the pizza.


def test_each_line_keeps_the_allergens_of_what_was_made(configured):
    shop, _pizzaiolo, order = configured
    regina = order.lines.get(product=shop.regina)
    # Without its ham (removed), no sulfites; the extra mozzarella keeps the milk.
    removed_ham = place(
        shop, [LineRequest(shop.regina.pk, 1, option_ids=(shop.removals["jambon"].pk,))], customer_name="Sans jambon"
    ).lines.get()
    assert regina.allergens == ["Anhydride sulfureux et sulfites", "Gluten", "Lait"]
    assert removed_ham.allergens == ["Gluten", "Lait"]


def test_the_kitchen_card_ticket_delivery_card_receipt_and_confirmation_say_the_allergens(
    client, configured, mailoutbox
):
    shop, pizzaiolo, order = configured
    said = "Allergènes : Anhydride sulfureux et sulfites, Gluten, Lait"
    client.force_login(pizzaiolo)
    kitchen = compact(client.get(reverse("production:kitchen", kwargs={"slug": shop.pizzeria.slug})))
    assert said in kitchen[kitchen.index(f'id="order-{order.pk}"') :]
    ticket = compact(
        client.get(reverse("production:order_ticket", kwargs={"slug": shop.pizzeria.slug, "pk": order.pk}))
    )
    assert said in ticket

    delivered = place(
        shop,
        [LineRequest(shop.regina.pk, 1)],
        fulfilment=Fulfilment.DELIVERY,
        customer_name="Livrée",
    )
    rider = factories.UserFactory(email="livreur@ocpizza.fr")
    factories.StaffMemberFactory(user=rider, role=StaffMember.RIDER, pizzeria=shop.pizzeria)
    for state in ["preparing", "ready"]:
        order_transition(order_id=delivered.pk, to_state=state, by=pizzaiolo)
    client.force_login(rider)
    deliveries = compact(client.get(reverse("production:rider", kwargs={"slug": shop.pizzeria.slug})))
    assert "Allergènes : Anhydride sulfureux et sulfites, Gluten, Lait" in deliveries

    receipt = compact(client.get(reverse("ventes:receipt", kwargs={"number": order.number})))
    assert said in receipt  # the pizzaiolo of the pizzeria may print it
    run_queued_tasks()
    (confirmation,) = [m for m in mailoutbox if m.subject == f"Commande {order.number} reçue"]
    assert "1 × Regina (Grande, sans champignons, + mozzarella) — allergènes : Anhydride sulfureux" in confirmation.body
