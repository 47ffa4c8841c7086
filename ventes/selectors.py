"""Reads of the shop: the menu with live availability, the priced cart, orders as a viewer may see them."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone

from production.cache import cached_object, catalogue_version, menu_version
from production.exceptions import InvalidConfiguration, Shortage, SoldOut
from production.models import (
    CatalogueRevision,
    Formula,
    FormulaChoice,
    FormulaSlot,
    Option,
    OptionGroup,
    Pizzeria,
    Product,
    ProductSize,
    StaffMember,
    Stock,
)
from production.selectors import (
    Availability,
    Catalogue,
    ConfiguredFormula,
    ConfiguredLine,
    allergens_by_ingredient,
    catalogue_for,
    formula_hours,
    formula_key,
    line_key,
    parse_formula_key,
    parse_line_key,
    pizzeria_hours_on,
    pizzeria_hours_prefetches,
    pizzerias_accepting_flags,
    recipe_allergens,
    stock_last_movement_at,
    stock_levels,
    stock_low_lines,
)

from .capacity import SLOT, SLOT_MINUTES, SlotRoom, oven_load_of, slot_capacity, slot_loads, slot_start
from .models import (
    CANCELLED_WHY_TO_CUSTOMER,
    REFUND_NEEDS_MANAGER,
    STATE_EVENT_TYPES,
    Address,
    Customer,
    Fulfilment,
    Notification,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderState,
    PaymentMethod,
    PaymentState,
    Refund,
)
from .pricing import MealVoucherSplit, PricedLine, Totals, delivery_fee_for, meal_voucher_split, order_totals
from .tracking import order_number_from_token
from .workflow import STOCK_HELD_STATES, UNDO_TRANSITIONS, UNDO_WINDOW, Role, actor_role_for

# The earliest slot leaves the kitchen this long to make the order.
SLOT_LEAD_MINUTES = 30
SLOT_DAYS = 2
STAFF_ROLES = {Role.PIZZAIOLO, Role.RIDER, Role.COUNTER, Role.MANAGER}
EDITOR_ROLES = {Role.OWNER, Role.COUNTER, Role.MANAGER}
MENU_CATEGORY_ORDER = {category: index for index, (category, _label) in enumerate(Product.CATEGORIES)}


def pizzeria_get(*, slug: str | None = None, pk: int | None = None, with_hours: bool = True) -> Pizzeria | None:
    """An active pizzeria as it stands now (its pause, its busy mode), with its opening hours unless the
    caller shows none, or None."""
    pizzerias = Pizzeria.objects.filter(is_active=True).annotate(catalogue_revision=_catalogue_revision())
    if slug is not None:
        pizzeria = pizzerias.filter(slug=slug).first()
    elif isinstance(pk, int) and not isinstance(pk, bool):
        pizzeria = pizzerias.filter(pk=pk).first()
    else:
        return None
    if pizzeria is not None and with_hours:
        _hours_attach(pizzeria)
    return pizzeria


def _catalogue_revision_number() -> QuerySet:
    """The number of the one ``CatalogueRevision`` row, which every change of the catalogue moves."""
    return CatalogueRevision.objects.filter(pk=CatalogueRevision.ONLY).values_list("number", flat=True)


def _catalogue_revision() -> Subquery:
    """The catalogue's revision, read in the query of the pizzeria."""
    return Subquery(_catalogue_revision_number())


def _revision_of(pizzeria: Pizzeria) -> int | None:
    """The catalogue's revision read with ``pizzeria`` by ``pizzeria_get``, else read now and kept on it, as
    ``pizzeria_get`` would have: an order's catalogue and allergens then read it once."""
    instance: Any = pizzeria
    if not hasattr(instance, "catalogue_revision"):
        instance.catalogue_revision = _catalogue_revision_number().first()
    return instance.catalogue_revision


def _hours_attach(pizzeria: Pizzeria) -> None:
    """Give ``pizzeria`` its opening hours and exceptions as ``pizzeria_hours_prefetches`` reads them, kept in
    memory under the catalogue's revision, which every change of them moves in its own transaction: the cart,
    the checkout and the order read the pizzeria three times per order, its hours two queries each."""

    # Where prefetch_related leaves what it read, and where pizzeria.opening_hours.all() looks first.
    instance: Any = pizzeria

    def read() -> dict[str, Any]:
        prefetch_related_objects([pizzeria], *pizzeria_hours_prefetches())
        return instance._prefetched_objects_cache

    kept = cached_object(
        f"pizzeria-hours:{pizzeria.pk}:{_revision_of(pizzeria)}", read, settings.OCPIZZA["MENU_CACHE_SECONDS"]
    )
    # A copy: Django empties an instance's own prefetch cache (refresh_from_db), never the process's kept one.
    instance._prefetched_objects_cache = dict(kept)


def pizzeria_for_menu(*, slug: str) -> Pizzeria | None:
    """``pizzeria_get`` for the menu page, the most visited one: cached like the menu itself,
    under the catalogue version (pizzerias, their hours and pauses move it), and kept
    ``MENU_CACHE_SECONDS`` at most; each process keeps it unpickled meanwhile, as the catalogue
    (``cached_object``): to be read, never changed. Orders and the cart read its row afresh (a pause stops
    them at once)."""
    return cached_object(
        f"menu-pizzeria:{slug}:{catalogue_version()}",
        lambda: pizzeria_get(slug=slug),
        settings.OCPIZZA["MENU_CACHE_SECONDS"],
    )


@dataclass(frozen=True)
class SizeChoice:
    size: ProductSize
    price: Decimal
    can_make: int | None


@dataclass(frozen=True)
class OptionChoice:
    """An option as the configurator offers it; ``available``: its ingredient is there for one more pizza."""

    option: Option
    price: Decimal
    available: bool = True
    allergens: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupChoice:
    group: OptionGroup
    options: list[OptionChoice]


@dataclass
class MenuItem:
    """A product of the menu as sold here: its price (its first size's), availability and allergens
    without options, and what the configurator offers."""

    product: Product
    availability: Availability
    allergens: list[str] = field(default_factory=list)
    price: Decimal = Decimal("0")
    sizes: list[SizeChoice] = field(default_factory=list)
    groups: list[GroupChoice] = field(default_factory=list)

    @property
    def sold_out(self) -> bool:
        return self.availability.sold_out

    @property
    def low(self) -> bool:
        return self.availability.is_low(settings.OCPIZZA["LOW_AVAILABILITY"])

    @property
    def configurable(self) -> bool:
        return len(self.sizes) > 1 or any(group.options for group in self.groups)


@dataclass(frozen=True)
class FormulaOption:
    """A choice of a formula's slot as the menu offers it: what it is (« Regina (Moyenne) ») and its usual price."""

    choice: FormulaChoice
    label: str
    price: Decimal
    sold_out: bool


@dataclass(frozen=True)
class FormulaPart:
    slot: FormulaSlot
    options: list[FormulaOption]


@dataclass(frozen=True)
class FormulaItem:
    """A formula of the menu: its price, its hours in words, and the choices of each slot sold here."""

    formula: Formula
    hours: str
    parts: list[FormulaPart]

    @property
    def sold_out(self) -> bool:
        return any(all(option.sold_out for option in part.options) for part in self.parts)


@dataclass
class MenuSection:
    label: str
    items: list[MenuItem]


@dataclass
class Menu:
    """A pizzeria's menu by category, and what it was built from: the catalogue and the stock levels,
    so that the cart and the configurator price and check lines as the menu shows them."""

    sections: list[MenuSection]
    catalogue: Catalogue
    levels: dict[int, int]
    allergens: dict[int, list[str]]
    formulas: list[FormulaItem] = field(default_factory=list)

    @property
    def items(self) -> dict[int, MenuItem]:
        return {item.product.pk: item for section in self.sections for item in section.items}


def menu_products(*, pizzeria: Pizzeria) -> list[Product]:
    return list(Product.objects.filter(pizzerias=pizzeria, is_active=True).order_by("category", "position", "name"))


