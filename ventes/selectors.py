"""Reads of the shop: the menu with live availability, the priced cart, orders as a viewer may see them."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from production.cache import catalogue_version, menu_version
from production.exceptions import Shortage, SoldOut
from production.models import Allergen, OpeningHours, Pizzeria, Product
from production.selectors import Availability, availability_of, pizzeria_hours_on, product_availability

from .models import (
    REFUND_NEEDS_MANAGER,
    Address,
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    PaymentMethod,
    Refund,
)
from .pricing import MealVoucherSplit, PricedLine, Totals, delivery_fee_for, meal_voucher_split, order_totals
from .tracking import order_number_from_token
from .workflow import Role, actor_role_for

SLOT_MINUTES = 15
# The earliest slot leaves the kitchen this long to make the order.
SLOT_LEAD_MINUTES = 30
SLOT_DAYS = 2
STAFF_ROLES = {Role.PIZZAIOLO, Role.RIDER, Role.COUNTER, Role.MANAGER}
EDITOR_ROLES = {Role.OWNER, Role.COUNTER, Role.MANAGER}
MENU_CATEGORY_ORDER = {category: index for index, (category, _label) in enumerate(Product.CATEGORIES)}


def pizzeria_get(*, slug: str | None = None, pk: int | None = None, with_hours: bool = True) -> Pizzeria | None:
    """An active pizzeria, with its opening hours unless the caller shows none, or None."""
    pizzerias = Pizzeria.objects.filter(is_active=True)
    if with_hours:
        pizzerias = pizzerias.prefetch_related(
            Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens"))
        )
    if slug is not None:
        return pizzerias.filter(slug=slug).first()
    if isinstance(pk, int) and not isinstance(pk, bool):
        return pizzerias.filter(pk=pk).first()
    return None


def pizzeria_for_menu(*, slug: str) -> Pizzeria | None:
    """``pizzeria_get`` for the menu page, the most visited one: cached like the menu itself,
    under the catalogue version (pizzerias, their hours and pauses move it), and kept
    ``MENU_CACHE_SECONDS`` at most. Orders and the cart read the pizzeria afresh."""
    key = f"menu-pizzeria:{slug}:{catalogue_version()}"
    pizzeria = cache.get(key)
    if pizzeria is None:
        pizzeria = pizzeria_get(slug=slug)
        if pizzeria is not None:
            cache.set(key, pizzeria, settings.OCPIZZA["MENU_CACHE_SECONDS"])
    return pizzeria


@dataclass
class MenuItem:
    product: Product
    availability: Availability
    allergens: list[str] = field(default_factory=list)

    @property
    def sold_out(self) -> bool:
        return self.availability.sold_out

    @property
    def low(self) -> bool:
        return self.availability.is_low(settings.OCPIZZA["LOW_AVAILABILITY"])


@dataclass
class MenuSection:
    label: str
    items: list[MenuItem]


def _allergens_by_product(product_ids: list[int]) -> dict[int, list[str]]:
    rows = (
        Allergen.objects.filter(ingredient__recipe_lines__product_id__in=product_ids)
        .values_list("ingredient__recipe_lines__product_id", "name")
        .distinct()
        .order_by("name")
    )
    allergens: dict[int, list[str]] = defaultdict(list)
    for product_id, name in rows:
        allergens[product_id].append(name)
    return allergens


def menu_products(*, pizzeria: Pizzeria) -> list[Product]:
    return list(Product.objects.filter(pizzerias=pizzeria, is_active=True).order_by("category", "position", "name"))


def menu_for(*, pizzeria: Pizzeria, fresh: bool = False) -> list[MenuSection]:
    """The pizzeria's menu by category, with live availability and allergens.

    Cached until its stock or the catalogue changes (production/cache.py), and
    never longer than ``MENU_CACHE_SECONDS``; three queries when it is built.
    ``fresh`` builds it now (and caches it again), for what is cached from it
    in turn — the menu page's cards — so that no copy outlives that bound.
    """
    key = _menu_key(pizzeria.pk)
    sections = None if fresh else cache.get(key)
    if sections is None:
        sections = _menu_build(pizzeria=pizzeria)
        cache.set(key, sections, settings.OCPIZZA["MENU_CACHE_SECONDS"])
    return sections


def _menu_key(pizzeria_id: int) -> str:
    return f"menu:{pizzeria_id}:{menu_version(pizzeria_id=pizzeria_id)}"


def _menu_items(sections: list[MenuSection]) -> dict[int, MenuItem]:
    return {item.product.pk: item for section in sections for item in section.items}


def _menu_items_cached(*, pizzeria_id: int) -> dict[int, MenuItem] | None:
    """The items of the pizzeria's menu by product id if it is cached now, else None (never a query)."""
    sections = cache.get(_menu_key(pizzeria_id))
    return None if sections is None else _menu_items(sections)


