"""The order state machine: the one place where an order changes state.

``order_transition`` locks the order row, checks that the move exists and that
the person may make it, applies it with its side effects, writes the history
row and queues the customer's notification in the same transaction. Every screen,
webhook and job moves orders through it.
"""

import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from production.models import StaffMember
from production.services import stock_consume_order, stock_set_order_needs, stock_unconsume_order

from . import notifications
from .estimates import order_estimate_ready_at, order_fire_at
from .events import money, order_event_record
from .exceptions import IllegalTransition, InvalidOrder, OrderNotEditable, TransitionForbidden
from .models import (
    STATE_EVENT_TYPES,
    CancelReason,
    Fulfilment,
    Order,
    OrderEvent,
    OrderEventType,
    OrderState,
    Payment,
    PaymentMethod,
    PaymentState,
)
from .signals import order_cancelled
from .tracking import order_number_from_token

S = OrderState
# A pizzaiolo may take back a tap on the kitchen screen for this long.
UNDO_WINDOW = datetime.timedelta(seconds=60)


class Role(StrEnum):
    SYSTEM = "system"  # the platform itself: payment webhook, scheduled jobs
    OWNER = "owner"  # the customer whose order it is
    PIZZAIOLO = StaffMember.PIZZAIOLO
    RIDER = StaffMember.RIDER
    COUNTER = StaffMember.COUNTER
    MANAGER = StaffMember.MANAGER


TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    (S.PENDING_PAYMENT, S.RECEIVED): frozenset({Role.SYSTEM, Role.MANAGER}),
    (S.PENDING_PAYMENT, S.CANCELLED): frozenset({Role.SYSTEM, Role.OWNER, Role.MANAGER}),
    (S.RECEIVED, S.PREPARING): frozenset({Role.PIZZAIOLO, Role.MANAGER}),
    (S.RECEIVED, S.CANCELLED): frozenset({Role.OWNER, Role.COUNTER, Role.MANAGER}),
    (S.PREPARING, S.READY): frozenset({Role.PIZZAIOLO, Role.MANAGER}),
    (S.READY, S.OUT_FOR_DELIVERY): frozenset({Role.RIDER, Role.MANAGER}),
    (S.READY, S.COMPLETED): frozenset({Role.COUNTER, Role.MANAGER}),
    (S.OUT_FOR_DELIVERY, S.COMPLETED): frozenset({Role.RIDER, Role.MANAGER}),
    # Once the oven has been used nothing goes back to stock: a no-show is a manager's call.
    (S.READY, S.CANCELLED): frozenset({Role.MANAGER}),
    (S.OUT_FOR_DELIVERY, S.CANCELLED): frozenset({Role.MANAGER}),
}
# Taking back the last kitchen tap, within UNDO_WINDOW of it.
UNDO_TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    (S.PREPARING, S.RECEIVED): frozenset({Role.PIZZAIOLO, Role.MANAGER}),
    (S.READY, S.PREPARING): frozenset({Role.PIZZAIOLO, Role.MANAGER}),
}
# What each tap of the staff screens asks for (kitchen, rider, counter); their views go through order_transition.
STAFF_MOVES = {
    "start": S.PREPARING,
    "finish": S.READY,
    "take": S.OUT_FOR_DELIVERY,
    "deliver": S.COMPLETED,
    "handover": S.COMPLETED,
}
# States in which an order holds its stock reserved: starting preparation consumes it.
STOCK_HELD_STATES = {S.PENDING_PAYMENT, S.RECEIVED}
AT_DOOR_METHODS = {PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.MEAL_VOUCHER}


def actor_role(*, order: Order, user, link: str = "") -> Role | None:
    """The part ``user`` plays for this order, or None when they have nothing to do with it.

    ``link``: the token of the order's signed tracking link, for a guest acting through it. It makes them the
    owner of an order placed without an account, of that order only; an order with an account asks its owner
    to sign in."""
    if link:
        return Role.OWNER if order.customer_id is None and order_number_from_token(link) == order.number else None
    owner_id = order.customer.user_id if order.customer is not None else None
    return actor_role_for(pizzeria_id=order.pizzeria_id, owner_id=owner_id, user=user)


def actor_role_for(*, pizzeria_id: int, owner_id: int | None, user) -> Role | None:
    """``actor_role`` from the two facts of an order it depends on: its pizzeria and its owner's user id."""
    if user is None:
        return Role.SYSTEM
    if user.is_superuser:
        return Role.MANAGER
    member = StaffMember.objects.of_user(user)
    if member is not None:
        if member.role == StaffMember.MANAGER:
            return Role.MANAGER
        return Role(member.role) if member.pizzeria_id == pizzeria_id else None
    if owner_id is not None and owner_id == user.pk:
        return Role.OWNER
    return None


def allowed_roles(*, source: str, target: str) -> frozenset[Role]:
    return TRANSITIONS.get((source, target)) or UNDO_TRANSITIONS.get((source, target)) or frozenset()


def _kitchen_times(*, order: Order, ready_at: datetime.datetime) -> None:
    """Keep on the order becoming ready its time in the kitchen (since it was received) and in the oven (since
    it was started), from the last move to each state in its history: the managers' dashboard averages them."""
    moved_at = dict(
        OrderEvent.objects.filter(order=order, to_state__in=[S.RECEIVED, S.PREPARING])
        .order_by("at", "pk")
        .values_list("to_state", "at")
    )
    started = moved_at.get(S.PREPARING)
    received = moved_at.get(S.RECEIVED)
    order.oven_seconds = (ready_at - started).total_seconds() if started else None
    order.kitchen_seconds = (ready_at - received).total_seconds() if started and received else None


