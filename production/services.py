"""Writes of the production side. Every change of a stock level goes through
here and writes its ledger row in the same transaction, so that the ledger of
a stock line always sums to its level.

Rows are always locked in primary-key order so that two transactions touching
the same ingredients queue up instead of deadlocking.
"""

from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Case, F, Sum, Value, When

from .cache import catalogue_changed, stock_changed
from .exceptions import InvalidStockQuantity, NotEnoughStock
from .models import Pizzeria, StaffMember, Stock, StockMovement


def _locked(stock: Stock) -> Stock:
    return Stock.objects.select_for_update().get(pk=stock.pk)


def _move(*, stock: Stock, kind: str, delta: int, by=None, note: str = "", order=None) -> Stock:
    """Apply a signed change to one locked line and write its ledger row."""
    if delta == 0:
        return stock
    Stock.objects.filter(pk=stock.pk).update(quantity=F("quantity") + delta)
    stock_changed(pizzeria_id=stock.pizzeria_id)
    StockMovement.objects.create(stock=stock, kind=kind, quantity=delta, by=by, note=note, order=order)
    stock.refresh_from_db(fields=["quantity"])
    return stock


def _positive(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InvalidStockQuantity()
    return quantity


@transaction.atomic
def stock_restock(*, stock: Stock, quantity: int, by=None, note: str = "") -> Stock:
    return _move(stock=_locked(stock), kind=StockMovement.RESTOCK, delta=_positive(quantity), by=by, note=note)


@transaction.atomic
def stock_record_waste(*, stock: Stock, quantity: int, by=None, note: str = "") -> Stock:
    stock = _locked(stock)
    quantity = _positive(quantity)
    if quantity > stock.quantity:
        raise NotEnoughStock(f"Impossible de jeter {quantity} : il n'en reste que {stock.quantity}.")
    return _move(stock=stock, kind=StockMovement.WASTE, delta=-quantity, by=by, note=note)


@transaction.atomic
def stock_count_inventory(*, stock: Stock, counted: int, by=None, note: str = "") -> Stock:
    """Set the level to what was counted; the ledger records the difference."""
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise InvalidStockQuantity("Le stock compté doit être un nombre entier positif ou nul.")
    stock = _locked(stock)
    return _move(stock=stock, kind=StockMovement.INVENTORY, delta=counted - stock.quantity, by=by, note=note)


@transaction.atomic
def stock_line_create(*, pizzeria: Pizzeria, ingredient, quantity: int = 0, low_threshold: int = 0, by=None) -> Stock:
    stock = Stock.objects.create(pizzeria=pizzeria, ingredient=ingredient, quantity=0, low_threshold=low_threshold)
    if quantity:
        stock_count_inventory(stock=stock, counted=quantity, by=by, note="stock initial")
    return stock


def stock_reserved_for_order(*, order) -> dict[int, int]:
    """What an order holds now, per ingredient: its reservations less its releases."""
    rows = (
        StockMovement.objects.filter(order=order, kind__in=[StockMovement.RESERVATION, StockMovement.RELEASE])
        .values("stock__ingredient_id")
        .annotate(held=-Sum("quantity"))
    )
    return {row["stock__ingredient_id"]: row["held"] for row in rows if row["held"]}


# No savepoint of its own (two more round trips while the caller may hold its pizzeria's lock): it raises
# before writing anything, and a caller that gets NotEnoughStock ends its transaction with the error.
@transaction.atomic(savepoint=False)
def stock_set_order_needs(
    *, pizzeria_id: int, order, needs: Mapping[int, int], held: Mapping[int, int] | None = None, by=None
) -> None:
    """Make the stock an order holds equal to ``needs`` ({ingredient id: quantity}).

    Placing an order reserves all it needs, editing it reserves or releases the
    difference only, cancelling it sets its needs to nothing. ``held``: what
    the order holds now, when the caller knows it already (a new order, nothing).
    Raises ``NotEnoughStock`` (``short_ingredients``: {ingredient id: its
    stock} of the short ones) and changes nothing when a reservation does not fit.
    """
    if held is None:
        held = stock_reserved_for_order(order=order) if order.pk else {}
    deltas = {
        ingredient_id: needs.get(ingredient_id, 0) - held.get(ingredient_id, 0)
        for ingredient_id in set(needs) | set(held)
    }
    deltas = {ingredient_id: delta for ingredient_id, delta in deltas.items() if delta}
    if not deltas:
        return
    lines = list(
        Stock.objects.select_for_update()
        .filter(pizzeria_id=pizzeria_id, ingredient_id__in=deltas)
        .order_by("pk")
        .only("pk", "ingredient_id", "quantity")
    )
    by_ingredient = {line.ingredient_id: line for line in lines}
    short = {
        ingredient_id: (by_ingredient[ingredient_id].quantity if ingredient_id in by_ingredient else 0)
        for ingredient_id, delta in deltas.items()
        if delta > 0 and (ingredient_id not in by_ingredient or by_ingredient[ingredient_id].quantity < delta)
    }
    if short:
        raise NotEnoughStock(short_ingredients=short)
    Stock.objects.filter(pk__in=[line.pk for line in lines]).update(
        quantity=F("quantity") - Case(*[When(pk=line.pk, then=Value(deltas[line.ingredient_id])) for line in lines])
    )
    stock_changed(pizzeria_id=pizzeria_id)
    StockMovement.objects.bulk_create(
        StockMovement(
            stock=line,
            kind=StockMovement.RESERVATION if deltas[line.ingredient_id] > 0 else StockMovement.RELEASE,
            quantity=-deltas[line.ingredient_id],
            order=order,
            by=by,
        )
        for line in lines
    )


# What each role's staff screens read and write (``production.views`` lets a
# member in by role; these groups say the same to the admin and to reports).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    StaffMember.PIZZAIOLO: [
        "ventes.view_order",
        "ventes.change_order",
        "production.view_product",
        "production.view_recipeline",
        "production.view_recipestep",
        "production.view_stock",
        "production.change_stock",
        "production.view_stockmovement",
        "production.add_stockmovement",
    ],
    StaffMember.RIDER: ["ventes.view_order", "ventes.change_order", "ventes.add_payment"],
    StaffMember.COUNTER: [
        "ventes.view_order",
        "ventes.add_order",
        "ventes.change_order",
        "ventes.add_payment",
        "ventes.view_customer",
        "production.view_product",
    ],
}
ROLE_GROUP_NAMES = {role: label.capitalize() for role, label in StaffMember.ROLES}


