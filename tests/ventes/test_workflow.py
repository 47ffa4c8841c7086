"""Every (state, target state, actor) triple against the transition table."""

import datetime
import itertools

import pytest
from django.utils import timezone

from production.models import StaffMember, StockMovement
from production.services import stock_consume_order
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.queue import run_queued_tasks
from ventes.exceptions import IllegalTransition, InvalidOrder, TransitionForbidden
from ventes.models import Order, OrderEvent, OrderState, Payment, PaymentState
from ventes.services import orders_expire_unpaid
from ventes.workflow import TRANSITIONS, UNDO_TRANSITIONS, Role, order_transition

from .helpers import place

pytestmark = pytest.mark.django_db
S = OrderState
ACTORS = ["system", "owner", "stranger", "pizzaiolo", "rider", "counter", "manager", "pizzaiolo_elsewhere"]


def make_actor(kind, shop, customer):
    if kind == "system":
        return None
    if kind == "owner":
        return customer.user
    if kind == "stranger":
        return factories.CustomerFactory().user
    if kind == "manager":
        return factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    if kind == "pizzaiolo_elsewhere":
        return factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.other_pizzeria).user
    return factories.StaffMemberFactory(role=kind, pizzeria=shop.pizzeria).user


def order_in(shop, state, *, customer, fulfilment, rider=None):
    """A real order (stock reserved by the service), brought to ``state`` as the workflow would have."""
    online = state == S.PENDING_PAYMENT
    order = place(
        shop,
        customer=customer,
        fulfilment=fulfilment,
        payment_method="online_card" if online else "cash",
    )
    if state == S.PENDING_PAYMENT:
        Order.objects.filter(pk=order.pk).update(payment_state=PaymentState.PAID)
    elif state != S.RECEIVED:
        # Past the queue, the oven has consumed what the order held.
        stock_consume_order(pizzeria_id=order.pizzeria_id, order=order)
        Order.objects.filter(pk=order.pk).update(state=state, rider=rider)
        OrderEvent.objects.create(order=order, type="state_moved", from_state=S.RECEIVED, to_state=state)
    return Order.objects.get(pk=order.pk)


def expected_legal(source, target, kind):
    roles = TRANSITIONS.get((source, target)) or UNDO_TRANSITIONS.get((source, target)) or frozenset()
    role = {"pizzaiolo_elsewhere": None, "stranger": None}.get(kind, kind)
    return role is not None and Role(role) in roles


def snapshot(order):
    order = Order.objects.get(pk=order.pk)
    return (
        order.state,
        order.payment_state,
        order.rider_id,
        order.cancel_reason,
        order.total,
        OrderEvent.objects.filter(order=order).count(),
        list(StockMovement.objects.order_by("pk").values_list("pk", flat=True)),
        Payment.objects.count(),
    )


@pytest.mark.parametrize(
    ("source", "target", "kind"), list(itertools.product(S.values, S.values, ACTORS)), ids="-".join
)
def test_transition_table(shop, source, target, kind, mailoutbox, django_capture_on_commit_callbacks):
    customer = factories.CustomerFactory()
    fulfilment = "pickup" if (source, target) == (S.READY, S.COMPLETED) else "delivery"
    actor = make_actor(kind, shop, customer)
    order = order_in(shop, source, customer=customer, fulfilment=fulfilment, rider=actor if kind == "rider" else None)
    levels_before = {name: shop.level(name) for name in shop.stock}
    before = snapshot(order)
    run_queued_tasks()  # the placement's own mail
    mailoutbox.clear()

    if not expected_legal(source, target, kind):
        with pytest.raises((IllegalTransition, TransitionForbidden)):
            order_transition(order_id=order.pk, to_state=target, by=actor, cancel_reason="too_busy")
        assert snapshot(order) == before
        assert {name: shop.level(name) for name in shop.stock} == levels_before
        return

    with django_capture_on_commit_callbacks(execute=True):
        moved = order_transition(order_id=order.pk, to_state=target, by=actor, cancel_reason="too_busy")
    run_queued_tasks()
    assert moved.state == target
    event = OrderEvent.objects.filter(order=order).latest("pk")
    assert (event.from_state, event.to_state, event.by) == (source, target, actor)
    assert OrderEvent.objects.filter(order=order).count() == before[5] + 1
    is_undo = (source, target) in UNDO_TRANSITIONS
    assert len(mailoutbox) == (0 if is_undo else 1)

    released = StockMovement.objects.filter(order=order, kind=StockMovement.RELEASE)
    if target == S.CANCELLED and source in (S.PENDING_PAYMENT, S.RECEIVED):
        assert released.count() == 3
        assert shop.level("dough") == levels_before["dough"] + 1
    else:
        assert not released.exists()
        assert {name: shop.level(name) for name in shop.stock} == levels_before
    assert ledger_matches_levels()
    if target == S.COMPLETED:
        assert moved.payment_state == PaymentState.PAID
        assert Payment.objects.filter(order=order, state="succeeded", amount=order.total).count() == 1
    if target == S.OUT_FOR_DELIVERY and kind == "rider":
        assert moved.rider == actor