def _menu_build(*, pizzeria: Pizzeria) -> list[MenuSection]:
    products = menu_products(pizzeria=pizzeria)
    ids = [product.pk for product in products]
    availabilities = product_availability(pizzeria_id=pizzeria.pk) if ids else {}
    allergens = _allergens_by_product(ids) if ids else {}
    # Pizzas first, then drinks and desserts: the order of Product.CATEGORIES, not the alphabet.
    sections = {category: MenuSection(label=label, items=[]) for category, label in Product.CATEGORIES}
    for product in products:
        sections[product.category].items.append(
            MenuItem(product, availability_of(availabilities, product.pk), allergens.get(product.pk, []))
        )
    return [section for section in sections.values() if section.items]


def menu_item(*, pizzeria: Pizzeria, product_id: int) -> MenuItem | None:
    """A product of the pizzeria's menu with its availability, as the menu shows them: from the
    cached menu, which is built (and cached for the next visitors) when there is none."""
    return _menu_items(menu_for(pizzeria=pizzeria)).get(product_id)


def menu_item_check_available(*, item: MenuItem, quantity: int) -> None:
    """Refuse, in the menu's own words (« épuisé », « plus que N »), more than the pizzeria can make now.

    Raises ``SoldOut``. Placing the order checks the stock again, behind its locks.
    """
    can_make = item.availability.can_make
    if can_make is not None and can_make < quantity:
        raise SoldOut([Shortage(item.product.pk, item.product.name, quantity, can_make)])


@dataclass
class CartLine:
    product: Product
    quantity: int
    availability: Availability

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def short(self) -> bool:
        """The kitchen cannot make this many right now."""
        return self.availability.can_make is not None and self.availability.can_make < self.quantity


@dataclass
class CartSummary:
    pizzeria: Pizzeria | None
    lines: list[CartLine]
    totals: Totals

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


def cart_summary(
    *,
    pizzeria: Pizzeria | None,
    quantities: dict[int, int],
    delivery: bool = False,
    cached: bool = True,
) -> CartSummary:
    """The cart priced from the catalogue: products no longer on the menu drop out.

    Products and availability come from the cached menu when there is one, as
    the customer saw them there; ``cached=False`` reads the catalogue itself,
    for a decision that must not lag behind it.
    """
    if pizzeria is None or not quantities:
        return CartSummary(pizzeria=None, lines=[], totals=order_totals(lines=[], delivery_fee=Decimal("0")))
    items = _menu_items_cached(pizzeria_id=pizzeria.pk) if cached else None
    if items is not None:
        lines = [
            CartLine(item.product, quantities[product_id], item.availability)
            for product_id, item in items.items()
            if product_id in quantities
        ]
    else:
        products = sorted(
            Product.objects.filter(pk__in=quantities, pizzerias=pizzeria, is_active=True).order_by("position", "name"),
            key=lambda product: MENU_CATEGORY_ORDER[product.category],  # the menu's order, as the cached path gives
        )
        availabilities = product_availability(pizzeria_id=pizzeria.pk, product_ids=list(quantities))
        lines = [
            CartLine(product, quantities[product.pk], availability_of(availabilities, product.pk))
            for product in products
        ]
    priced = [PricedLine(line.product.price, line.quantity, line.product.vat_rate) for line in lines]
    subtotal = sum((line.total for line in priced), Decimal("0"))
    fee = delivery_fee_for(pizzeria=pizzeria, delivery=delivery, subtotal=subtotal)
    return CartSummary(pizzeria=pizzeria, lines=lines, totals=order_totals(lines=priced, delivery_fee=fee))