def menu_for(*, pizzeria: Pizzeria, fresh: bool = False) -> Menu:
    """The pizzeria's menu by category, with live availability and allergens.

    Cached until its stock or the catalogue changes (production/cache.py), and
    never longer than ``MENU_CACHE_SECONDS``; a fixed number of queries when it
    is built, whatever its products, sizes and options.
    ``fresh`` builds it now (and caches it again), for what is cached from it
    in turn — the menu page's cards — so that no copy outlives that bound.
    """
    key = _menu_key(pizzeria.pk)
    menu = None if fresh else cache.get(key)
    if menu is None:
        menu = _menu_build(pizzeria=pizzeria, fresh=fresh)
        cache.set(key, menu, settings.OCPIZZA["MENU_CACHE_SECONDS"])
    return menu


def _catalogue_cached(*, pizzeria: Pizzeria, fresh: bool = False) -> Catalogue:
    """The pizzeria's whole catalogue, cached under the catalogue's version alone (``MENU_CACHE_SECONDS`` at
    most): every order moves the stock, and with it the menu's version, but not the catalogue, so the next
    customer's cart reads the stock again (one query) instead of the whole menu."""
    return cached_object(
        f"catalogue:{pizzeria.pk}:{catalogue_version()}",
        lambda: catalogue_for(pizzeria=pizzeria),
        settings.OCPIZZA["MENU_CACHE_SECONDS"],
        fresh=fresh,
    )


def catalogue_current(*, pizzeria: Pizzeria) -> Catalogue:
    """The pizzeria's whole catalogue as it stands now, for an order to be checked and priced against: kept in
    memory under the catalogue's revision, which every change moves in its own transaction, so a change
    committed on any server is seen by the next order here (``MENU_CACHE_SECONDS`` at most for a change
    made without the models' signals, such as a queryset's update)."""
    return cached_object(
        f"catalogue-revision:{pizzeria.pk}:{_revision_of(pizzeria)}",
        lambda: catalogue_for(pizzeria=pizzeria),
        settings.OCPIZZA["MENU_CACHE_SECONDS"],
    )


def allergens_current(*, pizzeria: Pizzeria) -> dict[int, list[str]]:
    """The allergens of every ingredient, for the lines of an order: kept in memory under the catalogue's
    revision, which a change of an ingredient's allergens moves in its own transaction (``catalogue_current``)."""
    return cached_object(
        f"allergens-revision:{_revision_of(pizzeria)}",
        lambda: allergens_by_ingredient(ingredient_ids=None),
        settings.OCPIZZA["MENU_CACHE_SECONDS"],
    )


def _catalogue_and_levels(*, pizzeria: Pizzeria) -> tuple[Catalogue, dict[int, int]]:
    """The catalogue and stock levels of the cached menu when there is one; otherwise the cached catalogue
    and the stock read now, cached under the menu's version as the menu would have been."""
    version = menu_version(pizzeria_id=pizzeria.pk)
    menu = cache.get(f"menu:{pizzeria.pk}:{version}")
    if menu is not None:
        return menu.catalogue, menu.levels
    key = f"stock-levels:{pizzeria.pk}:{version}"
    levels = cache.get(key)
    if levels is None:
        levels = stock_levels(pizzeria_id=pizzeria.pk)
        cache.set(key, levels, settings.OCPIZZA["MENU_CACHE_SECONDS"])
    return _catalogue_cached(pizzeria=pizzeria), levels


def _menu_key(pizzeria_id: int) -> str:
    return f"menu:{pizzeria_id}:{menu_version(pizzeria_id=pizzeria_id)}"  # as _catalogue_and_levels reads it


def _menu_cached(*, pizzeria_id: int) -> Menu | None:
    """The pizzeria's menu if it is cached now, else None (never a query)."""
    return cache.get(_menu_key(pizzeria_id))