def test_every_transition_of_the_design_exists():
    assert set(TRANSITIONS) >= {
        (S.PENDING_PAYMENT, S.RECEIVED),
        (S.PENDING_PAYMENT, S.CANCELLED),
        (S.RECEIVED, S.PREPARING),
        (S.RECEIVED, S.CANCELLED),
        (S.PREPARING, S.READY),
        (S.READY, S.OUT_FOR_DELIVERY),
        (S.READY, S.COMPLETED),
        (S.OUT_FOR_DELIVERY, S.COMPLETED),
    }


def test_a_pickup_order_never_goes_out_for_delivery(shop):
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    order = order_in(shop, S.READY, customer=None, fulfilment="pickup")
    with pytest.raises(IllegalTransition, match="à emporter"):
        order_transition(order_id=order.pk, to_state=S.OUT_FOR_DELIVERY, by=manager)
    delivery = order_in(shop, S.READY, customer=None, fulfilment="delivery")
    with pytest.raises(IllegalTransition, match="livreur"):
        order_transition(order_id=delivery.pk, to_state=S.COMPLETED, by=manager)


def test_only_the_rider_who_took_it_delivers_it(shop):
    first = factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=shop.pizzeria).user
    second = factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=shop.pizzeria).user
    order = order_in(shop, S.READY, customer=None, fulfilment="delivery")
    order_transition(order_id=order.pk, to_state=S.OUT_FOR_DELIVERY, by=first)
    with pytest.raises(TransitionForbidden, match="autre livreur"):
        order_transition(order_id=order.pk, to_state=S.COMPLETED, by=second)
    assert order_transition(order_id=order.pk, to_state=S.COMPLETED, by=first).state == S.COMPLETED


def test_card_order_cannot_skip_payment_confirmation(shop):
    manager = factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user
    order = place(shop, payment_method="online_card")
    for actor in (None, manager):
        with pytest.raises(IllegalTransition, match="paiement"):
            order_transition(order_id=order.pk, to_state=S.RECEIVED, by=actor)
    with pytest.raises(IllegalTransition):
        order_transition(order_id=order.pk, to_state=S.PREPARING, by=manager)
    assert Order.objects.get(pk=order.pk).state == S.PENDING_PAYMENT


def test_owner_cancel_records_the_customer_reason(shop):
    customer = factories.CustomerFactory()
    order = place(shop, customer=customer)
    cancelled = order_transition(order_id=order.pk, to_state=S.CANCELLED, by=customer.user, cancel_reason="no_show")
    assert cancelled.cancel_reason == "customer"


def test_staff_cancel_needs_a_reason(shop):
    counter = factories.StaffMemberFactory(role=StaffMember.COUNTER, pizzeria=shop.pizzeria).user
    order = place(shop)
    with pytest.raises(InvalidOrder, match="motif"):
        order_transition(order_id=order.pk, to_state=S.CANCELLED, by=counter)
    assert Order.objects.get(pk=order.pk).state == S.RECEIVED
    assert shop.level("dough") == 9


