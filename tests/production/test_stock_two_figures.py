"""Stock in two figures: what is on the shelf, and what orders not yet in the oven hold.

The issue's reproduction: basil on the shelf, an order holding some, a count of
the shelf, then the order cancelled or started.
"""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from production.exceptions import NotEnoughStock, StockOverrideForbidden
from production.models import Stock, StockMovement
from production.selectors import product_availability
from production.services import stock_count_inventory, stock_record_waste, stock_restock
from tests.conftest import ledger_matches_levels
from ventes.models import OrderState
from ventes.selectors import stock_check_ledger
from ventes.services import LineRequest, order_edit_lines
from ventes.workflow import order_transition

from ..ventes.helpers import place

pytestmark = pytest.mark.django_db
S = OrderState


def test_placing_reserves_without_touching_the_shelf(shop):
    place(shop, [LineRequest(shop.regina.pk, 2)])
    assert shop.figures("ham") == (300, 120)
    assert shop.level("ham") == 180
    assert ledger_matches_levels()


def test_a_count_while_an_order_is_open_then_its_cancel_does_not_add_twice(shop, team):
    order = place(shop, [LineRequest(shop.regina.pk, 1)], customer=None)
    # The shelf holds what it held: the order's 60 g of ham are still physically there.
    stock_count_inventory(stock=shop.stock["ham"], counted=300, by=team.manager)
    assert shop.figures("ham") == (300, 60)
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=team.manager, cancel_reason="too_busy")
    assert shop.figures("ham") == (300, 0)  # the old code said 360
    assert ledger_matches_levels()


def test_a_count_while_an_order_is_open_then_its_start_consumes(shop, team):
    order = place(shop, [LineRequest(shop.regina.pk, 1)])
    stock_count_inventory(stock=shop.stock["ham"], counted=300, by=team.manager)
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=team.pizzaiolo)
    assert shop.figures("ham") == (240, 0)
    assert shop.figures("dough") == (9, 0)
    # What the menu offers is what is on the shelf: 240 g of ham make 4 Regina.
    assert product_availability(pizzeria_id=shop.pizzeria.pk)[shop.regina.pk].can_make == 4
    consumed = StockMovement.objects.filter(order=order, kind=StockMovement.CONSUMPTION, stock=shop.stock["ham"])
    assert list(consumed.values_list("on_hand_delta", "reserved_delta")) == [(-60, -60)]
    assert ledger_matches_levels()


def test_undoing_the_start_gives_the_order_its_stock_back_and_a_second_start_consumes_once(shop, team):
    order = place(shop, [LineRequest(shop.regina.pk, 1)])
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=team.pizzaiolo)
    order_transition(order_id=order.pk, to_state=S.RECEIVED, by=team.pizzaiolo)
    assert shop.figures("ham") == (300, 60)
    assert ledger_matches_levels()
    # Back in the queue it may be edited or cancelled like any other.
    order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 1)], by=team.manager)
    assert shop.figures("ham") == (300, 0)
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=team.pizzaiolo)
    assert shop.figures("ham") == (300, 0)
    assert shop.figures("cheese") == (1100, 0)
    assert ledger_matches_levels()


def test_cancelling_after_the_oven_gives_nothing_back(shop, team):
    order = place(shop, [LineRequest(shop.regina.pk, 1)])
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=team.pizzaiolo)
    order_transition(order_id=order.pk, to_state=S.READY, by=team.pizzaiolo)
    order_transition(order_id=order.pk, to_state=S.CANCELLED, by=team.manager, cancel_reason="too_busy")
    assert shop.figures("ham") == (240, 0)
    assert ledger_matches_levels()


def test_a_count_below_what_orders_hold_is_refused_in_french_and_writes_nothing(shop, team):
    place(shop, [LineRequest(shop.regina.pk, 2)])
    before = StockMovement.objects.count()
    with pytest.raises(NotEnoughStock) as error:
        stock_count_inventory(stock=shop.stock["ham"], counted=100, by=team.manager)
    assert "réservent 120 g" in error.value.message
    assert StockMovement.objects.count() == before
    assert shop.figures("ham") == (300, 120)


def test_waste_beyond_what_is_free_is_refused_in_french(shop, team):
    place(shop, [LineRequest(shop.regina.pk, 1)])
    before = StockMovement.objects.count()
    with pytest.raises(NotEnoughStock) as error:
        stock_record_waste(stock=shop.stock["ham"], quantity=241, by=team.pizzaiolo)
    assert error.value.message == (
        "Impossible de jeter 241 g : 60 g sont réservés par des commandes en attente, seuls 240 g sont libres. "
        "Un responsable peut forcer la perte."
    )
    with pytest.raises(StockOverrideForbidden) as forbidden:
        stock_record_waste(stock=shop.stock["ham"], quantity=241, by=team.pizzaiolo, override=True)
    assert forbidden.value.message.startswith("Seul un responsable")
    assert StockMovement.objects.count() == before
    stock_record_waste(stock=shop.stock["ham"], quantity=240, by=team.pizzaiolo)
    assert shop.figures("ham") == (60, 60)
    assert ledger_matches_levels()