@dataclass(frozen=True)
class CheckoutVoucherSplits:
    """The meal-voucher split of a cart, picked up and delivered (the delivery fee is not food)."""

    pickup: MealVoucherSplit
    delivery: MealVoucherSplit
    limit: Decimal

    @property
    def is_partial(self) -> bool:
        return self.pickup.is_partial or self.delivery.is_partial

    @property
    def differ(self) -> bool:
        return self.pickup != self.delivery


def cart_meal_voucher_splits(*, cart: CartSummary) -> CheckoutVoucherSplits | None:
    """What meal vouchers would pay of this cart and what would be left, or None for an empty cart."""
    if cart.pizzeria is None:
        return None
    priced = [
        PricedLine(line.product.price, line.quantity, line.product.vat_rate, line.product.contains_alcohol)
        for line in cart.lines
    ]
    fee = delivery_fee_for(pizzeria=cart.pizzeria, delivery=True, subtotal=cart.totals.subtotal)
    limit = settings.OCPIZZA["MEAL_VOUCHER_DAILY_LIMIT"]
    return CheckoutVoucherSplits(
        pickup=meal_voucher_split(lines=priced, delivery_fee=Decimal("0"), daily_limit=limit),
        delivery=meal_voucher_split(lines=priced, delivery_fee=fee, daily_limit=limit),
        limit=limit,
    )


def checkout_slots(*, pizzeria: Pizzeria, now: datetime.datetime | None = None) -> list[datetime.datetime]:
    """Times offered for a later order: every quarter hour within opening hours, today and tomorrow.

    A paused pizzeria only offers slots after its pause lead time.
    """
    now = timezone.localtime(now or timezone.now())
    lead = (
        SLOT_LEAD_MINUTES
        if pizzeria.accepting_orders
        else max(SLOT_LEAD_MINUTES, settings.OCPIZZA["PAUSE_LEAD_MINUTES"])
    )
    earliest = now + datetime.timedelta(minutes=lead)
    slots = []
    for offset in range(SLOT_DAYS):
        day = now.date() + datetime.timedelta(days=offset)
        for hours in pizzeria_hours_on(pizzeria, day):
            start = timezone.make_aware(datetime.datetime.combine(day, hours.opens))
            end = timezone.make_aware(datetime.datetime.combine(day, hours.closes))
            slot = start + datetime.timedelta(minutes=(-start.minute) % SLOT_MINUTES)
            while slot < end:
                if slot >= earliest:
                    slots.append(slot)
                slot += datetime.timedelta(minutes=SLOT_MINUTES)
    return sorted(slots)


def customer_for(*, user) -> Customer | None:
    return Customer.objects.filter(user_id=user.pk).first() if user.is_authenticated else None


def order_is_owned_by(*, number: str, user) -> bool:
    """Whether the order of that number is one of ``user``'s own (a guest's order is nobody's)."""
    return user.is_authenticated and Order.objects.filter(number=number, customer__user_id=user.pk).exists()


def customer_addresses(*, user) -> QuerySet[Address]:
    """The user's address book, in one query whatever its size."""
    if not user.is_authenticated:
        return Address.objects.none()
    return Address.objects.filter(customer__user=user).order_by("label", "pk")


@dataclass
class OrderView:
    """An order as one viewer may see it; ``role`` is None for a guest with a signed link."""

    order: Order
    role: Role | None

    @property
    def may_edit(self) -> bool:
        return self.order.state == OrderState.RECEIVED and self.role in EDITOR_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


def order_for_viewer(*, number: str, user, token: str = "") -> OrderView | None:
    """The order if this person may see it: its owner, staff of its pizzeria, a manager,
    or anyone holding a valid signed link. None otherwise (the caller answers 404)."""
    order = Order.objects.select_related("pizzeria", "customer").filter(number=number).first()
    if order is None:
        return None
    owner_id = order.customer.user_id if order.customer_id is not None else None
    allowed, role = _viewer_role(
        number=number, pizzeria_id=order.pizzeria_id, owner_id=owner_id, user=user, token=token
    )
    return OrderView(order=order, role=role) if allowed else None


@dataclass(frozen=True)
class OrderVersion:
    """When an order last changed, and the part its viewer plays: what its page's poll is answered from."""

    pk: int
    updated_at: datetime.datetime
    role: Role | None