def test_customer_cancel_after_the_kitchen_started_is_refused_with_a_clear_message(shop):
    customer = factories.CustomerFactory()
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order = place(shop, customer=customer)
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=pizzaiolo)
    with pytest.raises(IllegalTransition) as error:
        order_transition(order_id=order.pk, to_state=S.CANCELLED, by=customer.user)
    assert "en préparation" in error.value.message
    assert shop.level("dough") == 9


def test_undo_only_within_the_window(shop):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order = place(shop)
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=pizzaiolo)
    assert order_transition(order_id=order.pk, to_state=S.RECEIVED, by=pizzaiolo).state == S.RECEIVED
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=pizzaiolo)
    OrderEvent.objects.filter(order=order).update(at=timezone.now() - datetime.timedelta(minutes=2))
    with pytest.raises(IllegalTransition, match="Trop tard"):
        order_transition(order_id=order.pk, to_state=S.RECEIVED, by=pizzaiolo)


def test_unpaid_online_orders_expire_and_release_their_stock(shop, settings):
    order = place(shop, payment_method="online_card")
    recent = place(shop, payment_method="online_card")
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=31))
    assert shop.level("dough") == 8
    assert orders_expire_unpaid() == 1
    expired = Order.objects.get(pk=order.pk)
    assert (expired.state, expired.cancel_reason) == (S.CANCELLED, "payment_expired")
    assert Order.objects.get(pk=recent.pk).state == S.PENDING_PAYMENT
    assert shop.level("dough") == 9
    assert orders_expire_unpaid() == 0
    assert ledger_matches_levels()


def test_estimate_follows_the_queue(shop, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "PREPARATION_MINUTES_PER_PIZZA": 10}
    shop.pizzeria.ovens = 1
    shop.pizzeria.save()
    from ventes.services import LineRequest

    first = place(shop, [LineRequest(shop.margherita.pk, 2)])
    second = place(shop, [LineRequest(shop.margherita.pk, 1)])
    assert (first.estimated_ready_at - timezone.now()).total_seconds() == pytest.approx(20 * 60, abs=30)
    assert (second.estimated_ready_at - timezone.now()).total_seconds() == pytest.approx(30 * 60, abs=30)


def test_an_order_becoming_ready_keeps_its_kitchen_and_oven_times(shop):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order = place(shop)
    now = timezone.now()
    OrderEvent.objects.filter(order=order, to_state=S.RECEIVED).update(at=now - datetime.timedelta(minutes=20))
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=pizzaiolo)
    OrderEvent.objects.filter(order=order, to_state=S.PREPARING).update(at=now - datetime.timedelta(minutes=12))
    assert (Order.objects.get(pk=order.pk).kitchen_seconds, Order.objects.get(pk=order.pk).oven_seconds) == (
        None,
        None,
    )
    ready = order_transition(order_id=order.pk, to_state=S.READY, by=pizzaiolo)
    stored = Order.objects.get(pk=order.pk)
    assert stored.kitchen_seconds == pytest.approx(20 * 60, abs=5)
    assert stored.oven_seconds == pytest.approx(12 * 60, abs=5)
    assert (ready.kitchen_seconds, ready.oven_seconds) == (stored.kitchen_seconds, stored.oven_seconds)
    # Taken back, it is not ready: its times go, and come back from the last start when it is ready again.
    order_transition(order_id=order.pk, to_state=S.PREPARING, by=pizzaiolo)
    assert (Order.objects.get(pk=order.pk).kitchen_seconds, Order.objects.get(pk=order.pk).oven_seconds) == (
        None,
        None,
    )
    order_transition(order_id=order.pk, to_state=S.READY, by=pizzaiolo)
    again = Order.objects.get(pk=order.pk)
    assert again.kitchen_seconds == pytest.approx(20 * 60, abs=5)
    assert again.oven_seconds == pytest.approx(0, abs=5)