def order_lock(*, order_id: int) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("pizzeria", "customer").get(pk=order_id)


def _check_move(*, order: Order, target: str, role: Role | None, user) -> Role:
    """The role that may make this move, or the typed error that says why not."""
    roles = allowed_roles(source=order.state, target=target)
    if not roles and target == S.CANCELLED and order.state == S.PREPARING:
        state = order.get_state_display()
        raise OrderNotEditable(
            f"Impossible : la commande {order.number} est « {state} ». {OrderNotEditable.default_message}"
        )
    if not roles:
        raise IllegalTransition(f"Impossible : la commande {order.number} est « {order.get_state_display()} ».")
    if role is None or role not in roles:
        raise TransitionForbidden()
    if target == S.OUT_FOR_DELIVERY and order.fulfilment != Fulfilment.DELIVERY:
        raise IllegalTransition("Cette commande est à emporter : elle ne part pas en livraison.")
    if (order.state, target) == (S.READY, S.COMPLETED) and order.fulfilment != Fulfilment.PICKUP:
        raise IllegalTransition("Cette commande est à livrer : elle doit partir avec un livreur.")
    if (order.state, target) == (S.OUT_FOR_DELIVERY, S.COMPLETED) and role == Role.RIDER and order.rider_id != user.pk:
        raise TransitionForbidden("Cette livraison a été prise par un autre livreur.")
    if (order.state, target) == (S.PENDING_PAYMENT, S.RECEIVED) and order.payment_state != PaymentState.PAID:
        raise IllegalTransition("Le paiement de cette commande n'est pas confirmé.")
    if (order.state, target) in UNDO_TRANSITIONS:
        last = order.events.filter(type__in=STATE_EVENT_TYPES).order_by("-at", "-pk").first()
        if last is None or last.to_state != order.state or timezone.now() - last.at > UNDO_WINDOW:
            raise IllegalTransition("Trop tard pour annuler ce geste.")
    return role


def _cancel_reason(*, role: Role, reason: str) -> str:
    if role == Role.OWNER:
        return CancelReason.CUSTOMER
    if reason not in CancelReason.values:
        raise InvalidOrder("Indiquez le motif de l'annulation.", field="cancel_reason")
    return reason


@transaction.atomic
def order_transition(
    *, order_id: int, to_state: str, by=None, note: str = "", cancel_reason: str = "", link: str = ""
) -> Order:
    """Move an order to ``to_state`` on behalf of ``by`` (None: the platform itself, or with ``link`` the guest
    holding the order's signed tracking link).

    Raises ``IllegalTransition`` when the move does not exist from the order's
    current state (it may just have moved), ``TransitionForbidden`` when it is
    not this person's to make; in both cases nothing changes.
    """
    order = order_lock(order_id=order_id)
    role = _check_move(order=order, target=to_state, role=actor_role(order=order, user=by, link=link), user=by)
    source = order.state
    is_undo = (source, to_state) in UNDO_TRANSITIONS

    if to_state == S.CANCELLED:
        order.cancel_reason = _cancel_reason(role=role, reason=cancel_reason)
        note = note or order.get_cancel_reason_display()
        if source in STOCK_HELD_STATES:
            stock_set_order_needs(pizzeria_id=order.pizzeria_id, order=order, needs={}, by=by)
    elif (source, to_state) == (S.RECEIVED, S.PREPARING):
        stock_consume_order(pizzeria_id=order.pizzeria_id, order=order, by=by)
    elif (source, to_state) == (S.PREPARING, S.RECEIVED):
        # The tap is taken back: the order holds its ingredients again, as it did in the queue.
        stock_unconsume_order(pizzeria_id=order.pizzeria_id, order=order, by=by)
    elif to_state == S.OUT_FOR_DELIVERY and role == Role.RIDER:
        order.rider = by
    if to_state == S.READY:
        _kitchen_times(order=order, ready_at=timezone.now())
    elif (source, to_state) == (S.READY, S.PREPARING):
        # Taken back: not ready after all, its times are kept again when it is.
        order.kitchen_seconds = order.oven_seconds = None
    collected = None
    if (
        to_state == S.COMPLETED
        and order.payment_method in AT_DOOR_METHODS
        and order.payment_state == PaymentState.PENDING
    ):
        collected = Payment.objects.create(
            order=order,
            method=order.payment_method,
            amount=order.total,
            state=Payment.State.SUCCEEDED,
            collected_by=by,
        )
        order.payment_state = PaymentState.PAID

    order.state = to_state
    if to_state in {S.RECEIVED, S.PREPARING, S.READY}:
        order.estimated_ready_at = order_estimate_ready_at(order=order)
        order.fire_at = order_fire_at(order=order)
    order.save()
    params: dict[str, object] = {}
    if to_state == S.CANCELLED:
        params["cancel_reason"] = order.cancel_reason
        params["cancelled_by"] = str(role)  # whose words the note is: the customer's are shown back to him
    if collected is not None:
        # Collected at the door by the move that completes the order: one change, one event.
        params["payment"] = {"payment_id": collected.pk, "method": collected.method, "amount": money(collected.amount)}
    order_event_record(
        order=order,
        type=OrderEventType.STATE_MOVED,
        by=by,
        order_saved=True,
        from_state=source,
        to_state=to_state,
        params=params,
        note=note,
    )
    if to_state == S.CANCELLED:
        # Whatever was paid is owed back: the payments record it now and ask Stripe after commit.
        order_cancelled.send(sender=Order, order=order, by=by)
    if not is_undo:
        notifications.order_notify_queue(order_id=order.pk, state=to_state)
    return order