@transaction.atomic
def role_groups_sync() -> dict[str, Group]:
    """One auth group per staff role; managers hold every permission of both apps."""
    groups = {}
    for role, group_name in ROLE_GROUP_NAMES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        permissions: Iterable[Permission]
        if role == StaffMember.MANAGER:
            permissions = Permission.objects.filter(content_type__app_label__in=["production", "ventes"])
        else:
            permissions = [
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in (name.split(".") for name in ROLE_PERMISSIONS[role])
            ]
        group.permissions.set(permissions)
        groups[role] = group
    return groups


@transaction.atomic
def staff_member_upsert(
    *, email: str, role: str, pizzeria: Pizzeria | None, password: str, first_name: str = "", last_name: str = ""
) -> StaffMember:
    """Create or update a staff account with its role and its role's group."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password)
    user.first_name, user.last_name = first_name, last_name
    # Managers keep the chain in the back-office; the others work on the staff screens.
    user.is_staff = role == StaffMember.MANAGER
    user.save()
    member, _ = StaffMember.objects.update_or_create(user=user, defaults={"role": role, "pizzeria": pizzeria})
    group = Group.objects.filter(name=ROLE_GROUP_NAMES[role]).first() or role_groups_sync()[role]
    user.groups.set([group])
    return member


def pizzeria_set_accepting_orders(*, pizzeria: Pizzeria, accepting: bool) -> Pizzeria:
    """Pause new immediate orders at a pizzeria (too busy), or resume them."""
    Pizzeria.objects.filter(pk=pizzeria.pk).update(accepting_orders=accepting)
    catalogue_changed()  # the menu tells customers the pizzeria is too busy
    pizzeria.accepting_orders = accepting
    return pizzeria
