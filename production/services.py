"""Writes of the production side. Every change of stock goes through here and
writes its ledger row in the same transaction.

A stock line has two figures: ``on_hand`` (physically on the shelf) and
``reserved`` (the part of it held by orders not yet in the oven); available
is their difference, never below zero (a check constraint). Each ledger row
(``StockMovement``) records how much it moved each figure:

================  ===============  ================  =========
kind              ``on_hand_delta``  ``reserved_delta``  order
================  ===============  ================  =========
reservation       0                +q                yes
release           0                −q                yes
consumption       −q               −q                yes
unconsumed        +q               +q                yes
restock           +q               0                 no
inventory         ± the gap        0                 no
waste             −q               0                 no
transfer_out      −q               0                 no
transfer_in       +q               0                 no
receipt           +q               0                 no
================  ===============  ================  =========

Placing an order reserves what it needs, editing it reserves or releases the
difference, cancelling it before the oven releases what it holds; starting
preparation consumes what it holds (the goods leave the shelf and the order no
longer holds anything), and taking that tap back puts them back on the shelf,
held by the order again. Counts, waste and transfers between pizzerias act
on the shelf only; a transfer writes its two rows (out of one pizzeria's line,
into the other's) in one transaction; a supplier's delivery writes one receipt
row per ingredient received, naming its purchase order.

So each line's ``on_hand`` is the sum of its rows' ``on_hand_delta``, its
``reserved`` the sum of their ``reserved_delta``, and what one order holds on
it is the sum of that order's ``reserved_delta`` (reservations − releases −
consumptions): ``ventes.selectors.stock_check_ledger`` checks both.

Rows are always locked in primary-key order (orders before stock lines) so
that two transactions touching the same ingredients queue up instead of
deadlocking.
"""

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Case, F, IntegerField, QuerySet, Sum, Value, When
from django.utils import timezone

from ocpizzapp.live import live_notify

from .cache import catalogue_changed, stock_changed
from .exceptions import (
    InvalidCost,
    InvalidMenuOverride,
    InvalidPace,
    InvalidParLevel,
    InvalidPurchaseOrder,
    InvalidStockQuantity,
    InvalidTransfer,
    NotEnoughStock,
    StockOverrideForbidden,
    TransferForbidden,
)
from .models import (
    BUSY_STEPS,
    Ingredient,
    IngredientCost,
    MenuOverride,
    OpeningException,
    Option,
    Pizzeria,
    PizzeriaEvent,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StaffMember,
    Stock,
    StockMovement,
    StockTransfer,
    Supplier,
)
from .notifications import purchase_order_email
from .selectors import cost_history, pizzeria_closes_at, purchase_suggestion


def _locked(stock: Stock) -> Stock:
    return Stock.objects.select_for_update(of=("self",)).select_related("ingredient").get(pk=stock.pk)


def _move(
    *,
    stock: Stock,
    kind: str,
    on_hand_delta: int,
    by=None,
    note: str = "",
    transfer: StockTransfer | None = None,
    purchase_order: PurchaseOrder | None = None,
) -> Stock:
    """Change the shelf of one locked line (restock, count, waste, transfer, receipt) and write its ledger row."""
    if on_hand_delta == 0:
        return stock
    Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + on_hand_delta)
    stock_changed(pizzeria_id=stock.pizzeria_id)
    StockMovement.objects.create(
        stock=stock,
        kind=kind,
        on_hand_delta=on_hand_delta,
        by=by,
        note=note,
        transfer=transfer,
        purchase_order=purchase_order,
    )
    stock.refresh_from_db(fields=["on_hand", "reserved"])
    return stock


