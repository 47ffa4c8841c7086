"""Stock sent from one pizzeria to another: both ledgers, one transaction, never what orders hold."""

import contextlib
from html import unescape

import pytest
from django.urls import reverse

from production.exceptions import InvalidStockQuantity, InvalidTransfer, NotEnoughStock, TransferForbidden
from production.models import Stock, StockMovement, StockTransfer
from production.services import stock_transfer
from tests import factories
from tests.conftest import ledger_matches_levels
from ventes.services import LineRequest

from ..ventes.helpers import place
from ..ventes.test_races import race


@pytest.fixture
def manager(db):
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


def line_at(pizzeria, name):
    return Stock.objects.get(pizzeria=pizzeria, ingredient__name=name)


def written():
    return StockTransfer.objects.count(), StockMovement.objects.count()


def test_a_transfer_moves_the_shelf_of_both_pizzerias_with_a_ledger_row_each(shop, manager):
    transfer = stock_transfer(
        stock=shop.stock["cheese"], destination=shop.other_pizzeria, quantity=200, by=manager, note="rupture"
    )

    assert shop.figures("cheese") == (1000, 0)
    assert (line_at(shop.other_pizzeria, "cheese").on_hand, line_at(shop.other_pizzeria, "cheese").reserved) == (
        1400,
        0,
    )
    into, out = transfer.movements.order_by("kind")
    assert (into.kind, into.on_hand_delta, into.stock.pizzeria) == ("transfer_in", 200, shop.other_pizzeria)
    assert (out.kind, out.on_hand_delta, out.stock.pizzeria) == ("transfer_out", -200, shop.pizzeria)
    assert {out.by, into.by} == {manager} and {out.note, into.note} == {"rupture"}
    assert ledger_matches_levels()


def test_a_pizzeria_without_the_ingredient_gets_a_line_for_it(shop, manager):
    third = factories.PizzeriaFactory(name="OC Pizza Montparnasse", code="MPA")
    stock_transfer(stock=shop.stock["ham"], destination=third, quantity=100, by=manager)
    assert line_at(third, "ham").on_hand == 100
    assert ledger_matches_levels()


def test_what_orders_hold_is_never_sent_away(shop, manager):
    place(shop, [LineRequest(shop.regina.pk, 2)])  # holds 120 g of the 300 g of ham
    before = written()

    with pytest.raises(NotEnoughStock) as refused:
        stock_transfer(stock=shop.stock["ham"], destination=shop.other_pizzeria, quantity=200, by=manager)

    assert refused.value.message == (
        "Impossible d'envoyer 200 g : OC Pizza Bastille n'en a que 180 g de libres "
        "(120 g sont réservés par des commandes en attente)."
    )
    assert written() == before and shop.figures("ham") == (300, 120)


@pytest.mark.parametrize("quantity", [0, -5, "3", 2.5, True])
def test_a_quantity_that_is_not_a_positive_whole_number_writes_nothing(shop, manager, quantity):
    before = written()
    with pytest.raises(InvalidStockQuantity):
        stock_transfer(stock=shop.stock["ham"], destination=shop.other_pizzeria, quantity=quantity, by=manager)
    assert written() == before


def test_only_a_manager_transfers_and_never_to_the_same_pizzeria(shop, manager):
    pizzaiolo = factories.StaffMemberFactory(role="pizzaiolo", pizzeria=shop.pizzeria).user
    before = written()
    with pytest.raises(TransferForbidden):
        stock_transfer(stock=shop.stock["ham"], destination=shop.other_pizzeria, quantity=10, by=pizzaiolo)
    with pytest.raises(InvalidTransfer):
        stock_transfer(stock=shop.stock["ham"], destination=shop.pizzeria, quantity=10, by=manager)
    shop.other_pizzeria.is_active = False
    shop.other_pizzeria.save()
    with pytest.raises(InvalidTransfer):
        stock_transfer(stock=shop.stock["ham"], destination=shop.other_pizzeria, quantity=10, by=manager)
    assert written() == before