def _availability(line: ConfiguredLine, levels: dict[int, int], names: dict[int, str]) -> Availability:
    can_make = line.can_make(levels)
    if can_make is None:
        return Availability(can_make=None)
    limiting = min(line.recipe, key=lambda i: (max(levels.get(i, 0), 0) // line.recipe[i], names.get(i, "")))
    return Availability(can_make=can_make, limiting_ingredient=names.get(limiting))


def _menu_item(catalogue: Catalogue, product: Product, levels, allergens, names) -> MenuItem:
    defaults = catalogue.default_options(product)
    base = catalogue.configure(product_id=product.pk, option_ids=defaults)
    sizes = [
        SizeChoice(
            size=size,
            price=catalogue.size_price(size),
            can_make=catalogue.configure(product_id=product.pk, size_id=size.pk, option_ids=defaults).can_make(levels),
        )
        for size in catalogue.sizes(product)
    ]
    groups = []
    for group, options in catalogue.groups(product):
        choices = []
        for option in options:
            recipe = catalogue.recipe(product, base.size, [option])
            available = (
                group.kind == OptionGroup.REMOVE
                or not recipe
                or all(levels.get(i, 0) >= quantity for i, quantity in recipe.items())
            )
            choices.append(
                OptionChoice(
                    option=option,
                    price=catalogue.option_price(option),
                    available=available,
                    allergens=tuple(allergens.get(option.ingredient_id, [])) if option.ingredient_id else (),
                )
            )
        groups.append(GroupChoice(group=group, options=choices))
    return MenuItem(
        product=product,
        availability=_availability(base, levels, names),
        allergens=recipe_allergens(base.recipe, allergens),
        price=base.unit_price,
        sizes=sizes,
        groups=groups,
    )


def _menu_build(*, pizzeria: Pizzeria, fresh: bool = False) -> Menu:
    catalogue = _catalogue_cached(pizzeria=pizzeria, fresh=fresh)
    levels = stock_levels(pizzeria_id=pizzeria.pk)
    ingredient_ids = {
        line.ingredient_id for product in catalogue.products.values() for line in product.recipe_lines.all()
    } | {
        option.ingredient_id
        for product in catalogue.products.values()
        for group in product.option_groups.all()
        for option in group.options.all()
        if option.ingredient_id is not None
    }
    allergens = allergens_by_ingredient(ingredient_ids=ingredient_ids) if ingredient_ids else {}
    names = {
        line.ingredient_id: line.ingredient.name
        for product in catalogue.products.values()
        for line in product.recipe_lines.all()
    }
    # Pizzas first, then drinks and desserts: the order of Product.CATEGORIES, not the alphabet.
    sections = {category: MenuSection(label=label, items=[]) for category, label in Product.CATEGORIES}
    for product in catalogue.products.values():
        if catalogue.sellable(product):
            sections[product.category].items.append(_menu_item(catalogue, product, levels, allergens, names))
    return Menu(
        sections=[section for section in sections.values() if section.items],
        catalogue=catalogue,
        levels=levels,
        allergens=allergens,
        formulas=[
            item for formula in catalogue.formulas.values() if (item := _formula_item(catalogue, formula, levels))
        ],
    )


def _formula_item(catalogue: Catalogue, formula: Formula, levels: dict[int, int]) -> FormulaItem | None:
    """The formula as the menu offers it: the choices of each slot sold here; None when a slot has none."""
    parts = []
    for slot in formula.slots.all():
        options = []
        for choice in slot.choices.all():
            product = catalogue.products.get(choice.product_id)
            if product is None or not catalogue.sellable(product):
                continue
            try:
                line = catalogue.configure(
                    product_id=product.pk, size_id=choice.size_id, option_ids=catalogue.default_options(product)
                )
            except InvalidConfiguration:
                continue
            options.append(FormulaOption(choice, line.label, line.unit_price, line.can_make(levels) == 0))
        if not options:
            return None
        parts.append(FormulaPart(slot, options))
    return FormulaItem(formula=formula, hours=formula_hours(formula), parts=parts) if parts else None


def menu_item(*, pizzeria: Pizzeria, product_id: int) -> MenuItem | None:
    """A product of the pizzeria's menu with its availability, as the menu shows them: from the
    cached menu, which is built (and cached for the next visitors) when there is none."""
    return menu_for(pizzeria=pizzeria).items.get(product_id)


def menu_formula_item(*, pizzeria: Pizzeria, formula_id: int) -> FormulaItem | None:
    """A formula of the pizzeria's menu with the choices of each part, as the menu shows it; None when it is not
    offered here."""
    return next((item for item in menu_for(pizzeria=pizzeria).formulas if item.formula.pk == formula_id), None)


@dataclass
class CartLine:
    key: str
    line: ConfiguredLine | ConfiguredFormula
    quantity: int
    availability: Availability

    @property
    def name(self) -> str:
        return self.line.formula.name if isinstance(self.line, ConfiguredFormula) else self.line.product.name

    @property
    def products(self) -> list[Product]:
        """What goes to the kitchen: the product, or each part of a formula."""
        if isinstance(self.line, ConfiguredFormula):
            return [part.product for part in self.line.parts]
        return [self.line.product]

    @property
    def priced(self) -> list[PricedLine]:
        """The line for VAT: a formula's parts, each at its share of the set price and its own rate."""
        parts = self.line.parts if isinstance(self.line, ConfiguredFormula) else (self.line,)
        return [
            PricedLine(part.unit_price, self.quantity, part.product.vat_rate, part.product.contains_alcohol)
            for part in parts
        ]

    @property
    def unit_price(self) -> Decimal:
        return self.line.unit_price

    @property
    def description(self) -> str:
        return self.line.description

    @property
    def total(self) -> Decimal:
        return self.line.unit_price * self.quantity

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

    @property
    def oven_load(self) -> int:
        return oven_load_of((product, line.quantity) for line in self.lines for product in line.products)

    @property
    def delivery_fee(self) -> Decimal:
        """The pizzeria's fee were this cart delivered (none past its free-delivery amount)."""
        if self.pizzeria is None:
            return Decimal("0.00")
        return delivery_fee_for(pizzeria=self.pizzeria, delivery=True, subtotal=self.totals.subtotal)

    @property
    def delivered_total(self) -> Decimal:
        return self.totals.total + self.delivery_fee


def _line_product_ids(lines: Iterable[str]) -> set[int]:
    return {
        product_id
        for key in lines
        if (parsed := parse_line_key(key)) is not None
        for product_id in (parsed[0], parsed[3])
        if product_id is not None
    }


def _line_formula_ids(lines: Iterable[str]) -> set[int]:
    return {parsed[0] for key in lines if (parsed := parse_formula_key(key)) is not None}


def cart_summary(
    *,
    pizzeria: Pizzeria | None,
    lines: dict[str, int],
    delivery: bool = False,
    cached: bool = True,
) -> CartSummary:
    """The cart ({line key: quantity}) priced from the catalogue as this pizzeria sells it today:
    lines no longer on the menu as configured (product, size or option withdrawn) drop out.

    Catalogue and availability come from the cached menu when there is one, as
    the customer saw them there; ``cached=False`` reads the catalogue itself,
    for a decision that must not lag behind it.
    """
    if pizzeria is None or not lines:
        return CartSummary(pizzeria=None, lines=[], totals=order_totals(lines=[], delivery_fee=Decimal("0")))
    if cached:
        catalogue, levels = _catalogue_and_levels(pizzeria=pizzeria)
    else:
        catalogue = catalogue_for(
            pizzeria=pizzeria, product_ids=_line_product_ids(lines), formula_ids=_line_formula_ids(lines)
        )
        levels = stock_levels(pizzeria_id=pizzeria.pk)
    cart_lines = []
    for key, quantity in lines.items():
        configured = _configured_key(catalogue, key)
        if configured is not None:
            cart_lines.append(CartLine(key, configured, quantity, Availability(can_make=configured.can_make(levels))))
    order = {product_id: index for index, product_id in enumerate(catalogue.products)}
    # The menu's order, formulas last.
    cart_lines.sort(
        key=lambda line: order[line.line.product.pk] if isinstance(line.line, ConfiguredLine) else len(order)
    )
    priced = [part for line in cart_lines for part in line.priced]
    subtotal = sum((line.total for line in priced), Decimal("0"))
    fee = delivery_fee_for(pizzeria=pizzeria, delivery=delivery, subtotal=subtotal)
    return CartSummary(pizzeria=pizzeria, lines=cart_lines, totals=order_totals(lines=priced, delivery_fee=fee))


def _configured_key(catalogue: Catalogue, key: str) -> ConfiguredLine | ConfiguredFormula | None:
    """The line of a cart or order key as the catalogue sells it, or None when it no longer can."""
    try:
        if (formula := parse_formula_key(key)) is not None:
            return catalogue.configure_formula(formula_id=formula[0], choice_ids=formula[1])
        if (parsed := parse_line_key(key)) is not None:
            product_id, size_id, option_ids, half_id = parsed
            return catalogue.configure(product_id=product_id, size_id=size_id, option_ids=option_ids, half_id=half_id)
    except InvalidConfiguration:
        return None
    return None


def menu_formula(*, pizzeria: Pizzeria, formula_id: int, choice_ids) -> tuple[ConfiguredFormula, int | None]:
    """A formula as the menu's form asks it, checked and priced against the menu, and how many of it the
    stock allows now. Raises ``InvalidConfiguration``; its hours are checked when the order is placed."""
    menu = menu_for(pizzeria=pizzeria)
    chosen = menu.catalogue.configure_formula(formula_id=formula_id, choice_ids=choice_ids)
    return chosen, chosen.can_make(menu.levels)


def menu_line(
    *, pizzeria: Pizzeria, product_id: int, size_id: int | None, option_ids, half_id: int | None = None
) -> tuple[ConfiguredLine, int | None]:
    """A line as the configurator or the add button asks it, checked and priced against the menu, and
    how many of it the stock allows now (None: no recipe). Raises ``InvalidConfiguration``."""
    catalogue, levels = _catalogue_and_levels(pizzeria=pizzeria)
    line = catalogue.configure(product_id=product_id, size_id=size_id, option_ids=option_ids, half_id=half_id)
    if not catalogue.sellable(line.product):  # on the catalogue but not sellable here (all its sizes withdrawn)
        raise InvalidConfiguration(f"Ce produit n'est pas à la carte de {pizzeria.name}.")
    return line, line.can_make(levels)


@dataclass(frozen=True)
class Configurator:
    """The configurator of one product as the customer has set it so far.

    Sizes and options are offered for the size chosen: an option is disabled
    when the stock cannot make one more pizza of this configuration with it
    (a removal never is). ``line`` is None and ``error`` says why in French
    when the choice as it stands cannot be ordered (too many options, a
    withdrawn size...).
    """

    item: MenuItem
    halves: list[Product]  # the pizzas the second half may be
    half_id: int | None
    size_id: int | None
    option_ids: tuple[int, ...]
    sizes: list[SizeChoice]
    groups: list[GroupChoice]
    line: ConfiguredLine | None
    can_make: int | None
    allergens: list[str]
    error: str = ""

    @property
    def sold_out(self) -> bool:
        return self.can_make == 0

    @property
    def low(self) -> bool:
        return self.can_make is not None and 0 < self.can_make <= settings.OCPIZZA["LOW_AVAILABILITY"]


def menu_configurator(
    *,
    pizzeria: Pizzeria,
    product_id: int,
    size_id: int | None = None,
    option_ids: Iterable[int] | None = None,
    half_id: int | None = None,
) -> Configurator | None:
    """The configurator of a product of the pizzeria's menu (None when it is not on it), from the cached menu:
    no query when the menu is cached. Without options chosen, the product comes as the menu shows it."""
    menu = menu_for(pizzeria=pizzeria)
    item = menu.items.get(product_id)
    if item is None:
        return None
    catalogue, levels, product = menu.catalogue, menu.levels, item.product
    chosen = tuple(option_ids) if option_ids is not None else tuple(catalogue.default_options(product))
    sizes = catalogue.sizes(product)
    size = next((s for s in sizes if s.pk == size_id), sizes[0] if sizes else None)
    line, error = None, ""
    try:
        line = catalogue.configure(
            product_id=product_id, size_id=size.pk if size else None, option_ids=chosen, half_id=half_id
        )
    except InvalidConfiguration as refused:
        error = refused.message
    offered = catalogue.groups(product)
    every_option = [option for _group, options in offered for option in options]
    groups = []
    for group, options in offered:
        choices = []
        for option in options:
            with_it = [o for o in every_option if o.pk in chosen or o.pk == option.pk]
            recipe = catalogue.recipe(product, size, with_it, line.half if line is not None else None)
            available = group.kind == OptionGroup.REMOVE or all(
                levels.get(i, 0) >= quantity for i, quantity in recipe.items()
            )
            allergens = tuple(menu.allergens.get(option.ingredient_id, [])) if option.ingredient_id else ()
            choices.append(OptionChoice(option, catalogue.option_price(option), available, allergens))
        groups.append(GroupChoice(group=group, options=choices))
    halves = (
        [
            other.product
            for other in menu.items.values()
            if other.product.category == Product.PIZZA and other is not item
        ]
        if product.category == Product.PIZZA
        else []
    )
    return Configurator(
        item=item,
        halves=halves,
        half_id=half_id,
        size_id=size.pk if size else None,
        option_ids=chosen,
        sizes=item.sizes,
        groups=groups,
        line=line,
        can_make=line.can_make(levels) if line is not None else None,
        allergens=recipe_allergens(line.recipe, menu.allergens) if line is not None else item.allergens,
        error=error,
    )


def menu_line_allergens(*, pizzeria: Pizzeria, line: ConfiguredLine) -> list[str]:
    """The allergens of a configured line: its recipe's, a removed ingredient's gone, an extra's added."""
    return recipe_allergens(line.recipe, menu_for(pizzeria=pizzeria).allergens)


def line_check_available(*, line: ConfiguredLine | ConfiguredFormula, can_make: int | None, quantity: int) -> None:
    """Refuse, in the menu's own words (« épuisé », « plus que N »), more than the pizzeria can make now.

    Raises ``SoldOut``. Placing the order checks the stock again, behind its locks.
    """
    if can_make is not None and can_make < quantity:
        product = line.parts[0].product if isinstance(line, ConfiguredFormula) else line.product
        raise SoldOut([Shortage(product.pk, line.label, quantity, can_make)])


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
    priced = [part for line in cart.lines for part in line.priced]
    fee = cart.delivery_fee
    limit = settings.OCPIZZA["MEAL_VOUCHER_DAILY_LIMIT"]
    return CheckoutVoucherSplits(
        pickup=meal_voucher_split(lines=priced, delivery_fee=Decimal("0"), daily_limit=limit),
        delivery=meal_voucher_split(lines=priced, delivery_fee=fee, daily_limit=limit),
        limit=limit,
    )


def checkout_slots(*, pizzeria: Pizzeria, now: datetime.datetime | None = None) -> list[SlotRoom]:
    """Times offered for a later order: every quarter hour within opening hours, today and tomorrow,
    with the oven load already due in each (one query).

    A paused pizzeria only offers slots after its pause lead time.
    """
    now = timezone.localtime(now or timezone.now())
    lead = (
        SLOT_LEAD_MINUTES
        if not pizzeria.is_paused_at(now)
        else max(SLOT_LEAD_MINUTES, settings.OCPIZZA["PAUSE_LEAD_MINUTES"])
    )
    earliest = now + datetime.timedelta(minutes=lead)
    slots = []
    # From yesterday, whose opening may run past midnight into today.
    for offset in range(-1, SLOT_DAYS):
        day = now.date() + datetime.timedelta(days=offset)
        for hours in pizzeria_hours_on(pizzeria, day):
            start, end = timezone.localtime(hours.opens), hours.closes
            slot = start + datetime.timedelta(minutes=(-start.minute) % SLOT_MINUTES)
            while slot < end:
                if slot >= earliest:
                    slots.append(slot)
                slot += datetime.timedelta(minutes=SLOT_MINUTES)
    if not slots:
        return []
    slots.sort()
    loads = slot_loads(pizzeria_id=pizzeria.pk, start=slots[0], end=slots[-1] + SLOT)
    return [
        SlotRoom(at=slot, load=loads.get(slot, 0), capacity=slot_capacity(pizzeria=pizzeria, at=slot)) for slot in slots
    ]


def order_capacity_overridden(*, number: str) -> str | None:
    """What the staff were told when they took this order into a full slot (the event's note), or None."""
    return (
        OrderEvent.objects.filter(order__number=number, type=OrderEventType.CAPACITY_OVERRIDDEN)
        .values_list("note", flat=True)
        .first()
    )


def customer_for(*, user) -> Customer | None:
    return Customer.objects.filter(user_id=user.pk).first() if user.is_authenticated else None


def customer_has_phone(*, user) -> bool:
    return Customer.objects.filter(user=user).exclude(phone="").exists()


def customer_address(*, user, address_id: int) -> Address | None:
    """One address of the user's book, or None (someone else's looks the same)."""
    return Address.objects.filter(customer__user=user, pk=address_id).first()


def customer_order_history(*, user) -> QuerySet[Order]:
    """The user's orders, newest first, each with its pizzeria (no query per order)."""
    return Order.objects.filter(customer__user=user).select_related("pizzeria").order_by("-created_at", "-pk")


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
    # Seen through the order's signed link rather than by a signed-in person: changes are made with that link.
    by_link: bool = False

    @property
    def may_edit(self) -> bool:
        return self.order.state == OrderState.RECEIVED and self.role in EDITOR_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def order_for_viewer(*, number: str, user, token: str = "") -> OrderView | None:
    """The order if this person may see it: its owner, staff of its pizzeria, a manager,
    or anyone holding a valid signed link. None otherwise (the caller answers 404)."""
    order = Order.objects.select_related("pizzeria", "customer", "rider").filter(number=number).first()
    if order is None:
        return None
    owner_id = order.customer.user_id if order.customer is not None else None
    allowed, role = _viewer_role(
        number=number, pizzeria_id=order.pizzeria_id, owner_id=owner_id, user=user, token=token
    )
    if not allowed:
        return None
    by_link = role == Role.OWNER and owner_id is None
    return OrderView(order=order, role=role, by_link=by_link)


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


def order_live_version_at(*, order_id: int, updated_at: datetime.datetime) -> str:
    """The version of an order's live page (its stream's event id): its last change, ``order_event_record``."""
    return f"{order_id}-{updated_at.timestamp()}"


def order_live_version(*, order_id: int) -> str:
    """``order_live_version_at`` as the order stands now; empty when it is gone."""
    updated_at = Order.objects.filter(pk=order_id).values_list("updated_at", flat=True).first()
    return order_live_version_at(order_id=order_id, updated_at=updated_at) if updated_at is not None else ""


def guest_order_from_link(*, number: str, link: str) -> Order | None:
    """The order placed without an account that this signed link is for, or None: what a guest may turn into
    their account's first order."""
    if not link or order_number_from_token(link) != number:
        return None
    return Order.objects.filter(number=number, customer__isnull=True).first()


def order_view_at(*, version: OrderVersion) -> OrderView:
    """The whole order behind a version already checked for its viewer."""
    order = Order.objects.select_related("pizzeria", "customer", "rider").get(pk=version.pk)
    return OrderView(order=order, role=version.role, by_link=version.role == Role.OWNER and order.customer_id is None)


def _viewer_role(*, number: str, pizzeria_id: int, owner_id: int | None, user, token: str) -> tuple[bool, Role | None]:
    """Whether this viewer may see the order, and as whom: a guest with its signed link is the owner of an order
    placed without an account (``OrderView.by_link``), a mere viewer (None) of one placed with an account."""
    if user.is_authenticated:
        role = actor_role_for(pizzeria_id=pizzeria_id, owner_id=owner_id, user=user)
        if role == Role.OWNER or role in STAFF_ROLES:
            return True, role
    if token and order_number_from_token(token) == number:
        return True, Role.OWNER if owner_id is None else None
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


@dataclass(frozen=True)
class ProgressStage:
    """One step of an order's way to its customer, as the tracking page draws it."""

    label: str
    at: datetime.datetime | None  # when it was reached; None while ahead
    current: bool


# The steps a customer follows, by fulfilment; each is reached when the order first moves to its state.
PROGRESS_STEPS = {
    Fulfilment.DELIVERY: [
        (OrderState.RECEIVED, "Reçue"),
        (OrderState.PREPARING, "Au four"),
        (OrderState.READY, "Prête"),
        (OrderState.OUT_FOR_DELIVERY, "En route"),
        (OrderState.COMPLETED, "Livrée"),
    ],
    Fulfilment.PICKUP: [
        (OrderState.RECEIVED, "Reçue"),
        (OrderState.PREPARING, "Au four"),
        (OrderState.READY, "Prête à retirer"),
        (OrderState.COMPLETED, "Retirée"),
    ],
}


def order_cancellation_told(*, order: Order, events: Iterable[OrderEvent], to_customer: bool) -> str:
    """Why a cancelled order was cancelled, in one sentence for its viewer.

    The customer reads what happened and his own words when he cancelled;
    the staff read the motive and whatever note the cancel carries.
    """
    cancel = next((event for event in reversed(list(events)) if event.to_state == OrderState.CANCELLED), None)
    note = cancel.note if cancel is not None else ""
    if to_customer:
        told = f"Annulée {CANCELLED_WHY_TO_CUSTOMER.get(order.cancel_reason, '')}".rstrip()
        said = note if cancel is not None and cancel.params.get("cancelled_by") == Role.OWNER else ""
    else:
        told = f"Motif : {order.get_cancel_reason_display()}"
        said = "" if note == order.get_cancel_reason_display() else note
    return f"{told} (« {said} »)." if said else f"{told}."


def order_progress(*, order: Order, events: Iterable[OrderEvent]) -> list[ProgressStage]:
    """The order's steps with the time each was reached (from its history), the one it is at marked current;
    none for an order cancelled or still waiting for its payment."""
    steps = PROGRESS_STEPS[Fulfilment(order.fulfilment)]
    states: list[str] = [state for state, _label in steps]
    if order.state not in states:
        return []
    reached: dict[str, datetime.datetime] = {}
    for event in events:
        if event.type in STATE_EVENT_TYPES and event.to_state in states:
            reached.setdefault(event.to_state, event.at)
    position = states.index(order.state)
    return [
        ProgressStage(label=label, at=reached.get(state) if index <= position else None, current=index == position)
        for index, (state, label) in enumerate(steps)
    ]


def order_totals_of(*, order: Order, lines: list[OrderLine]) -> Totals:
    """VAT rows of a placed order, from its snapshotted lines."""
    priced = [PricedLine(line.unit_price, line.quantity, line.vat_rate) for line in lines]
    return order_totals(lines=priced, delivery_fee=order.delivery_fee)


def order_line_key(line: OrderLine) -> str:
    """The cart key of an order line: its product, size and options as chosen."""
    return line_key(line.product_id, line.size_id, line.option_ids, line.half_product_id)


def order_line_groups(lines: Iterable[OrderLine]) -> list[tuple[str, list[OrderLine]]]:
    """The order's lines by what was asked: (its cart key, [the line]) for a product, (the formula's key,
    [its parts]) for a formula, in the order's order."""
    groups: list[tuple[str, list[OrderLine]]] = []
    formulas: dict[int, list[OrderLine]] = {}
    for line in lines:
        if not line.formula:
            groups.append((order_line_key(line), [line]))
        elif line.formula["group"] in formulas:
            formulas[line.formula["group"]].append(line)
        else:
            formulas[line.formula["group"]] = [line]
            groups.append(("", formulas[line.formula["group"]]))
    return [
        (key or formula_key(parts[0].formula["id"], [part.formula["choice"] for part in parts]), parts)
        for key, parts in groups
    ]


def order_history_lines(*, order: Order) -> dict[str, int]:
    """{line key: quantity} of an order, options and formulas kept, to fill a cart or an edit form again."""
    history: dict[str, int] = {}
    for key, parts in order_line_groups(order.lines.all()):
        history[key] = history.get(key, 0) + parts[0].quantity
    return history


def _group_label(parts: list[OrderLine]) -> str:
    if parts[0].formula:
        return f"{parts[0].formula['name']} ({', '.join(part.product_name for part in parts)})"
    return parts[0].label


@dataclass(frozen=True)
class EditRow:
    """A line the order edit page offers: one of the order's own, options kept, or a menu product as it comes.

    ``can_make``: how many more of it the stock allows on top of what the order holds (None: no limit);
    ``quantity``: how many the order has; ``name`` and ``details``: what its card says (its product or
    formula, then its options or its formula's parts); ``product``: whose picture it shows;
    ``item``: the menu's own card of a product as it comes; ``sellable``: False for a line the pizzeria no
    longer sells so, which can only be removed.
    """

    key: str
    label: str
    unit_price: Decimal
    can_make: int | None
    quantity: int = 0
    name: str = ""
    details: str = ""
    product: Product | None = None
    item: MenuItem | None = None
    sellable: bool = True

    @property
    def most(self) -> int | None:
        """The most of it the order can have, or None when the stock sets no limit."""
        return None if self.can_make is None else self.quantity + self.can_make


@dataclass(frozen=True)
class EditSection:
    """A category of the menu as the edit page offers it: the products the pizzeria can still make."""

    label: str
    rows: list[EditRow]


@dataclass(frozen=True)
class OrderEditChoices:
    """What the edit page of an order works with: every row it may hold (``rows``: the order's lines, then the
    menu's products as they come), and the menu's cards of what can be added, by category (``sections``)."""

    rows: list[EditRow]
    sections: list[EditSection]


def _order_row(menu: Menu, key: str, parts: list[OrderLine]) -> EditRow:
    configured = _configured_key(menu.catalogue, key)
    quantity = parts[0].quantity
    if configured is None:
        price = sum((part.unit_price for part in parts), Decimal("0"))
        label = _group_label(parts)
        return EditRow(key, f"{label} — plus proposée ainsi", price, 0, quantity, name=label, sellable=False)
    if isinstance(configured, ConfiguredFormula):
        name, product = configured.formula.name, configured.parts[0].product
    else:
        name, product = configured.product.name, configured.product
    can_make = configured.can_make(menu.levels)
    return EditRow(
        key, configured.label, configured.unit_price, can_make, quantity, name, configured.description, product
    )


def order_edit_choices(*, order: Order) -> OrderEditChoices:
    """The order's lines as configured, priced today, then the rest of the menu at its default options, and the
    menu's cards of what the pizzeria can still make, from the cached menu."""
    menu = menu_for(pizzeria=order.pizzeria)
    rows = [_order_row(menu, key, parts) for key, parts in order_line_groups(order.lines.all())]
    index = {row.key: position for position, row in enumerate(rows)}
    sections = []
    for section in menu.sections:
        offered = []
        for item in section.items:
            base = menu.catalogue.configure(
                product_id=item.product.pk, option_ids=menu.catalogue.default_options(item.product)
            )
            if base.key in index:  # on the order as it comes: its card adds one more to that line
                row = rows[index[base.key]] = replace(rows[index[base.key]], item=item)
            else:
                row = EditRow(
                    base.key,
                    base.label,
                    base.unit_price,
                    item.availability.can_make,
                    name=item.product.name,
                    details=base.description,
                    product=item.product,
                    item=item,
                )
                index[base.key] = len(rows)
                rows.append(row)
            if not item.sold_out:
                offered.append(row)
        if offered:
            sections.append(EditSection(section.label, offered))
    return OrderEditChoices(rows=rows, sections=sections)


@dataclass(frozen=True)
class Reorder:
    """What a past order can fill a cart with now.

    ``lines``: {line key: quantity}, each cut down to what can be made;
    ``missing``: in French, the lines that cannot be had in full, or not as configured.
    """

    lines: dict[str, int]
    missing: list[str]


def order_reorder(*, order: Order, pizzeria: Pizzeria) -> Reorder:
    """A past order as it can be ordered again at ``pizzeria`` now: its lines with their options, when
    the pizzeria still sells them so (product, size and options not withdrawn), within stock.
    The cart prices them at today's prices."""
    wanted = order_lines(order=order)
    catalogue = catalogue_for(
        pizzeria=pizzeria,
        product_ids={i for line in wanted for i in (line.product_id, line.half_product_id) if i is not None},
        formula_ids={line.formula["id"] for line in wanted if line.formula},
    )
    levels = stock_levels(pizzeria_id=pizzeria.pk)
    lines: dict[str, int] = {}
    missing: list[str] = []
    for key, parts in order_line_groups(wanted):
        label, quantity = _group_label(parts), parts[0].quantity
        configured = _configured_key(catalogue, key)
        if configured is None:
            missing.append(f"{label} (plus proposée ainsi)")
            continue
        can_make = configured.can_make(levels)
        if can_make is not None and can_make < quantity:
            missing.append(f"{label} (plus que {can_make})" if can_make else f"{label} (épuisé)")
        if can_make is None or can_make > 0:
            key = configured.key
            lines[key] = lines.get(key, 0) + (quantity if can_make is None else min(quantity, can_make))
    return Reorder(lines=lines, missing=missing)


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


# --- Staff screens ---------------------------------------------------------------
# The orders of the kitchen, rider, counter and managers' screens. Every read is
# scoped to a pizzeria here, so that a view cannot list or fetch another
# pizzeria's orders by mistake; the screens themselves live in ``production``.

KITCHEN_STATES = [OrderState.RECEIVED, OrderState.PREPARING, OrderState.READY]
COOKING_STATES = [OrderState.RECEIVED, OrderState.PREPARING]
# A card turns amber this long before its due time, and red once it is past.
LATE_WARNING = datetime.timedelta(minutes=5)
UNDO_TARGET = dict(UNDO_TRANSITIONS.keys())


def _lines_prefetch() -> Prefetch:
    # Ordered by its own key: the model's default ordering ("order") would join every line to its order.
    # Prices and the alcohol flag: what meal vouchers may pay, on the rider's and the counter's cards.
    lines = (
        OrderLine.objects.select_related("product")
        .only(
            "pk",
            "order_id",
            "product__contains_alcohol",
            "product_name",
            "description",
            "allergens",
            "quantity",
            "unit_price",
            "vat_rate",
            "formula",
        )
        .order_by("pk")
    )
    return Prefetch("lines", queryset=lines)


def pizzeria_orders(*, pizzeria: Pizzeria) -> QuerySet[Order]:
    """Every order of one pizzeria, lines prefetched: the base of the staff screens."""
    return Order.objects.filter(pizzeria=pizzeria).prefetch_related(_lines_prefetch())


def pizzeria_has_order(*, pizzeria: Pizzeria, order_id: int) -> bool:
    return Order.objects.filter(pizzeria=pizzeria, pk=order_id).exists()


def order_fires_later(*, pizzeria: Pizzeria, order_id: int, now: datetime.datetime) -> datetime.datetime | None:
    """The fire time of an order still waiting in « À venir » at ``now``, else None."""
    return (
        Order.objects.filter(pizzeria=pizzeria, pk=order_id, state=OrderState.RECEIVED, fire_at__gt=now)
        .values_list("fire_at", flat=True)
        .first()
    )


def order_undo_target(*, pizzeria: Pizzeria, order_id: int) -> str:
    """The state a kitchen tap on this order would go back to (its own state when there is none)."""
    state = Order.objects.filter(pizzeria=pizzeria).values_list("state", flat=True).get(pk=order_id)
    return UNDO_TARGET.get(state, state)


def order_line_of(*, pizzeria: Pizzeria, line_id: int) -> OrderLine | None:
    """One line of an order of this pizzeria (its recipe memo), or None."""
    return OrderLine.objects.filter(order__pizzeria=pizzeria, pk=line_id).select_related("order", "size").first()


def order_due_at(order: Order) -> datetime.datetime | None:
    return order.estimated_ready_at or order.requested_for


def order_lateness(order: Order, *, now: datetime.datetime) -> str:
    """How late an order still in the kitchen runs: "late", "soon" or ""."""
    due = order_due_at(order)
    if order.state not in COOKING_STATES or due is None:
        return ""
    if now > due:
        return "late"
    return "soon" if now >= due - LATE_WARNING else ""


@dataclass(frozen=True)
class OrderTicket:
    """An order of the pizzeria as its printed ticket shows it."""

    order: Order
    due_at: datetime.datetime | None


def order_ticket(*, pizzeria: Pizzeria, order_id: int) -> OrderTicket | None:
    order = pizzeria_orders(pizzeria=pizzeria).filter(pk=order_id).first()
    return None if order is None else OrderTicket(order=order, due_at=order_due_at(order))


@dataclass(frozen=True)
class KitchenCard:
    """An order on the kitchen display.

    ``undo_to``: the state its last tap came from, while that tap may still be
    taken back (until ``undo_until``); "" otherwise.
    """

    order: Order
    due_at: datetime.datetime | None
    lateness: str
    undo_to: str = ""
    undo_until: datetime.datetime | None = None
    fire_at: datetime.datetime | None = None


# The lane of scheduled orders not yet due in the oven: each joins the queue at its fire time.
UPCOMING = "upcoming"


@dataclass(frozen=True)
class KitchenColumn:
    state: str
    label: str
    cards: list[KitchenCard]


def kitchen_columns(*, pizzeria: Pizzeria, now: datetime.datetime) -> list[KitchenColumn]:
    """The kitchen display, in two queries: « À venir » (scheduled orders before their fire time,
    by fire time), then the three columns of the kitchen's states, the queue by fire time or,
    for an order for now, by arrival."""
    recent = (
        # A payment or refund event leaves the last kitchen tap undoable: only state moves count here.
        OrderEvent.objects.filter(at__gte=now - UNDO_WINDOW, type__in=STATE_EVENT_TYPES)
        .order_by("at", "pk")
        .only("pk", "order_id", "from_state", "to_state", "at")
    )
    orders = (
        pizzeria_orders(pizzeria=pizzeria)
        .filter(state__in=KITCHEN_STATES)
        .prefetch_related(Prefetch("events", queryset=recent, to_attr="recent_events"))
        .order_by("created_at", "pk")
    )
    cards: dict[str, list[KitchenCard]] = {state: [] for state in [UPCOMING, *KITCHEN_STATES]}
    for order in orders:
        waiting = order.state == OrderState.RECEIVED and order.fire_at is not None and order.fire_at > now
        last = order.recent_events[-1] if order.recent_events else None
        undo = last is not None and last.to_state == order.state and (order.state, last.from_state) in UNDO_TRANSITIONS
        cards[UPCOMING if waiting else order.state].append(
            KitchenCard(
                order=order,
                due_at=order_due_at(order),
                lateness="" if waiting else order_lateness(order, now=now),
                undo_to=last.from_state if undo and last else "",
                undo_until=last.at + UNDO_WINDOW if undo and last else None,
                fire_at=order.fire_at,
            )
        )
    for state in (UPCOMING, OrderState.RECEIVED):
        cards[state].sort(key=lambda card: card.order.fire_at or card.order.created_at)
    return [
        KitchenColumn(state=UPCOMING, label="à venir", cards=cards[UPCOMING]),
        *(KitchenColumn(state=state, label=OrderState(state).label, cards=cards[state]) for state in KITCHEN_STATES),
    ]


KITCHEN_SLOTS_SHOWN = 4


def kitchen_next_slots(*, pizzeria: Pizzeria, now: datetime.datetime) -> list[SlotRoom]:
    """The slot under way and the next ones, with the oven load due in each (one query)."""
    first = slot_start(now)
    loads = slot_loads(pizzeria_id=pizzeria.pk, start=first, end=first + KITCHEN_SLOTS_SHOWN * SLOT)
    slots = [first + index * SLOT for index in range(KITCHEN_SLOTS_SHOWN)]
    return [SlotRoom(at=at, load=loads.get(at, 0), capacity=slot_capacity(pizzeria=pizzeria, at=at)) for at in slots]


# In SQL: every kitchen screen asks for it every 4 s, and the ORM takes ten
# times longer to build this query than the database takes to answer it.
_COOKING = ", ".join(["%s"] * len(COOKING_STATES))
_KITCHEN_FINGERPRINT_SQL = f"""
    SELECT COUNT(DISTINCT o.id), MAX(o.updated_at), SUM(e.id),
        COUNT(DISTINCT CASE WHEN o.state IN ({_COOKING}) AND COALESCE(o.estimated_ready_at, o.requested_for) <= %s
                            THEN o.id END),
        COUNT(DISTINCT CASE WHEN o.state IN ({_COOKING}) AND COALESCE(o.estimated_ready_at, o.requested_for) < %s
                            THEN o.id END),
        COUNT(CASE WHEN e.at >= %s THEN e.id END),
        COUNT(DISTINCT CASE WHEN o.fire_at <= %s THEN o.id END)
    FROM {Order._meta.db_table} o
    LEFT JOIN {OrderEvent._meta.db_table} e ON e.order_id = o.id
    WHERE o.pizzeria_id = %s AND o.state IN ({", ".join(["%s"] * len(KITCHEN_STATES))})
"""


def kitchen_fingerprint(*, pizzeria_id: int, now: datetime.datetime) -> str:
    """The ETag of the kitchen display at ``now``, in one query.

    Its orders: each one placed, moved or edited writes a history row, whose
    number the database gives, so their sum moves with every change, whatever
    the order in which transactions commit and whatever the clocks of the
    servers that made them; an order leaving the kitchen lowers the count, and
    any other save of an order moves the latest ``updated_at``.
    The clock: cards turn amber then red (``order_lateness``), undo buttons
    expire, scheduled orders leave « À venir » at their fire time
    (``kitchen_columns``) and the slots shown move on each quarter hour
    (``kitchen_next_slots``: the slot under way is in the fingerprint). Without a change to the orders each of these
    only goes one way, so counting the cards past each threshold and the taps
    still undoable is enough.
    """
    at = connection.ops.adapt_datetimefield_value
    params = [
        *COOKING_STATES,
        at(now + LATE_WARNING),
        *COOKING_STATES,
        at(now),
        at(now - UNDO_WINDOW),
        at(now),
        pizzeria_id,
        *KITCHEN_STATES,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_KITCHEN_FINGERPRINT_SQL, params)
        count, last, history, soon, late, undoable, fired = cursor.fetchone()
    stamp = str(last).replace(" ", "T")  # a datetime, or SQLite's text of one: never a space in an ETag
    slot = slot_start(now).strftime("%H%M")
    return f'"kitchen-{pizzeria_id}-{count}-{stamp}-{history}-{soon}-{late}-{undoable}-{fired}-{slot}"'


def rider_orders(*, pizzeria: Pizzeria, member: StaffMember) -> dict[str, list]:
    """Ready deliveries anyone may take, and the ones on the road (a rider sees only his own)."""
    on_road = Q(state=OrderState.OUT_FOR_DELIVERY)
    if member.role != StaffMember.MANAGER:
        on_road &= Q(rider_id=member.user_id)
    orders = (
        pizzeria_orders(pizzeria=pizzeria)
        .filter(Q(state=OrderState.READY) | on_road, fulfilment=Fulfilment.DELIVERY)
        .select_related("rider")
        .order_by("estimated_ready_at", "created_at", "pk")
    )
    lists: dict[str, list] = {"ready": [], "out_for_delivery": []}
    for order in orders:
        lists[order.state].append(order)
    return lists


def counter_orders(*, pizzeria: Pizzeria) -> list:
    return list(
        pizzeria_orders(pizzeria=pizzeria)
        .filter(state=OrderState.READY, fulfilment=Fulfilment.PICKUP)
        .order_by("estimated_ready_at", "created_at", "pk")
    )


def orders_fingerprint(*, pizzeria_id: int | None = None, extra: str = "") -> str:
    """The ETag of a live screen, in one query.

    Every state change saves its order (``updated_at``) and every new order adds
    a row, so the latest change and the count of recent orders move whenever
    a screen would change; ``extra`` carries what else the screen shows.
    """
    orders = Order.objects.filter(updated_at__gte=timezone.now() - datetime.timedelta(days=1))
    if pizzeria_id is not None:
        orders = orders.filter(pizzeria_id=pizzeria_id)
    # COUNT(*), not of a column: the index on updated_at answers alone.
    summary = orders.aggregate(last=Max("updated_at"), count=Count("*"))
    stamp = summary["last"].timestamp() if summary["last"] else 0
    return f'"{pizzeria_id or "all"}-{stamp}-{summary["count"]}-{extra}"'


@dataclass
class PizzeriaSummary:
    pizzeria: Pizzeria
    by_state: dict[str, int] = field(default_factory=dict)
    late: list[Order] = field(default_factory=list)
    today_count: int = 0
    today_takings: Decimal = Decimal("0")
    kitchen_minutes: float | None = None
    oven_minutes: float | None = None
    low_stock: list[Stock] = field(default_factory=list)

    @property
    def state_counts(self) -> list[tuple[str, int]]:
        return [(label, self.by_state[value]) for value, label in OrderState.choices if value in self.by_state]


def _average_minutes(seconds: float, orders: int) -> float | None:
    return round(seconds / orders / 60, 1) if orders else None


def dashboard_summaries(*, now: datetime.datetime) -> list[PizzeriaSummary]:
    """Every active pizzeria's day at a glance, in a fixed number of queries."""
    today = timezone.localdate(now)
    # Refunds the managers must look at, counted in the same query as the pizzerias.
    stuck = (
        Refund.objects.filter(REFUND_NEEDS_MANAGER, order__pizzeria=OuterRef("pk"))
        .order_by()
        .values("order__pizzeria")
        .annotate(count=Count("pk"))
        .values("count")
    )
    # And the customers' messages given up lately: someone should phone those customers.
    failed = (
        Notification.objects.filter(
            status=Notification.Status.FAILED,
            created_at__gte=now - FAILED_NOTIFICATIONS_SHOWN,
            order__pizzeria=OuterRef("pk"),
        )
        .order_by()
        .values("order__pizzeria")
        .annotate(count=Count("pk"))
        .values("count")
    )
    pizzerias = Pizzeria.objects.filter(is_active=True).annotate(
        stuck_refunds=Coalesce(Subquery(stuck), 0), failed_notifications=Coalesce(Subquery(failed), 0)
    )
    summaries = {p.pk: PizzeriaSummary(pizzeria=p) for p in pizzerias}
    # The orders still under way from another day, by state (few: the rest of the board is today's).
    for pizzeria_id, state, count in (
        Order.objects.filter(state__in=[*KITCHEN_STATES, OrderState.OUT_FOR_DELIVERY, OrderState.PENDING_PAYMENT])
        .exclude(business_date=today)
        .values_list("pizzeria_id", "state")
        .annotate(count=Count("*"))
        .order_by()
    ):
        if pizzeria_id in summaries:
            summaries[pizzeria_id].by_state[state] = count
    late = (
        _late_orders(now=now)
        .filter(pizzeria_id__in=summaries)
        .order_by(Coalesce("estimated_ready_at", "requested_for"))
        .only("pk", "pizzeria_id", "number", "daily_sequence", "state", "estimated_ready_at", "requested_for")
    )
    for order in late:
        summaries[order.pizzeria_id].late.append(order)
    # The day's orders by state, takings, kitchen and oven times, in one pass read from the index alone
    # (order_day_board_idx, no list of pizzerias: an inactive one's rows are left out here); the times are those
    # each order kept when it became ready (ventes.workflow).
    kitchen: dict[int, list[float]] = {}
    oven: dict[int, list[float]] = {}
    for pizzeria_id, state, count, takings, kitchen_total, kitchen_count, oven_total, oven_count in (
        Order.objects.filter(business_date=today)
        .values_list("pizzeria_id", "state")
        .annotate(
            count=Count("*"),
            takings=Sum("total", filter=Q(payment_state=PaymentState.PAID)),
            kitchen_total=Sum("kitchen_seconds"),
            kitchen_count=Count("kitchen_seconds"),
            oven_total=Sum("oven_seconds"),
            oven_count=Count("oven_seconds"),
        )
        .order_by()
    ):
        summary = summaries.get(pizzeria_id)
        if summary is None:
            continue
        summary.by_state[state] = summary.by_state.get(state, 0) + count
        if state not in (OrderState.CANCELLED, OrderState.PENDING_PAYMENT):
            summary.today_count += count
            summary.today_takings += takings or Decimal("0")
        for times, seconds, orders in ((kitchen, kitchen_total, kitchen_count), (oven, oven_total, oven_count)):
            total = times.setdefault(pizzeria_id, [0.0, 0])
            total[0] += seconds or 0.0
            total[1] += orders
    for pizzeria_id, summary in summaries.items():
        summary.kitchen_minutes = _average_minutes(*kitchen.get(pizzeria_id, (0.0, 0)))
        summary.oven_minutes = _average_minutes(*oven.get(pizzeria_id, (0.0, 0)))
    for line in stock_low_lines(pizzeria_ids=summaries):
        summaries[line.pizzeria_id].low_stock.append(line)
    return list(summaries.values())


def _late_orders(*, now: datetime.datetime) -> QuerySet[Order]:
    return (
        Order.objects.filter(state__in=COOKING_STATES, pizzeria__is_active=True)
        .annotate(due=Coalesce("estimated_ready_at", "requested_for"))
        .filter(due__lt=now)
    )


def dashboard_fingerprint(*, now: datetime.datetime) -> str:
    """What the dashboard shows changes with orders, stock, pauses, and the clock.

    The clock only matters through orders turning late: without any change to
    them, the number of late orders can only grow, so it is enough to count them.
    """
    last_move = stock_last_movement_at()
    flags = pizzerias_accepting_flags(now=now)
    late = _late_orders(now=now).count()
    return orders_fingerprint(extra=f"{last_move.timestamp() if last_move else 0}-{flags}-{late}")


def refunds_still_owed(*, refund_ids: list[int]) -> bool:
    """Whether any of these refunds is still waiting for Stripe."""
    return Refund.objects.filter(pk__in=refund_ids, state=Refund.State.PENDING).exists()


def refunds_needing_attention() -> list[Refund]:
    """Refunds the managers were told about: still failing after several tries, or refused by the card's bank."""
    return list(
        Refund.objects.filter(REFUND_NEEDS_MANAGER).select_related("order__pizzeria").order_by("created_at", "pk")
    )


# --- Customer notifications ----------------------------------------------------------


@dataclass(frozen=True)
class NotificationLine:
    """One message to a customer as the staff see it: what it announced, how, and how it went."""

    order_number: str
    pizzeria: str
    state: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str
    at: datetime.datetime
    sent: bool
    failed: bool


def _notification_line(notification: Notification) -> NotificationLine:
    return NotificationLine(
        order_number=notification.order.number,
        pizzeria=notification.order.pizzeria.name,
        state=notification.get_state_display(),
        channel=notification.get_channel_display(),
        recipient=notification.recipient,
        status=notification.get_status_display(),
        attempts=notification.attempts,
        last_error=notification.last_error,
        at=notification.sent_at or notification.created_at,
        sent=notification.status == Notification.Status.SENT,
        failed=notification.status == Notification.Status.FAILED,
    )


def order_notification_log(*, order: Order) -> list[NotificationLine]:
    """The messages sent, waiting or failed about this order, oldest first, in one query."""
    notifications = Notification.objects.filter(order=order).select_related("order__pizzeria")
    return [_notification_line(notification) for notification in notifications.order_by("created_at", "pk")]


# Failed customer messages stay on the managers' dashboard this long: past it, calling the customer is too late.
FAILED_NOTIFICATIONS_SHOWN = datetime.timedelta(days=2)


def notifications_failed(*, now: datetime.datetime, limit: int = 50) -> list[NotificationLine]:
    """Messages given up lately, newest first, every pizzeria: the customers the managers should call."""
    failed = Notification.objects.filter(
        status=Notification.Status.FAILED, created_at__gte=now - FAILED_NOTIFICATIONS_SHOWN
    )
    return [_notification_line(n) for n in failed.select_related("order__pizzeria").order_by("-created_at")[:limit]]


# --- Stock held by orders ------------------------------------------------------------
# Here rather than with the stock: which orders still hold their stock is the order workflow's to say.


@dataclass(frozen=True)
class LedgerDrift:
    """A stock line whose figures its ledger does not explain."""

    stock_id: int
    pizzeria_id: int
    pizzeria: str
    ingredient: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    open_reservations: int
    held_by_closed_orders: int

    def __str__(self) -> str:
        parts = []
        if self.on_hand != self.ledger_on_hand:
            parts.append(
                f"en stock {self.on_hand}, registre {self.ledger_on_hand} ({self.on_hand - self.ledger_on_hand:+d})"
            )
        if self.reserved != self.open_reservations:
            parts.append(
                f"réservé {self.reserved}, commandes en attente {self.open_reservations} "
                f"({self.reserved - self.open_reservations:+d})"
            )
        if self.held_by_closed_orders:
            parts.append(f"{self.held_by_closed_orders} encore tenus par des commandes lancées ou annulées")
        return f"{self.pizzeria} — {self.ingredient} (ligne {self.stock_id}) : " + " ; ".join(parts)


def stock_check_ledger(*, pizzeria_id: int | None = None) -> list[LedgerDrift]:
    """Every stock line whose figures drift from its ledger, in one query.

    On hand must be the sum of the line's movements' on-hand deltas; reserved
    the sum of what the orders still waiting (awaiting payment or received)
    hold, i.e. their reservations less their releases and consumptions; and
    an order in the oven, past it or cancelled holds nothing.
    """
    waiting = Q(movements__order__state__in=STOCK_HELD_STATES)
    moved_on = Q(movements__order__state__in=[state for state in OrderState.values if state not in STOCK_HELD_STATES])
    lines = (
        Stock.objects.annotate(
            ledger_on_hand=Coalesce(Sum("movements__on_hand_delta"), 0),
            open_reservations=Coalesce(Sum("movements__reserved_delta", filter=waiting), 0),
            held_by_closed=Coalesce(Sum("movements__reserved_delta", filter=moved_on), 0),
        )
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(reserved=F("open_reservations")) | ~Q(held_by_closed=0))
        .values_list(
            "pk",
            "pizzeria_id",
            "pizzeria__name",
            "ingredient__name",
            "on_hand",
            "ledger_on_hand",
            "reserved",
            "open_reservations",
            "held_by_closed",
        )
        .order_by("pizzeria__name", "ingredient__name")
    )
    if pizzeria_id is not None:
        lines = lines.filter(pizzeria_id=pizzeria_id)
    return [LedgerDrift(*row) for row in lines]
