"""Configured orders racing for the last mozzarella, on a real PostgreSQL: each reserves its exact recipe."""

from collections import Counter

import pytest

from production.services import stock_count_inventory
from tests.conftest import ledger_matches_levels
from ventes.models import OrderLine
from ventes.services import LineRequest

from .helpers import place
from .test_races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_last_mozzarella_with_extras_never_oversells(options_shop):
    shop = options_shop
    # A Grande with extra mozzarella takes 150 + 75 g: five of them fit, and 100 g stay (one plain Moyenne).
    stock_count_inventory(stock=shop.stock["mozzarella"], counted=5 * 225 + 100)
    grande = LineRequest(shop.regina.pk, 1, size_id=shop.sizes["Grande"].pk, option_ids=(shop.extras["Mozzarella"].pk,))
    outcomes = race(24, lambda i: place(shop, [grande], customer_name=f"Client {i}"))
    assert outcomes == Counter({"ok": 5, "sold_out": 19})
    assert shop.figures("mozzarella") == (1225, 1125)
    # What is left is what the recipes say: a plain Moyenne still fits, a second one does not.
    place(shop, [LineRequest(shop.regina.pk, 1, size_id=shop.sizes["Moyenne"].pk)])
    assert shop.figures("mozzarella") == (1225, 1225)
    assert ledger_matches_levels()


def test_mixed_configurations_racing_hold_exactly_what_their_lines_need(options_shop):
    shop = options_shop
    stock_count_inventory(stock=shop.stock["mozzarella"], counted=1_000)
    for name in ("pâte", "tomate", "jambon", "champignons"):  # mozzarella alone runs short
        stock_count_inventory(stock=shop.stock[name], counted=100_000)
    mozzarella = shop.ingredients["mozzarella"].pk
    configurations = [
        LineRequest(shop.regina.pk, 1, size_id=shop.sizes["Géante"].pk, option_ids=(shop.extras["Mozzarella"].pk,)),
        LineRequest(shop.regina.pk, 2, size_id=shop.sizes["Moyenne"].pk, option_ids=(shop.extras["Mozzarella"].pk,)),
        # Without mozzarella: never short of it, whatever the others took.
        LineRequest(shop.regina.pk, 1, size_id=shop.sizes["Grande"].pk, option_ids=(shop.removals["mozzarella"].pk,)),
    ]
    outcomes = race(30, lambda i: place(shop, [configurations[i % 3]], customer_name=f"Client {i}"))
    assert set(outcomes) <= {"ok", "sold_out"}, outcomes
    on_hand, reserved = shop.figures("mozzarella")
    assert on_hand == 1_000 and reserved <= 1_000
    held = sum(line.recipe.get(str(mozzarella), 0) * line.quantity for line in OrderLine.objects.all())
    assert held == reserved
    assert OrderLine.objects.filter(description="Grande, sans mozzarella").count() == 10
    # Nothing that fits was refused: what is left cannot make even the smallest configuration with mozzarella.
    assert 1_000 - reserved < 2 * 150
    assert ledger_matches_levels()