def test_a_manager_may_force_a_waste_into_what_orders_hold(shop, team):
    first = place(shop, [LineRequest(shop.regina.pk, 1)])
    latest = place(shop, [LineRequest(shop.regina.pk, 1)])
    stock_record_waste(stock=shop.stock["ham"], quantity=200, by=team.manager, note="frigo en panne", override=True)
    # 180 g were free; the 20 g more come from the latest order, which now holds 40 g of its 60.
    assert shop.figures("ham") == (100, 100)
    released = StockMovement.objects.get(kind=StockMovement.RELEASE)
    assert (released.order_id, released.reserved_delta, released.note) == (
        latest.pk,
        -20,
        "perte forcée : frigo en panne",
    )
    assert not StockMovement.objects.filter(kind=StockMovement.RELEASE, order=first).exists()
    with pytest.raises(NotEnoughStock):
        stock_record_waste(stock=shop.stock["ham"], quantity=101, by=team.manager, override=True)
    assert ledger_matches_levels()
    # Cancelling the short order gives back what it still holds, no more.
    order_transition(order_id=latest.pk, to_state=S.CANCELLED, by=team.manager, cancel_reason="too_busy")
    assert shop.figures("ham") == (100, 60)
    assert ledger_matches_levels()


def test_the_staff_screen_waste_form_offers_the_override_to_managers_only(client, shop, team):
    place(shop, [LineRequest(shop.regina.pk, 1)])
    line = shop.stock["ham"]
    path = reverse("production:stock_line", kwargs={"slug": shop.pizzeria.slug, "pk": line.pk})
    client.force_login(team.pizzaiolo)
    assert "waste-override" not in client.get(path).content.decode()
    refused = client.post(path + "perte/", {"waste-quantity": "250", "waste-override": "on"})
    assert refused.status_code == 400
    assert "60 g sont réservés" in refused.content.decode()
    client.force_login(team.manager)
    page = client.get(path).content.decode()
    assert 'name="waste-override"' in page
    assert "Réservé par les commandes en attente" in page
    assert client.post(path + "perte/", {"waste-quantity": "250", "waste-override": "on"}).status_code == 302
    assert shop.figures("ham") == (50, 50)


def test_the_stock_screen_shows_on_hand_reserved_and_available(client, shop, team):
    place(shop, [LineRequest(shop.regina.pk, 2)])
    client.force_login(team.pizzaiolo)
    html = client.get(reverse("production:stock", kwargs={"slug": shop.pizzeria.slug})).content.decode()
    row = html[html.index(f'id="stock-{shop.stock["ham"].pk}"') :]
    row = row[: row.index("</tr>")]
    assert '"num">300</td>' in row and '"num">120</td>' in row and "<strong>180</strong>" in row


def test_the_check_finds_a_line_changed_behind_the_ledger(shop, team):
    place(shop, [LineRequest(shop.regina.pk, 1)])
    call_command("check_stock_ledger")
    with connection.cursor() as cursor:
        table = Stock._meta.db_table
        cursor.execute(f"UPDATE {table} SET on_hand = on_hand + 7 WHERE id = %s", [shop.stock["ham"].pk])
        cursor.execute(f"UPDATE {table} SET reserved = reserved - 1 WHERE id = %s", [shop.stock["cheese"].pk])
    drifts = {drift.ingredient: drift for drift in stock_check_ledger()}
    assert set(drifts) == {"ham", "cheese"}
    assert (drifts["ham"].on_hand, drifts["ham"].ledger_on_hand) == (307, 300)
    assert (drifts["cheese"].reserved, drifts["cheese"].open_reservations) == (99, 100)
    with pytest.raises(CommandError, match="2 ligne"):
        call_command("check_stock_ledger")


def test_the_check_finds_an_order_in_the_oven_still_holding(shop, team):
    order = place(shop, [LineRequest(shop.beer.pk, 1)])
    type(order).objects.filter(pk=order.pk).update(state=S.PREPARING)  # moved without the workflow
    (drift,) = stock_check_ledger()
    assert (drift.ingredient, drift.reserved, drift.open_reservations, drift.held_by_closed_orders) == ("beer", 1, 0, 1)
    assert "encore tenus par des commandes" in str(drift)


def test_restock_moves_the_shelf_only(shop):
    place(shop, [LineRequest(shop.beer.pk, 4)])
    stock_restock(stock=shop.stock["beer"], quantity=6)
    assert shop.figures("beer") == (30, 4)
    assert ledger_matches_levels()
