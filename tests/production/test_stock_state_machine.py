"""Random sequences of what a pizzeria's day does to its stock, through the real services.

Orders are placed, edited, cancelled, started (and the tap taken back),
finished; the shelf is restocked, counted and wasted on. After every step:
nothing is ever less than zero, each line's on-hand is what its ledger says and
what a model of the shelf expects, its reserved is what the waiting orders
hold, and no order holds what it does not need.
"""

import contextlib
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule, run_state_machine_as_test

from production.exceptions import NotEnoughStock, SoldOut
from production.models import RecipeLine, Stock, StockMovement
from production.services import (
    stock_count_inventory,
    stock_record_waste,
    stock_reserved_for_order,
    stock_restock,
)
from ventes.exceptions import IllegalTransition, OrderNotEditable, TransitionForbidden
from ventes.models import Order, OrderLine, OrderState
from ventes.services import LineRequest, order_edit_lines
from ventes.workflow import STOCK_HELD_STATES, order_transition

from ..ventes.helpers import place

pytestmark = pytest.mark.django_db
S = OrderState
INGREDIENTS = ["dough", "tomato", "cheese", "ham", "beer"]

lines_strategy = st.lists(
    st.tuples(st.sampled_from(["margherita", "regina", "beer"]), st.integers(min_value=1, max_value=3)),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)


