"""Receipts: every legal mention, a number per pizzeria without a gap, and duplicates written to the journal."""

import datetime
import html
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from tests import factories
from ventes.closings import closings_make
from ventes.journal import journal_verify
from ventes.models import ClosingKind, JournalEntry, OrderState
from ventes.services import LineRequest
from ventes.workflow import order_transition

from .helpers import place
from .journal_helpers import completed

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


@pytest.fixture(autouse=True)
def company(settings):
    settings.COMPANY = {
        "NAME": "OC Pizza SAS",
        "ADDRESS": "12 rue de la Roquette, 75011 Paris",
        "SIRET": "123 456 789 00012",
        "VAT_NUMBER": "FR32123456789",
    }


def receipt_page(client, order, *, reprint=False):
    url = f"/commande/{order.number}/recu/" + ("duplicata/" if reprint else "")
    response = client.post(url, follow=True) if reprint else client.get(url)
    return response, html.unescape(response.content.decode())


PROJECT_VERSION = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["version"]


def test_the_receipt_carries_every_legal_mention(client, shop, manager):
    order = completed(
        shop, manager, [LineRequest(shop.regina.pk, 2), LineRequest(shop.beer.pk, 1)], payment_method="card"
    )
    sale = JournalEntry.objects.get(order=order, kind="sale")
    client.force_login(manager)

    response, page = receipt_page(client, order)

    assert response.status_code == 200
    at = timezone.localtime(sale.at)  # Paris time, as the page shows it
    mentions = [
        "OC Pizza SAS, 12 rue de la Roquette, 75011 Paris",  # the seller
        "SIRET 123 456 789 00012",
        "N° TVA intracommunautaire FR32123456789",
        "OC Pizza Bastille",  # the shop that sold
        shop.pizzeria.address,
        "Ticket n° <strong>BAS-000001</strong>",  # its number, from the pizzeria's gapless sequence
        f"du {at:%d/%m/%Y} à {at:%H}h{at:%M}",  # date and time of the sale
        "Regina</td><td>2</td><td>12,00 €</td><td>10 %</td><td>24,00 €",
        "Peroni</td><td>1</td><td>4,50 €</td><td>20 %</td><td>4,50 €",
        "<td>10 %</td><td>21,82 €</td><td>2,18 €</td><td>24,00 €</td>",  # VAT by rate: excl., VAT, incl.
        "<td>20 %</td><td>3,75 €</td><td>0,75 €</td><td>4,50 €</td>",
        'Total TTC</dt><dd class="order-total">28,50 €',
        "Paiement : carte à la livraison / au comptoir",
        f"Logiciel de caisse : OC Pizza {PROJECT_VERSION}",  # the software that keeps the journal, and its version
    ]
    for mention in mentions:
        assert mention in page, mention
    assert "DUPLICATA" not in page and "Réimprimer (duplicata)" in page


def test_receipt_numbers_follow_the_sales_of_each_pizzeria_without_a_gap(shop, manager):
    first, second = place(shop), place(shop)
    cancelled = place(shop)
    order_transition(order_id=cancelled.pk, to_state=OrderState.CANCELLED, by=manager, cancel_reason="too_busy")
    for order in (second, first):  # handed over in the other order than placed
        for state in (OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED):
            order_transition(order_id=order.pk, to_state=state, by=manager)
    elsewhere = completed(shop, manager, pizzeria_id=shop.other_pizzeria.pk)

    numbers = dict(JournalEntry.objects.filter(kind="sale").values_list("order_id", "receipt_number"))
    assert numbers == {second.pk: 1, first.pk: 2, elsewhere.pk: 1}


def test_an_order_not_completed_has_a_summary_and_no_receipt_to_reprint(client, shop):
    customer = factories.CustomerFactory()
    order = place(shop, customer=customer)
    client.force_login(customer.user)
    _, page = receipt_page(client, order)
    assert "Récapitulatif de la commande" in page and "Ticket n°" not in page and "Réimprimer" not in page

    _, page = receipt_page(client, order, reprint=True)
    assert "pas de duplicata avant" in page
    assert not JournalEntry.objects.exists()


def test_a_reprint_says_duplicata_and_is_journalled_each_time(client, shop, manager):
    order = completed(shop, manager)
    client.force_login(manager)

    _, page = receipt_page(client, order, reprint=True)
    assert "DUPLICATA n° 1" in page and "Ticket n° <strong>BAS-000001</strong>" in page
    _, page = receipt_page(client, order, reprint=True)
    assert "DUPLICATA n° 2" in page

    duplicates = JournalEntry.objects.filter(order=order, kind="duplicate").order_by("sequence")
    assert [(d.receipt_number, d.amount, d.operator) for d in duplicates] == [(1, Decimal("9.50"), str(manager.pk))] * 2
    assert journal_verify(pizzeria=shop.pizzeria).is_intact
    # The next day closes the order's day, and its month too when the test runs on a month's last day.
    made = closings_make(pizzeria_id=shop.pizzeria.pk, now=order.updated_at + datetime.timedelta(days=1))
    (day,) = [closing for closing in made if closing.kind == ClosingKind.DAY]
    assert (day.duplicates, day.sales_count, day.sales_total) == (2, 1, Decimal("9.50"))  # a copy sells nothing


def test_the_customer_reprints_their_own_receipt_and_nobody_else_can(client, shop, manager):
    customer = factories.CustomerFactory()
    order = completed(shop, manager, customer=customer)
    client.force_login(factories.CustomerFactory().user)
    assert client.post(f"/commande/{order.number}/recu/duplicata/").status_code == 404
    client.force_login(customer.user)
    _, page = receipt_page(client, order, reprint=True)
    assert "DUPLICATA n° 1" in page
    assert JournalEntry.objects.get(kind="duplicate").operator == str(customer.user.pk)


def test_the_receipt_page_reads_in_few_queries(client, shop, manager, django_assert_max_num_queries):
    order = completed(shop, manager)
    client.force_login(manager)
    with django_assert_max_num_queries(14):
        client.get(f"/commande/{order.number}/recu/")