def order_version_for_viewer(*, number: str, user, token: str = "") -> OrderVersion | None:
    """``order_for_viewer``'s answer reduced to what an unchanged poll needs, in one indexed read.

    Every open order page asks this every few seconds, and nearly always
    nothing has changed: building the ORM query would cost twice what
    PostgreSQL takes to answer it, so the statement is written out.
    """
    orders, customers = Order._meta.db_table, Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.id, o.updated_at, o.pizzeria_id, c.user_id FROM {orders} o "
            f"LEFT JOIN {customers} c ON c.id = o.customer_id WHERE o.number = %s",
            [number],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    pk, updated_at, pizzeria_id, owner_id = row
    if timezone.is_naive(updated_at):  # SQLite hands back UTC without its zone
        updated_at = timezone.make_aware(updated_at, datetime.UTC)
    allowed, role = _viewer_role(number=number, pizzeria_id=pizzeria_id, owner_id=owner_id, user=user, token=token)
    return OrderVersion(pk=pk, updated_at=updated_at, role=role) if allowed else None


def order_view_at(*, version: OrderVersion) -> OrderView:
    """The whole order behind a version already checked for its viewer."""
    order = Order.objects.select_related("pizzeria", "customer").get(pk=version.pk)
    return OrderView(order=order, role=version.role)


def _viewer_role(*, number: str, pizzeria_id: int, owner_id: int | None, user, token: str) -> tuple[bool, Role | None]:
    """Whether this viewer may see the order, and as whom (None: a guest with a signed link)."""
    if user.is_authenticated:
        role = actor_role_for(pizzeria_id=pizzeria_id, owner_id=owner_id, user=user)
        if role == Role.OWNER or role in STAFF_ROLES:
            return True, role
    if token and order_number_from_token(token) == number:
        return True, None
    return False, None


def order_lines(*, order: Order) -> list[OrderLine]:
    """The order's lines, each with its product (for ``order_meal_voucher_split``), in one query."""
    return list(order.lines.select_related("product"))


def order_meal_voucher_split(*, order: Order, lines: Iterable[OrderLine]) -> MealVoucherSplit | None:
    """The split of an order paid by meal voucher that vouchers cannot pay in full; None for any other order.

    ``lines`` come with their product (``order_lines``, the staff screens' prefetch).
    """
    if order.payment_method != PaymentMethod.MEAL_VOUCHER:
        return None
    priced = [
        PricedLine(line.unit_price, line.quantity, line.vat_rate, line.product.contains_alcohol) for line in lines
    ]
    split = meal_voucher_split(lines=priced, delivery_fee=order.delivery_fee)
    return split if split.is_partial else None


def order_events(*, order: Order) -> list[OrderEvent]:
    return list(order.events.all())


def order_totals_of(*, order: Order, lines: list[OrderLine]) -> Totals:
    """VAT rows of a placed order, from its snapshotted lines."""
    priced = [PricedLine(line.unit_price, line.quantity, line.vat_rate) for line in lines]
    return order_totals(lines=priced, delivery_fee=order.delivery_fee)


def order_history_lines(*, order: Order) -> dict[int, int]:
    """{product id: quantity} of an order, to fill a cart again."""
    return dict(order.lines.values_list("product_id", "quantity"))


def pizzeria_queue(*, pizzeria: Pizzeria) -> list[Order]:
    """Orders waiting in or going through the kitchen, oldest first."""
    return list(
        Order.objects.filter(pizzeria=pizzeria, state__in=[OrderState.RECEIVED, OrderState.PREPARING])
        .order_by("created_at")
        .only("number", "customer_name", "state", "channel", "fulfilment", "total", "created_at", "requested_for")
    )


def order_awaiting_payment(*, number: str) -> Order | None:
    """The order of that number if it still waits for its online payment."""
    return (
        Order.objects.select_related("pizzeria")
        .filter(number=number, state=OrderState.PENDING_PAYMENT, payment_method=PaymentMethod.ONLINE_CARD)
        .first()
    )


def refunds_still_owed(*, refund_ids: list[int]) -> bool:
    """Whether any of these refunds is still waiting for Stripe."""
    return Refund.objects.filter(pk__in=refund_ids, state=Refund.State.PENDING).exists()


def refunds_needing_attention() -> list[Refund]:
    """Refunds the managers were told about: still failing after several tries, or refused by the card's bank."""
    return list(
        Refund.objects.filter(REFUND_NEEDS_MANAGER).select_related("order__pizzeria").order_by("created_at", "pk")
    )