class StockDay(RuleBasedStateMachine):
    """One pizzeria's day; ``shop`` and ``team`` are set by the test that runs it."""

    shop = None
    team = None
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        # Each run starts from the shop's opening stock and leaves nothing behind.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.lines = {name: self.shop.stock[name] for name in INGREDIENTS}
        self.expected_on_hand = {name: Stock.objects.get(pk=line.pk).on_hand for name, line in self.lines.items()}
        self.short = set()  # orders a manager's forced waste left holding less than they need

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def _requests(self, lines):
        products = {"margherita": self.shop.margherita, "regina": self.shop.regina, "beer": self.shop.beer}
        return [LineRequest(products[name].pk, quantity) for name, quantity in lines]

    @rule(target=orders, lines=lines_strategy, online=st.booleans())
    def place(self, lines, online):
        try:
            order = place(self.shop, self._requests(lines), payment_method="online_card" if online else "cash")
        except SoldOut:
            return multiple()
        return order.pk

    @rule(order_id=orders, lines=lines_strategy)
    def edit(self, order_id, lines):
        try:
            order_edit_lines(order_id=order_id, lines=self._requests(lines), by=self.team.manager)
        except (SoldOut, OrderNotEditable):
            return
        self.short.discard(order_id)

    @rule(order_id=orders)
    def cancel(self, order_id):
        with contextlib.suppress(IllegalTransition):
            order_transition(order_id=order_id, to_state=S.CANCELLED, by=self.team.manager, cancel_reason="too_busy")

    @rule(order_id=orders)
    def start(self, order_id):
        held = self._held_by_name(order_id)
        try:
            order_transition(order_id=order_id, to_state=S.PREPARING, by=self.team.pizzaiolo)
        except IllegalTransition:
            return
        for name, quantity in held.items():
            self.expected_on_hand[name] -= quantity

    @rule(order_id=orders)
    def undo_start(self, order_id):
        consumed = Counter()
        for name, quantity in StockMovement.objects.filter(
            order_id=order_id, kind__in=[StockMovement.CONSUMPTION, StockMovement.UNCONSUMED]
        ).values_list("stock__ingredient__name", "on_hand_delta"):
            consumed[name] -= quantity
        try:
            order_transition(order_id=order_id, to_state=S.RECEIVED, by=self.team.pizzaiolo)
        except (IllegalTransition, TransitionForbidden):  # an online order awaiting payment is not the kitchen's
            return
        for name, quantity in consumed.items():
            self.expected_on_hand[name] += quantity

    @rule(order_id=orders)
    def finish(self, order_id):
        with contextlib.suppress(IllegalTransition):
            order_transition(order_id=order_id, to_state=S.READY, by=self.team.pizzaiolo)

    @rule(name=st.sampled_from(INGREDIENTS), quantity=st.integers(min_value=1, max_value=500))
    def restock(self, name, quantity):
        stock_restock(stock=self.lines[name], quantity=quantity, by=self.team.manager)
        self.expected_on_hand[name] += quantity

    @rule(name=st.sampled_from(INGREDIENTS), counted=st.integers(min_value=0, max_value=1500))
    def count(self, name, counted):
        try:
            stock_count_inventory(stock=self.lines[name], counted=counted, by=self.team.manager)
        except NotEnoughStock:
            return
        self.expected_on_hand[name] = counted

    @rule(name=st.sampled_from(INGREDIENTS), quantity=st.integers(min_value=1, max_value=600), forced=st.booleans())
    def waste(self, name, quantity, forced):
        by = self.team.manager if forced else self.team.pizzaiolo
        try:
            stock_record_waste(stock=self.lines[name], quantity=quantity, by=by, override=forced)
        except NotEnoughStock:
            return
        self.expected_on_hand[name] -= quantity
        if forced:
            self.short |= {order_id for order_id, _, held, needs in self._holdings() if held != needs}

    # --- What must hold after every step ---------------------------------------------

    def _held_by_name(self, order_id):
        names = {line.ingredient_id: name for name, line in self.lines.items()}
        return {names[ingredient_id]: held for ingredient_id, held in stock_reserved_for_order(order=order_id).items()}

    def _holdings(self):
        """(order id, state, what it holds, what its lines need) for every order of the day."""
        recipe = {}
        for product_id, ingredient_id, quantity in RecipeLine.objects.values_list(
            "product_id", "ingredient_id", "quantity"
        ):
            recipe.setdefault(product_id, []).append((ingredient_id, quantity))
        needs = {}
        for order_id, product_id, quantity in OrderLine.objects.values_list("order_id", "product_id", "quantity"):
            for ingredient_id, per_unit in recipe.get(product_id, []):
                needs.setdefault(order_id, Counter())[ingredient_id] += per_unit * quantity
        held = {}
        for order_id, ingredient_id, quantity in (
            StockMovement.objects.filter(order__isnull=False, stock__pizzeria=self.shop.pizzeria)
            .values_list("order_id", "stock__ingredient_id")
            .annotate(held=Sum("reserved_delta"))
        ):
            if quantity:
                held.setdefault(order_id, {})[ingredient_id] = quantity
        return [
            (order_id, state, held.get(order_id, {}), dict(needs.get(order_id, {})))
            for order_id, state in Order.objects.values_list("pk", "state")
        ]

    @invariant()
    def figures_are_never_below_zero(self):
        for on_hand, reserved in Stock.objects.values_list("on_hand", "reserved"):
            assert 0 <= reserved <= on_hand

    @invariant()
    def on_hand_is_the_ledger_and_the_shelf(self):
        ledger = dict(StockMovement.objects.values_list("stock_id").annotate(total=Sum("on_hand_delta")))
        for name, line in self.lines.items():
            on_hand = Stock.objects.get(pk=line.pk).on_hand
            assert on_hand == ledger.get(line.pk, 0) == self.expected_on_hand[name], name

    @invariant()
    def reserved_is_what_waiting_orders_hold_and_no_order_holds_what_it_does_not_need(self):
        reserved = Counter()
        for order_id, state, held, needs in self._holdings():
            if state in STOCK_HELD_STATES:
                for ingredient_id, quantity in held.items():
                    reserved[ingredient_id] += quantity
                    assert 0 < quantity <= needs.get(ingredient_id, 0), (order_id, state, held, needs)
                if order_id not in self.short:
                    assert held == needs, (order_id, state, held, needs)
            else:
                assert held == {}, (order_id, state, held)
        for line in self.lines.values():
            assert Stock.objects.get(pk=line.pk).reserved == reserved[line.ingredient_id]


def test_stock_stays_right_whatever_the_day_brings(shop, django_user_model):
    from production.models import StaffMember
    from tests import factories

    class Team:
        manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
        pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user

    StockDay.shop, StockDay.team = shop, Team
    run_state_machine_as_test(
        StockDay,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
