from decimal import Decimal

import pytest

from production.exceptions import SoldOut
from production.models import StaffMember, StockMovement
from tests import factories
from tests.conftest import ledger_matches_levels
from ventes.exceptions import InvalidOrder, OrderNotEditable, TransitionForbidden
from ventes.models import Order, OrderState
from ventes.services import LineRequest, order_edit_lines
from ventes.workflow import order_transition

from .helpers import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return factories.CustomerFactory()


@pytest.fixture
def order(shop, customer):
    return place(shop, [LineRequest(shop.margherita.pk, 2)], customer=customer)


def test_edit_reserves_and_releases_only_the_difference(shop, customer, order):
    edited = order_edit_lines(
        order_id=order.pk,
        lines=[LineRequest(shop.margherita.pk, 1), LineRequest(shop.regina.pk, 1)],
        by=customer.user,
    )
    assert edited.total == Decimal("21.50")
    assert sorted(edited.lines.values_list("product_name", "quantity")) == [("Margherita", 1), ("Regina", 1)]
    # dough and tomato and cheese: same need (2 pizzas) → no movement; ham: +60 reserved.
    edit_moves = StockMovement.objects.filter(order=order).order_by("pk")[3:]
    assert [(m.stock.ingredient.name, m.kind, m.reserved_delta) for m in edit_moves] == [("ham", "reservation", 60)]
    assert (shop.level("dough"), shop.level("ham")) == (8, 240)
    assert edited.events.latest("pk").note == "commande modifiée"
    assert ledger_matches_levels()


def test_edit_down_releases(shop, customer, order):
    order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.beer.pk, 1)], by=customer.user)
    assert (shop.level("dough"), shop.level("cheese"), shop.level("beer")) == (10, 1200, 23)
    assert ledger_matches_levels()


def test_edit_beyond_stock_changes_nothing(shop, customer, order):
    with pytest.raises(SoldOut) as error:
        order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 11)], by=customer.user)
    # The order's own two pizzas count as available to it.
    assert [(s.product_name, s.available) for s in error.value.shortages] == [("Margherita", 10)]
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.total == Decimal("19.00")
    assert list(fresh.lines.values_list("quantity", flat=True)) == [2]
    assert shop.level("dough") == 8
    assert ledger_matches_levels()


def test_edit_refused_once_the_kitchen_started(shop, customer, order):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=pizzaiolo)
    with pytest.raises(OrderNotEditable):
        order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 1)], by=customer.user)
    assert shop.level("dough") == 8


def test_edit_by_someone_else_is_forbidden(shop, order):
    for user in (factories.CustomerFactory().user, None):
        with pytest.raises(TransitionForbidden):
            order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 1)], by=user)
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    assert order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 1)], by=counter).total == Decimal(
        "9.50"
    )


def test_edit_with_bad_lines(shop, customer, order):
    with pytest.raises(InvalidOrder):
        order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 0)], by=customer.user)
    with pytest.raises(InvalidOrder):
        order_edit_lines(order_id=order.pk, lines=[], by=customer.user)
    assert shop.level("dough") == 8


def test_cancel_releases_exactly_what_was_held_after_edits(shop, customer, order):
    order_edit_lines(
        order_id=order.pk, lines=[LineRequest(shop.regina.pk, 3), LineRequest(shop.beer.pk, 2)], by=customer.user
    )
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=customer.user)
    assert {name: shop.level(name) for name in shop.stock} == {
        "dough": 10,
        "tomato": 1000,
        "cheese": 1200,
        "ham": 300,
        "beer": 24,
    }
    assert ledger_matches_levels()


def test_an_edit_reads_the_catalogues_revision_once(shop, customer, order):
    """The order's pizzeria comes without the revision its catalogue and allergens are kept under: read once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        order_edit_lines(order_id=order.pk, lines=[LineRequest(shop.margherita.pk, 2)], by=customer.user)
    revisions = [query for query in queries.captured_queries if "production_cataloguerevision" in query["sql"]]
    assert len(revisions) == 1