# The screen


def transfer_url(shop):
    return reverse("production:stock_transfer", args=[shop.pizzeria.slug, shop.stock["ham"].pk])


def test_a_manager_sends_stock_from_the_line_page(client, shop, manager):
    client.force_login(manager)
    page = client.get(reverse("production:stock_line", args=[shop.pizzeria.slug, shop.stock["ham"].pk]))
    assert "Envoyer à une autre pizzeria" in page.content.decode()

    response = client.post(
        transfer_url(shop),
        {"transfer-destination": shop.other_pizzeria.pk, "transfer-quantity": "100", "transfer-note": "dépannage"},
        follow=True,
    )

    html = response.content.decode()
    assert "100 g de ham envoyés à OC Pizza Montmartre." in html
    assert "transfert sortant vers OC Pizza Montmartre" in html
    assert shop.figures("ham") == (200, 0)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"transfer-quantity": "100"}, "destination", "Ce champ est obligatoire."),
        ({"transfer-destination": "999999", "transfer-quantity": "100"}, "destination", "Choisissez une pizzeria"),
        ({"transfer-destination": "OTHER", "transfer-quantity": "dix"}, "quantity", "Saisissez un nombre entier."),
        ({"transfer-destination": "OTHER", "transfer-quantity": "400"}, "quantity", "n'en a que 300 g de libres"),
    ],
)
def test_bad_input_is_answered_beside_its_field_and_writes_nothing(client, shop, manager, data, field, message):
    client.force_login(manager)
    data = {key: str(shop.other_pizzeria.pk) if value == "OTHER" else value for key, value in data.items()}
    before = written()

    response = client.post(transfer_url(shop), data)

    assert response.status_code == 400
    html = unescape(response.content.decode())
    error_block = html.split(f'id="id_transfer-{field}_error"', 1)[1].split("</ul>", 1)[0]
    assert message in error_block
    assert written() == before


def test_the_transfer_form_is_for_managers_only(client, shop):
    pizzaiolo = factories.StaffMemberFactory(role="pizzaiolo", pizzeria=shop.pizzeria).user
    client.force_login(pizzaiolo)
    page = client.get(reverse("production:stock_line", args=[shop.pizzeria.slug, shop.stock["ham"].pk]))
    assert "Envoyer à une autre pizzeria" not in page.content.decode()
    data = {"transfer-destination": shop.other_pizzeria.pk, "transfer-quantity": "1"}
    response = client.post(transfer_url(shop), data)
    assert response.status_code == 403
    assert StockTransfer.objects.count() == 0


# Racing on PostgreSQL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_transfers_and_orders_never_make_stock_negative_nor_lose_any(shop, manager):
    """300 g of ham at Bastille: transfers out, transfers back in and orders for Regina (60 g) all at once."""
    other_ham = line_at(shop.other_pizzeria, "ham")
    total = shop.figures("ham")[0] + other_ham.on_hand

    def attempt(index):
        if index % 3 == 0:
            with contextlib.suppress(NotEnoughStock):  # once the free ham is gone
                stock_transfer(stock=shop.stock["ham"], destination=shop.other_pizzeria, quantity=70, by=manager)
        elif index % 3 == 1:
            stock_transfer(stock=other_ham, destination=shop.pizzeria, quantity=10, by=manager)
        else:
            place(shop, [LineRequest(shop.regina.pk, 1)], customer_name=f"Client {index}")

    outcomes = race(30, attempt)

    assert set(outcomes) <= {"ok", "sold_out"}, outcomes  # no deadlock, no constraint broken
    here, there = Stock.objects.get(pk=shop.stock["ham"].pk), Stock.objects.get(pk=other_ham.pk)
    assert 0 <= here.reserved <= here.on_hand and 0 <= there.reserved <= there.on_hand
    assert here.on_hand + there.on_hand == total  # what left one pizzeria arrived at the other
    assert ledger_matches_levels()