def _positive(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InvalidStockQuantity()
    return quantity


def _is_manager(user) -> bool:
    if user is None:
        return False
    if user.is_superuser:
        return True
    member = StaffMember.objects.of_user(user)
    return member is not None and member.role == StaffMember.MANAGER


@transaction.atomic
def stock_restock(*, stock: Stock, quantity: int, by=None, note: str = "") -> Stock:
    return _move(stock=_locked(stock), kind=StockMovement.RESTOCK, on_hand_delta=_positive(quantity), by=by, note=note)


@transaction.atomic
def stock_record_waste(*, stock: Stock, quantity: int, by=None, note: str = "", override: bool = False) -> Stock:
    """Take ``quantity`` off the shelf.

    Only what no order holds may go, unless a manager forces it (``override``):
    then the part beyond it is taken from the reservations of the latest
    orders still waiting, which hold less than they need from then on
    (editing one reserves again what it lacks).
    """
    quantity = _positive(quantity)
    if override and not _is_manager(by):
        raise StockOverrideForbidden()
    holders = _lock_holders(stock=stock) if override else []
    stock = _locked(stock)
    unit = stock.ingredient.get_unit_display()
    if quantity > stock.on_hand:
        raise NotEnoughStock(
            f"Impossible de jeter {quantity} {unit} : il n'y en a que {stock.on_hand} {unit} en stock."
        )
    free = stock.on_hand - stock.reserved
    if quantity > free and not override:
        raise NotEnoughStock(
            f"Impossible de jeter {quantity} {unit} : {stock.reserved} {unit} sont réservés par des commandes "
            f"en attente, seuls {free} {unit} sont libres. Un responsable peut forcer la perte."
        )
    if quantity > free:
        _release_from_holders(stock=stock, holders=holders, shortfall=quantity - free, by=by, note=note)
    return _move(stock=stock, kind=StockMovement.WASTE, on_hand_delta=-quantity, by=by, note=note)


@transaction.atomic
def stock_transfer(*, stock: Stock, destination: Pizzeria, quantity: int, by, note: str = "") -> StockTransfer:
    """Send ``quantity`` of a line's free stock to another pizzeria, which gets a line for it if it had none.

    Locks as placing an order does, pizzerias before stock lines: both
    pizzerias' rows (the transfer's row refers to them), then both lines, each
    pair in primary-key order. Transfers crossing each other and orders placed
    meanwhile queue up instead of deadlocking; what orders hold is never sent away.
    """
    quantity = _positive(quantity)
    if not _is_manager(by):
        raise TransferForbidden()
    if destination.pk == stock.pizzeria_id:
        raise InvalidTransfer("Choisissez une autre pizzeria que celle d'où part le stock.", field="destination")
    if not destination.is_active:
        raise InvalidTransfer(f"{destination.name} est fermée définitivement.", field="destination")
    target, _ = Stock.objects.get_or_create(pizzeria=destination, ingredient_id=stock.ingredient_id)
    list(Pizzeria.objects.select_for_update().filter(pk__in=[stock.pizzeria_id, destination.pk]).order_by("pk"))
    locked = {
        line.pk: line
        for line in Stock.objects.select_for_update(of=("self",))
        .select_related("ingredient", "pizzeria")
        .filter(pk__in=[stock.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[stock.pk], locked[target.pk]
    unit = source.ingredient.get_unit_display()
    free = source.on_hand - source.reserved
    if quantity > free:
        held = f" ({source.reserved} {unit} sont réservés par des commandes en attente)" if source.reserved else ""
        raise NotEnoughStock(
            f"Impossible d'envoyer {quantity} {unit} : "
            f"{source.pizzeria.name} n'en a que {free} {unit} de libres{held}.",
            field="quantity",
        )
    transfer = StockTransfer.objects.create(
        ingredient_id=source.ingredient_id,
        source_id=source.pizzeria_id,
        destination=destination,
        quantity=quantity,
        by=by,
        note=note,
    )
    _move(stock=source, kind=StockMovement.TRANSFER_OUT, on_hand_delta=-quantity, by=by, note=note, transfer=transfer)
    _move(stock=target, kind=StockMovement.TRANSFER_IN, on_hand_delta=quantity, by=by, note=note, transfer=transfer)
    return transfer


def _held_on(*, stock: Stock) -> QuerySet:
    """What each order holds on one line: ``order_id`` and ``held``, for those that hold something."""
    return (
        StockMovement.objects.filter(stock_id=stock.pk, order__isnull=False)
        .values("order_id")
        .annotate(held=Sum("reserved_delta"))
        .filter(held__gt=0)
    )


def _lock_holders(*, stock: Stock) -> list[int]:
    """Lock the orders holding something on ``stock``, before the line itself (the workflow's order)."""
    # By name: production must not import ventes (whose workflow imports these services).
    orders = apps.get_model("ventes", "Order")._default_manager
    order_ids = sorted(row["order_id"] for row in _held_on(stock=stock))
    locked = orders.select_for_update().filter(pk__in=order_ids).order_by("pk")
    return list(locked.values_list("pk", flat=True))


def _release_from_holders(*, stock: Stock, holders: list[int], shortfall: int, by, note: str) -> None:
    held = {row["order_id"]: row["held"] for row in _held_on(stock=stock).filter(order_id__in=holders)}
    releases = []
    for order_id in sorted(held, reverse=True):  # the latest orders give up first
        if shortfall <= 0:
            break
        taken = min(held[order_id], shortfall)
        shortfall -= taken
        releases.append((order_id, taken))
    if shortfall > 0:
        # An order placed since the holders were locked holds the rest: nothing is written.
        raise NotEnoughStock("Le stock vient de changer : réessayez.")
    Stock.objects.filter(pk=stock.pk).update(reserved=F("reserved") - sum(taken for _, taken in releases))
    StockMovement.objects.bulk_create(
        StockMovement(
            stock=stock,
            kind=StockMovement.RELEASE,
            reserved_delta=-taken,
            order_id=order_id,
            by=by,
            note=f"perte forcée{' : ' + note if note else ''}"[:200],
        )
        for order_id, taken in releases
    )
    stock.refresh_from_db(fields=["on_hand", "reserved"])


@transaction.atomic
def stock_count_inventory(*, stock: Stock, counted: int, by=None, note: str = "") -> Stock:
    """Set what is on the shelf to what was counted; the ledger records the difference.

    What orders hold is part of the shelf and stays held: the count cannot be
    less than that.
    """
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise InvalidStockQuantity("Le stock compté doit être un nombre entier positif ou nul.")
    stock = _locked(stock)
    if counted < stock.reserved:
        unit = stock.ingredient.get_unit_display()
        raise NotEnoughStock(
            f"Compté {counted} {unit}, mais les commandes en attente en réservent {stock.reserved} {unit} : "
            "recomptez, ou annulez ou lancez d'abord ces commandes."
        )
    return _move(stock=stock, kind=StockMovement.INVENTORY, on_hand_delta=counted - stock.on_hand, by=by, note=note)


@transaction.atomic
def stock_line_create(*, pizzeria: Pizzeria, ingredient, on_hand: int = 0, low_threshold: int = 0, by=None) -> Stock:
    stock = Stock.objects.create(pizzeria=pizzeria, ingredient=ingredient, on_hand=0, low_threshold=low_threshold)
    if on_hand:
        stock_count_inventory(stock=stock, counted=on_hand, by=by, note="stock initial")
    return stock


def stock_reserved_for_order(*, order) -> dict[int, int]:
    """What an order holds now, per ingredient: its reservations less its releases and consumptions."""
    rows = StockMovement.objects.filter(order=order).values("stock__ingredient_id").annotate(held=Sum("reserved_delta"))
    return {row["stock__ingredient_id"]: row["held"] for row in rows if row["held"]}


def _lock_lines(*, pizzeria_id: int, ingredient_ids) -> list[Stock]:
    return list(
        Stock.objects.select_for_update()
        .filter(pizzeria_id=pizzeria_id, ingredient_id__in=ingredient_ids)
        .order_by("pk")
        .only("pk", "pizzeria_id", "ingredient_id", "on_hand", "reserved")
    )


def _per_line(lines: list[Stock], amounts: Mapping[int, int]) -> Case:
    return Case(
        *[When(pk=line.pk, then=Value(amounts[line.ingredient_id])) for line in lines],
        default=Value(0),
        output_field=IntegerField(),
    )


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
    Raises ``NotEnoughStock`` (``short_ingredients``: {ingredient id: what is
    available of it} of the short ones) and changes nothing when a
    reservation does not fit. The shelf itself does not move.
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
    lines = _lock_lines(pizzeria_id=pizzeria_id, ingredient_ids=deltas)
    by_ingredient = {line.ingredient_id: line for line in lines}
    available = {line.ingredient_id: line.on_hand - line.reserved for line in lines}
    short = {
        ingredient_id: available.get(ingredient_id, 0)
        for ingredient_id, delta in deltas.items()
        if delta > 0 and available.get(ingredient_id, 0) < delta
    }
    if short:
        raise NotEnoughStock(short_ingredients=short)
    Stock.objects.filter(pk__in=[line.pk for line in lines]).update(reserved=F("reserved") + _per_line(lines, deltas))
    stock_changed(pizzeria_id=pizzeria_id)
    StockMovement.objects.bulk_create(
        StockMovement(
            stock=by_ingredient[ingredient_id],
            kind=StockMovement.RESERVATION if delta > 0 else StockMovement.RELEASE,
            reserved_delta=delta,
            order=order,
            by=by,
        )
        for ingredient_id, delta in sorted(deltas.items())
        if ingredient_id in by_ingredient
    )


def _shelf_and_hold(*, pizzeria_id: int, order, kind: str, amounts: Mapping[int, int], by) -> None:
    """Move on-hand and reserved together by ``amounts`` ({ingredient id: signed quantity}) for one order."""
    amounts = {ingredient_id: amount for ingredient_id, amount in amounts.items() if amount}
    if not amounts:
        return
    lines = _lock_lines(pizzeria_id=pizzeria_id, ingredient_ids=amounts)
    change = _per_line(lines, amounts)
    Stock.objects.filter(pk__in=[line.pk for line in lines]).update(
        on_hand=F("on_hand") + change, reserved=F("reserved") + change
    )
    stock_changed(pizzeria_id=pizzeria_id)
    StockMovement.objects.bulk_create(
        StockMovement(
            stock=line,
            kind=kind,
            on_hand_delta=amounts[line.ingredient_id],
            reserved_delta=amounts[line.ingredient_id],
            order=order,
            by=by,
        )
        for line in lines
    )


@transaction.atomic(savepoint=False)
def stock_consume_order(*, pizzeria_id: int, order, by=None) -> None:
    """The order goes in the oven: what it holds leaves the shelf, and it holds nothing any more."""
    held = stock_reserved_for_order(order=order)
    _shelf_and_hold(
        pizzeria_id=pizzeria_id,
        order=order,
        kind=StockMovement.CONSUMPTION,
        amounts={ingredient_id: -quantity for ingredient_id, quantity in held.items()},
        by=by,
    )


@transaction.atomic(savepoint=False)
def stock_unconsume_order(*, pizzeria_id: int, order, by=None) -> None:
    """The start tap is taken back: what the order consumed is on the shelf again, held by it as before."""
    rows = (
        StockMovement.objects.filter(order=order, kind__in=[StockMovement.CONSUMPTION, StockMovement.UNCONSUMED])
        .values("stock__ingredient_id")
        .annotate(consumed=-Sum("on_hand_delta"))
    )
    _shelf_and_hold(
        pizzeria_id=pizzeria_id,
        order=order,
        kind=StockMovement.UNCONSUMED,
        amounts={row["stock__ingredient_id"]: row["consumed"] for row in rows if row["consumed"] > 0},
        by=by,
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


def _check_until(until: datetime.datetime | None, now: datetime.datetime) -> None:
    if until is not None and until <= now:
        raise InvalidPace("Cette heure de fin est déjà passée.", field="until")


@transaction.atomic
def pizzeria_set_accepting_orders(
    *,
    pizzeria: Pizzeria,
    accepting: bool,
    until: datetime.datetime | None = None,
    by=None,
    now: datetime.datetime | None = None,
) -> Pizzeria:
    """Pause new immediate orders at a pizzeria (too busy), until ``until`` if given, or resume them.

    A timed pause ends by itself (``Pizzeria.is_paused_at``). Writes the change's ``PizzeriaEvent``.
    """
    now = now or timezone.now()
    if not accepting:
        _check_until(until, now)
    pizzeria.accepting_orders, pizzeria.paused_until = accepting, None if accepting else until
    Pizzeria.objects.filter(pk=pizzeria.pk).update(
        accepting_orders=pizzeria.accepting_orders, paused_until=pizzeria.paused_until
    )
    PizzeriaEvent.objects.create(
        pizzeria=pizzeria, kind=PizzeriaEvent.RESUMED if accepting else PizzeriaEvent.PAUSED, until=until, by=by
    )
    catalogue_changed()  # the menu tells customers the pizzeria is too busy
    live_notify(pizzeria_id=pizzeria.pk)  # the dashboard shows the pause
    return pizzeria


@transaction.atomic
@transaction.atomic
def menu_override_set(
    *,
    pizzeria: Pizzeria,
    product_id: int,
    size_id: int | None = None,
    option_id: int | None = None,
    price: Decimal | None,
    withdrawn: bool,
) -> MenuOverride | None:
    """The pizzeria's own price of a product sold without sizes, of a size or of an option, or its withdrawal
    there; neither (no price, not withdrawn) goes back to the chain's. None once back to it.

    The target must be on the pizzeria's menu; ``InvalidMenuOverride`` in French otherwise.
    """
    product = Product.objects.filter(pk=product_id, pizzerias=pizzeria).prefetch_related("sizes").first()
    if product is None or (size_id is not None and option_id is not None):
        raise InvalidMenuOverride("Ce produit n'est pas à la carte de cette pizzeria.")
    size = option = None
    if size_id is not None:
        size = next((candidate for candidate in product.sizes.all() if candidate.pk == size_id), None)
        if size is None:
            raise InvalidMenuOverride(f"Cette taille n'existe pas pour {product.name}.")
    elif option_id is not None:
        option = Option.objects.filter(pk=option_id, group__product=product).first()
        if option is None:
            raise InvalidMenuOverride(f"Cette option n'existe pas pour {product.name}.")
    elif price is not None and product.sizes.all():
        raise InvalidMenuOverride(
            f"{product.name} se vend en tailles : donnez le prix de chaque taille.", field="price"
        )
    if price is not None:
        minimum = Decimal("0.00") if option is not None else Decimal("0.01")
        if not price.is_finite() or not minimum <= price < 10_000 or price != price.quantize(Decimal("0.01")):
            raise InvalidMenuOverride(
                "Le prix doit être un montant en euros, par exemple 12,50"
                + (" (0 pour une option offerte)." if option is not None else "."),
                field="price",
            )
    # One row per target, read locked: two managers saving the same line at once write one row.
    target = MenuOverride.objects.select_for_update().filter(
        pizzeria=pizzeria, product=product, size=size, option=option
    )
    if price is None and not withdrawn:
        target.delete()
        return None
    override = target.first() or MenuOverride(pizzeria=pizzeria, product=product, size=size, option=option)
    override.price, override.withdrawn = price, withdrawn
    override.save()
    return override


def ingredient_cost_set(
    *, ingredient: Ingredient, price: Decimal, valid_from: datetime.date, by=None
) -> IngredientCost:
    """What ``ingredient`` costs from ``valid_from`` on, ``price`` being per kilo, litre or piece (excluding VAT).

    A second price for the same day replaces the first; earlier ones stay, for the days they covered.
    """
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
        raise InvalidCost()
    _name, per = Ingredient.PRICE_UNITS[ingredient.unit]
    cost, _ = IngredientCost.objects.update_or_create(
        ingredient=ingredient, valid_from=valid_from, defaults={"unit_cost": price / per, "by": by}
    )
    return cost


@transaction.atomic
def pizzeria_set_busy(
    *,
    pizzeria: Pizzeria,
    minutes: int,
    until: datetime.datetime | None = None,
    by=None,
    now: datetime.datetime | None = None,
    reason: str = "",
) -> Pizzeria:
    """Add ``minutes`` to the pizzeria's quotes and lower its slots' capacity until ``until``
    (default: its closing time), after which it ends by itself; 0 ends it now. ``reason`` says why it
    started by itself (no ``by``), shown with it on the staff screens."""
    now = now or timezone.now()
    if minutes not in BUSY_STEPS:
        raise InvalidPace("Choisissez +10, +20 ou +30 minutes.", field="minutes")
    if minutes:
        until = until or pizzeria_closes_at(pizzeria, at=now)
        if until is None:
            raise InvalidPace(f"{pizzeria.name} est fermée en ce moment : indiquez une heure de fin.", field="until")
        _check_until(until, now)
    else:
        until, reason = None, ""
    pizzeria.busy_minutes, pizzeria.busy_until, pizzeria.busy_reason = minutes, until, reason
    Pizzeria.objects.filter(pk=pizzeria.pk).update(busy_minutes=minutes, busy_until=until, busy_reason=reason)
    live_notify(pizzeria_id=pizzeria.pk)  # the kitchen's board shows the capacity busy mode leaves
    PizzeriaEvent.objects.create(
        pizzeria=pizzeria,
        kind=PizzeriaEvent.BUSY if minutes else PizzeriaEvent.CALM,
        minutes=minutes,
        until=until,
        by=by,
        note=reason,
    )
    return pizzeria


@transaction.atomic
def opening_exception_set(
    *,
    pizzeria: Pizzeria | None,
    day: datetime.date,
    closed: bool,
    opens: datetime.time | None = None,
    closes: datetime.time | None = None,
    label: str = "",
) -> list[OpeningException]:
    """Close ``pizzeria`` on ``day``, or open it with special hours (``closes`` before ``opens``:
    the next day); ``pizzeria`` None sets it for every active pizzeria of the chain, which a
    pizzeria's own exception set afterwards replaces. Returns the rows written."""
    if not closed and (opens is None or closes is None):
        raise InvalidPace("Indiquez l'ouverture et la fermeture, ou cochez « fermée ».", field="opens")
    if not closed and opens == closes:
        raise InvalidPace("La fermeture doit différer de l'ouverture.", field="closes")
    hours = {"opens": None, "closes": None} if closed else {"opens": opens, "closes": closes}
    targets = [pizzeria] if pizzeria is not None else list(Pizzeria.objects.filter(is_active=True).order_by("pk"))
    rows = [
        OpeningException.objects.update_or_create(
            pizzeria=target,
            day=day,
            defaults={"closed": closed, **hours, "label": label, "chain_wide": pizzeria is None},
        )[0]
        for target in targets
    ]
    catalogue_changed()  # the menus say when each pizzeria opens
    return rows


@transaction.atomic
def opening_exception_remove(*, pizzeria: Pizzeria | None, day: datetime.date) -> int:
    """Back to the usual hours on ``day``: ``pizzeria``'s own exception, or with None the chain-wide one
    at every pizzeria that kept it. Returns how many pizzerias it concerned."""
    rows = OpeningException.objects.filter(day=day)
    rows = rows.filter(chain_wide=True) if pizzeria is None else rows.filter(pizzeria=pizzeria)
    removed, _ = rows.delete()
    catalogue_changed()
    return removed


# --- Purchasing ------------------------------------------------------------------

# Most packs one line of a purchase order may hold or receive at once: beyond it, a typing slip.
MAX_PACKS = 10_000
# IngredientCost keeps six decimals: a pack's price per unit compared and stored at that precision.
UNIT_COST_STEP = Decimal("0.000001")
Status = PurchaseOrder.Status


@transaction.atomic
def stock_par_levels_set(*, pizzeria: Pizzeria, levels: Mapping[int, int | None]) -> int:
    """Set the par levels of the pizzeria's stock lines ({stock line id: level, None for none}).

    Checks every figure before writing any; returns how many lines changed.
    """
    for stock_id, level in levels.items():
        if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 0):
            raise InvalidParLevel(field=f"par-{stock_id}")
    lines = {line.pk: line for line in Stock.objects.filter(pizzeria=pizzeria, pk__in=list(levels))}
    if set(levels) - set(lines):
        raise InvalidParLevel("Une des lignes de stock n'est pas celle de cette pizzeria.")
    changed = [line for line in lines.values() if line.par_level != levels[line.pk]]
    for line in changed:
        line.par_level = levels[line.pk]
    Stock.objects.bulk_update(changed, ["par_level"])
    if changed:
        stock_changed(pizzeria_id=pizzeria.pk)
    return len(changed)


@transaction.atomic
def purchase_order_draft(
    *, pizzeria: Pizzeria, supplier: Supplier, by=None, today: datetime.date | None = None
) -> PurchaseOrder:
    """A draft order of ``pizzeria`` to ``supplier`` with today's suggestion (``purchase_suggestion``).

    Every item of the supplier is a line, those not suggested at 0 pack: the
    manager may still order them before sending.
    """
    if not supplier.is_active:
        raise InvalidPurchaseOrder(f"{supplier.name} n'est plus un fournisseur actif.")
    suggestion = purchase_suggestion(pizzeria=pizzeria, supplier=supplier, today=today)
    if not suggestion:
        raise InvalidPurchaseOrder(f"{supplier.name} ne vend encore aucun ingrédient : ajoutez ses articles.")
    order = PurchaseOrder.objects.create(pizzeria=pizzeria, supplier=supplier, created_by=by)
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            order=order,
            ingredient_id=line.item.ingredient_id,
            reference=line.item.reference,
            pack_label=line.item.pack_label,
            pack_size=line.item.pack_size,
            pack_price=line.item.pack_price,
            suggested_packs=line.packs,
            packs=line.packs,
        )
        for line in suggestion
    )
    return order


def _locked_order(order: PurchaseOrder) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update(of=("self",)).select_related("pizzeria", "supplier").get(pk=order.pk)


def _packs(value, *, line: PurchaseOrderLine, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidPurchaseOrder(
            f"{line.ingredient.name} : le nombre de colis {what} doit être un entier positif ou nul.",
            field=f"line-{line.pk}",
        )
    if value > MAX_PACKS:
        raise InvalidPurchaseOrder(
            f"{line.ingredient.name} : au plus {MAX_PACKS} colis par ligne.", field=f"line-{line.pk}"
        )
    return value


def _lines_of(order: PurchaseOrder, wanted: Mapping[int, object]) -> dict[int, PurchaseOrderLine]:
    lines = {line.pk: line for line in order.lines.select_related("ingredient")}
    if set(wanted) - set(lines):
        raise InvalidPurchaseOrder("Une des lignes n'appartient pas à ce bon de commande : rechargez la page.")
    return lines


@transaction.atomic
def purchase_order_update_lines(*, order: PurchaseOrder, packs: Mapping[int, int]) -> PurchaseOrder:
    """Change how many packs the lines of a draft order ({line id: packs}); checks all before writing any."""
    order = _locked_order(order)
    if order.status != Status.DRAFT:
        raise InvalidPurchaseOrder("Seul un brouillon peut être modifié : cette commande est déjà partie.")
    lines = _lines_of(order, packs)
    changed = []
    for line_id, value in packs.items():
        line = lines[line_id]
        line.packs = _packs(value, line=line, what="commandés")
        changed.append(line)
    PurchaseOrderLine.objects.bulk_update(changed, ["packs"])
    return order


@transaction.atomic
def purchase_order_send(*, order: PurchaseOrder, by=None, now: datetime.datetime | None = None) -> PurchaseOrder:
    """Send a draft order to its supplier: the lines at 0 pack go, the e-mail is queued with the order.

    The task row is written in this transaction: a committed order always has
    its e-mail on the way, whatever the mail server does (the worker retries it).
    """
    order = _locked_order(order)
    if order.status != Status.DRAFT:
        raise InvalidPurchaseOrder(f"Cette commande est déjà {order.get_status_display()}.")
    if not order.lines.filter(packs__gt=0).exists():
        raise InvalidPurchaseOrder("Commandez au moins un colis avant d'envoyer la commande.")
    order.lines.filter(packs=0).delete()
    order.status, order.sent_at, order.sent_by = Status.SENT, now or timezone.now(), by
    order.email_to, order.email_state, order.email_attempts = order.supplier.email, PurchaseOrder.Email.PENDING, 0
    order.email_error, order.email_next_attempt_at = "", None
    order.save()
    purchase_order_email.enqueue(order_id=order.pk)
    return order


@transaction.atomic
def purchase_order_email_resend(*, order: PurchaseOrder) -> PurchaseOrder:
    """Queue the supplier's e-mail again once the retries gave up (or the address was refused and mended)."""
    order = _locked_order(order)
    if order.status == Status.DRAFT or order.email_state != PurchaseOrder.Email.FAILED:
        raise InvalidPurchaseOrder("Seul un envoi en échec peut être relancé.")
    order.email_to = order.supplier.email
    order.email_state, order.email_attempts, order.email_next_attempt_at = PurchaseOrder.Email.PENDING, 0, None
    order.save(update_fields=["email_to", "email_state", "email_attempts", "email_next_attempt_at"])
    purchase_order_email.enqueue(order_id=order.pk)
    return order


@transaction.atomic
def purchase_order_cancel(*, order: PurchaseOrder, now: datetime.datetime | None = None) -> PurchaseOrder:
    """Cancel an order nothing of which was received yet."""
    order = _locked_order(order)
    if order.status not in (Status.DRAFT, Status.SENT):
        raise InvalidPurchaseOrder(f"Cette commande est {order.get_status_display()} : elle ne peut plus être annulée.")
    order.status, order.cancelled_at = Status.CANCELLED, now or timezone.now()
    order.save(update_fields=["status", "cancelled_at"])
    return order


@transaction.atomic
def purchase_order_receive(
    *,
    order: PurchaseOrder,
    received: Mapping[int, int],
    by=None,
    allow_extra: bool = False,
    now: datetime.datetime | None = None,
) -> PurchaseOrder:
    """Put a delivery ({line id: packs received}) on the pizzeria's shelf, with one receipt row per ingredient.

    A delivery may be partial (the order is then « partiellement reçue » until
    the rest comes); more than ordered only with ``allow_extra`` (confirmed by
    the manager). A pack price that differs from the ingredient's cost of the
    day becomes its cost from today. Locks the order, then its stock lines in
    primary-key order: two receipts of one order queue up and never receive
    the same packs twice. Checks everything before writing anything.
    """
    now = now or timezone.now()
    order = _locked_order(order)
    if order.status == Status.CANCELLED:
        raise InvalidPurchaseOrder("Cette commande est annulée : rien ne peut y être reçu.")
    if order.status == Status.DRAFT:
        raise InvalidPurchaseOrder("Cette commande n'a pas encore été envoyée au fournisseur.")
    if order.status == Status.RECEIVED:
        raise InvalidPurchaseOrder("Cette commande est déjà entièrement reçue.")
    lines = _lines_of(order, received)
    arriving = {}
    for line_id, value in received.items():
        line = lines[line_id]
        packs = _packs(value, line=line, what="reçus")
        if packs and line.packs_received + packs > line.packs and not allow_extra:
            raise InvalidPurchaseOrder(
                f"{line.ingredient.name} : {packs} colis reçus alors qu'il n'en reste que {line.packs_missing} "
                "à recevoir. Cochez la confirmation pour recevoir plus que commandé.",
                field=f"line-{line.pk}",
            )
        if packs:
            arriving[line.ingredient_id] = (line, packs)
    if not arriving:
        raise InvalidPurchaseOrder("Indiquez au moins un colis reçu.")
    for ingredient_id in sorted(arriving):
        Stock.objects.get_or_create(pizzeria_id=order.pizzeria_id, ingredient_id=ingredient_id)
    stock_lines = (
        Stock.objects.select_for_update(of=("self",))
        .filter(pizzeria_id=order.pizzeria_id, ingredient_id__in=list(arriving))
        .order_by("pk")
    )
    note = f"bon de commande n° {order.number} — {order.supplier.name}"
    today = timezone.localdate(now)
    history = cost_history()
    for stock in stock_lines:
        line, packs = arriving[stock.ingredient_id]
        _move(
            stock=stock,
            kind=StockMovement.RECEIPT,
            on_hand_delta=packs * line.pack_size,
            by=by,
            note=note,
            purchase_order=order,
        )
        line.packs_received += packs
        unit_cost = (line.pack_price / line.pack_size).quantize(UNIT_COST_STEP)
        if history.on(line.ingredient_id, today) != unit_cost:
            IngredientCost.objects.update_or_create(
                ingredient_id=line.ingredient_id, valid_from=today, defaults={"unit_cost": unit_cost, "by": by}
            )
    PurchaseOrderLine.objects.bulk_update([line for line, _packs in arriving.values()], ["packs_received"])
    complete = all(line.packs_received >= line.packs for line in lines.values())
    order.status = Status.RECEIVED if complete else Status.PARTIAL
    order.received_at = now if complete else None
    order.save(update_fields=["status", "received_at"])
    return order
