"""Writes of the shop: placing, editing and expiring orders.

Web, phone and counter orders all come through ``order_place``; states only
move through ``ventes.workflow.order_transition``.
"""

import datetime
import secrets
from collections import defaultdict
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ocpizzapp.live import live_notify
from production.exceptions import InvalidConfiguration, NotEnoughStock, Shortage, SoldOut
from production.models import Pizzeria
from production.selectors import (
    ConfiguredLine,
    formula_hours,
    formula_key,
    formula_served_at,
    line_key,
    parse_formula_key,
    parse_line_key,
    pizzeria_business_day,
    pizzeria_closes_at,
    pizzeria_is_open,
    recipe_allergens,
)
from production.services import stock_reserved_for_order, stock_set_order_needs

from . import notifications, sms
from .capacity import SLOT, SlotRoom, first_slot_with_room, oven_load_of, slot_capacity, slot_room, slot_start
from .estimates import order_delivery_duration, order_estimate_ready_at, order_fire_at
from .events import money, order_event_record
from .exceptions import (
    CartLimitReached,
    IllegalTransition,
    InvalidOrder,
    OrderNotEditable,
    PizzeriaUnavailable,
    SlotFull,
    TransitionForbidden,
    UnknownAddress,
)
from .geo import GeoError, delivery_zone_check
from .models import (
    Address,
    CancelReason,
    Channel,
    ConsentPurpose,
    ConsentRecord,
    Customer,
    Fulfilment,
    Order,
    OrderEventType,
    OrderLine,
    OrderState,
    PaymentMethod,
    PaymentState,
)
from .pricing import PricedLine, delivery_fee_for, order_totals
from .selectors import allergens_current, catalogue_current
from .tracking import order_number_from_token
from .workflow import Role, actor_role, order_lock, order_transition

EDITOR_ROLES = {Role.OWNER, Role.COUNTER, Role.MANAGER}
MAX_DAYS_AHEAD = 7


@dataclass(frozen=True)
class LineRequest:
    """A line as asked: a product, in a size (its first one here when None), with options (ids)."""

    product_id: int
    quantity: int
    # Keyword-only: nothing else, a price least of all, may slip in by position.
    size_id: int | None = field(default=None, kw_only=True)
    option_ids: tuple[int, ...] = field(default=(), kw_only=True)
    half_id: int | None = field(default=None, kw_only=True)  # the second half's pizza, for a half-and-half

    @property
    def key(self) -> str:
        return line_key(self.product_id, self.size_id, self.option_ids, self.half_id)


@dataclass(frozen=True)
class FormulaRequest:
    """A formula as asked: its id, how many, and the ``FormulaChoice`` taken in each of its slots."""

    formula_id: int
    quantity: int
    choice_ids: tuple[int, ...] = field(default=(), kw_only=True)

    @property
    def key(self) -> str:
        return formula_key(self.formula_id, self.choice_ids)


AnyLineRequest = LineRequest | FormulaRequest


def line_request_of(key: str, quantity: int) -> AnyLineRequest | None:
    """The request of a cart or form line key (``line_key`` or ``formula_key``), or None when it is neither."""
    if (formula := parse_formula_key(key)) is not None:
        return FormulaRequest(formula[0], quantity, choice_ids=formula[1])
    if (parsed := parse_line_key(key)) is not None:
        product_id, size_id, option_ids, half_id = parsed
        return LineRequest(product_id, quantity, size_id=size_id, option_ids=option_ids, half_id=half_id)
    return None


@dataclass(frozen=True)
class DeliveryAddress:
    line: str
    postcode: str
    city: str = "Paris"
    instructions: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean_lines(lines: Sequence[AnyLineRequest]) -> list[AnyLineRequest]:
    """The lines, equal configurations merged, or InvalidOrder with a French message."""
    limits = settings.OCPIZZA
    if not lines:
        raise InvalidOrder("Votre commande est vide.", field="lines")
    if len(lines) > limits["MAX_ORDER_LINES"]:
        raise InvalidOrder(f"Une commande compte au plus {limits['MAX_ORDER_LINES']} lignes.", field="lines")
    merged: dict[str, AnyLineRequest] = {}
    for line in lines:
        if isinstance(line, FormulaRequest):
            if not _is_id(line.formula_id) or not all(_is_id(c) for c in line.choice_ids):
                raise InvalidOrder("Formule inconnue.", field="lines")
        elif not _is_id(line.product_id):
            raise InvalidOrder("Produit inconnu.", field="lines")
        elif any(i is not None and not _is_id(i) for i in (line.size_id, line.half_id)) or not all(
            _is_id(o) for o in line.option_ids
        ):
            raise InvalidOrder("Option inconnue.", field="lines")
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
            raise InvalidOrder("Chaque quantité doit être un nombre entier d'au moins 1.", field="lines")
        same = merged.get(line.key)
        merged[line.key] = replace(line, quantity=line.quantity + (same.quantity if same else 0))
    if any(line.quantity > limits["MAX_LINE_QUANTITY"] for line in merged.values()):
        raise InvalidOrder(f"Au plus {limits['MAX_LINE_QUANTITY']} exemplaires d'un même produit.", field="lines")
    return list(merged.values())


def cart_check_add(*, lines: Mapping[str, int], key: str, quantity: int) -> None:
    """``CartLimitReached`` unless a cart holding ``lines`` ({line key: quantity}) may take
    ``quantity`` more of a line: the limits of one order, said when adding rather than at checkout."""
    limits = settings.OCPIZZA
    if lines.get(key, 0) + quantity > limits["MAX_LINE_QUANTITY"]:
        raise CartLimitReached(f"Au plus {limits['MAX_LINE_QUANTITY']} exemplaires d'un même produit.", field="lines")
    if key not in lines and len(lines) >= limits["MAX_ORDER_LINES"]:
        raise CartLimitReached(field="lines")


@dataclass(frozen=True)
class _Wanted:
    """A configured line and how many of it; for a part of a formula, what the line keeps of it
    (``OrderLine.formula``)."""

    line: ConfiguredLine
    quantity: int
    formula: dict[str, Any] = field(default_factory=dict)


def _configured(*, pizzeria: Pizzeria, lines: Sequence[AnyLineRequest], at: datetime.datetime) -> list[_Wanted]:
    """Each line checked against the pizzeria's menu and priced there, in the menu's order, then the parts
    of each formula (served at ``at``, when the order is for), one line each, side by side."""
    products = [line for line in lines if isinstance(line, LineRequest)]
    formulas = [line for line in lines if isinstance(line, FormulaRequest)]
    catalogue = catalogue_current(pizzeria=pizzeria)
    wanted = []
    try:
        for line in products:
            configured = catalogue.configure(
                product_id=line.product_id, size_id=line.size_id, option_ids=line.option_ids, half_id=line.half_id
            )
            wanted.append(_Wanted(configured, line.quantity))
        order = {product_id: index for index, product_id in enumerate(catalogue.products)}
        wanted.sort(key=lambda w: order[w.line.product.pk])
        for group, request in enumerate(formulas, start=1):
            chosen = catalogue.configure_formula(formula_id=request.formula_id, choice_ids=request.choice_ids)
            if not formula_served_at(chosen.formula, at):
                raise InvalidOrder(
                    f"La formule « {chosen.formula.name} » n'est servie que {formula_hours(chosen.formula)} : "
                    "retirez-la du panier ou choisissez un créneau à ces heures.",
                    field="lines",
                )
            for choice, part in zip(chosen.choices, chosen.parts, strict=True):
                kept = {
                    "id": chosen.formula.pk,
                    "name": chosen.formula.name,
                    "price": money(chosen.formula.price),
                    "group": group,
                    "choice": choice.pk,
                }
                wanted.append(_Wanted(part, request.quantity, kept))
    except InvalidConfiguration as error:
        raise InvalidOrder(error.message, field="lines") from None
    return wanted


def _oven_load(wanted: Sequence[_Wanted]) -> int:
    """What the lines put in the oven: each product's oven load (a half-and-half is one pizza) times its quantity."""
    return oven_load_of((item.line.product, item.quantity) for item in wanted)


def _needs(wanted: Sequence[_Wanted]) -> dict[int, int]:
    """What the order's lines need of each ingredient: each line's own recipe times its quantity."""
    needs: dict[int, int] = defaultdict(int)
    for item in wanted:
        for ingredient_id, quantity in item.line.recipe.items():
            needs[ingredient_id] += quantity * item.quantity
    return dict(needs)


def _sold_out(*, wanted: Sequence[_Wanted], held: Mapping[int, int], levels: Mapping[int, int]) -> SoldOut:
    """Say which lines are short and how many of each can still be made.

    ``levels``: the stock of the short ingredients. Those alone can limit a
    line below what is asked: every other ingredient covers the whole order.
    """
    shortages = []
    for item in wanted:
        short = {i: levels[i] + held.get(i, 0) for i in item.line.recipe if i in levels}
        if not short:
            continue
        can_make = min(short[i] // item.line.recipe[i] for i in short)
        if can_make < item.quantity:
            shortages.append(Shortage(item.line.product.pk, item.line.label, item.quantity, can_make))
    if not shortages:
        # Each line fits on its own but not all together: name every line that shares the short ingredients.
        shortages = [
            Shortage(item.line.product.pk, item.line.label, item.quantity, item.quantity)
            for item in wanted
            if set(item.line.recipe) & set(levels)
        ]
    return SoldOut(shortages)


def _reserve(*, order: Order, wanted: Sequence[_Wanted], held: Mapping[int, int], by) -> None:
    try:
        stock_set_order_needs(pizzeria_id=order.pizzeria_id, order=order, needs=_needs(wanted), held=held, by=by)
    except NotEnoughStock as error:
        levels = error.details["short_ingredients"]
        raise _sold_out(wanted=wanted, held=held, levels=levels) from None


def _priced_lines(*, order: Order, wanted: Sequence[_Wanted]) -> list[OrderLine]:
    """The order's lines as configured, each with its price here, its exact recipe and that recipe's allergens."""
    allergens = allergens_current(pizzeria=order.pizzeria)
    return [
        OrderLine(
            order=order,
            product=item.line.product,
            product_name=item.line.product.name,
            quantity=item.quantity,
            unit_price=item.line.unit_price,
            vat_rate=item.line.product.vat_rate,
            size=item.line.size,
            half_product=item.line.half,
            options=[
                {"id": option.pk, "name": option.name, "kind": option.group.kind, "price": money(price)}
                for option, price in zip(item.line.options, item.line.option_prices, strict=True)
            ],
            description=item.line.description,
            # JSON keys are strings: the ingredient ids come back as such.
            recipe={str(ingredient_id): quantity for ingredient_id, quantity in item.line.recipe.items()},
            allergens=recipe_allergens(item.line.recipe, allergens),
            formula=item.formula,
        )
        for item in wanted
    ]


def _apply_totals(*, order: Order, lines: Sequence[OrderLine]) -> None:
    priced = [PricedLine(line.unit_price, line.quantity, line.vat_rate) for line in lines]
    subtotal = sum((line.total for line in priced), Decimal("0"))
    fee = delivery_fee_for(pizzeria=order.pizzeria, delivery=order.fulfilment == Fulfilment.DELIVERY, subtotal=subtotal)
    totals = order_totals(lines=priced, delivery_fee=fee)
    order.subtotal, order.delivery_fee = totals.subtotal, totals.delivery_fee
    order.vat_total, order.total = totals.vat_total, totals.total


def _check_timing(*, pizzeria: Pizzeria, requested_for: datetime.datetime | None, now: datetime.datetime) -> None:
    if requested_for is None:
        if pizzeria.is_paused_at(now):
            raise PizzeriaUnavailable(
                f"{pizzeria.name} est débordée et ne prend plus de commande immédiate : "
                "choisissez un créneau plus tard.",
                field="requested_for",
            )
        if not pizzeria_is_open(pizzeria, at=now):
            raise PizzeriaUnavailable(
                f"{pizzeria.name} est fermée : choisissez un créneau pendant ses horaires.", field="requested_for"
            )
        return
    if requested_for <= now:
        raise InvalidOrder("Ce créneau est déjà passé.", field="requested_for")
    if requested_for > now + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidOrder(f"On commande au plus {MAX_DAYS_AHEAD} jours à l'avance.", field="requested_for")
    if pizzeria.is_paused_at(now) and requested_for < now + datetime.timedelta(
        minutes=settings.OCPIZZA["PAUSE_LEAD_MINUTES"]
    ):
        raise PizzeriaUnavailable(
            f"{pizzeria.name} est débordée : choisissez un créneau dans plus de "
            f"{settings.OCPIZZA['PAUSE_LEAD_MINUTES']} minutes.",
            field="requested_for",
        )
    if not pizzeria_is_open(pizzeria, at=requested_for):
        raise InvalidOrder(f"{pizzeria.name} est fermée à ce moment-là.", field="requested_for")


def _placed_with(idempotency_key: str) -> Order | None:
    return Order.objects.filter(idempotency_key=idempotency_key).first()


# One submit, one order: each order form carries a one-use token, remembered in the
# visitor's session ({token: number of the order it placed, "" while unused}).
KEPT_TOKENS = 20


def form_token_issue(*, tokens: MutableMapping[str, Any], key: str) -> str:
    """A new token for an order form; the oldest ones are forgotten beyond ``KEPT_TOKENS``."""
    kept = dict(list(tokens.get(key, {}).items())[-(KEPT_TOKENS - 1) :])
    token = secrets.token_urlsafe(16)
    kept[token] = ""
    tokens[key] = kept
    return token


def form_token_state(*, tokens: Mapping[str, Any], key: str, token: str) -> str | None:
    """The order number a token already made, "" when unused, None when unknown or expired."""
    return tokens.get(key, {}).get(token)


def form_token_spend(*, tokens: MutableMapping[str, Any], key: str, token: str, number: str) -> None:
    kept = tokens.get(key, {})
    kept[token] = number
    tokens[key] = kept


@dataclass(frozen=True)
class OrderRequest:
    """An order as asked, by the shop's checkout or the counter's form.

    ``pizzeria`` as ``pizzeria_get`` reads it, with its opening hours;
    ``customer`` for a signed-in customer; ``by`` the user who asks (None for a
    guest); ``idempotency_key`` the form's one-use token.
    """

    pizzeria: Pizzeria
    lines: Sequence[AnyLineRequest]
    channel: str
    fulfilment: str
    payment_method: str
    customer_name: str
    customer_phone: str
    customer_email: str = ""
    customer: Customer | None = None
    delivery_address: DeliveryAddress | None = None
    requested_for: datetime.datetime | None = None
    note: str = ""
    by: Any = None
    idempotency_key: str | None = None
    notify_email: bool = True
    sms_phone: str = ""
    # Staff only (phone and counter): take the order even when its slot is full; recorded on the order.
    override_capacity: bool = False


def _delivery_checked(*, pizzeria: Pizzeria, address: DeliveryAddress) -> DeliveryAddress:
    """The address if ``pizzeria`` delivers it, with its coordinates when geocoding found them;
    ``InvalidOrder`` on the address otherwise, whoever the caller."""
    try:
        zone = delivery_zone_check(pizzeria=pizzeria, address=address.line.strip(), postcode=address.postcode)
    except GeoError as error:
        raise InvalidOrder(error.message, field="delivery_address") from None
    if zone.location is None:
        return address
    return replace(address, latitude=zone.location.latitude, longitude=zone.location.longitude)


def order_place(*, request: OrderRequest) -> Order:
    """Take an order: check it, price it on the server, reserve its stock, and queue it.

    A delivery address must be in the pizzeria's zone (``ventes.geo``).
    Every write happens in one transaction: when any product is short, nothing
    is written and ``SoldOut`` says which products and how many are left.
    An ``idempotency_key`` that already placed an order returns that order and
    places nothing, even when both calls run at once on different servers.
    ``request.sms_phone``: the customer asked, now, to follow the order by SMS at that number.

    The orders of a pizzeria queue up on its row lock (for their daily
    numbers and the room left in their slot): it is taken once the order is
    checked, priced and estimated, so that only the writes wait for it.
    A slot without room for the order's oven load is ``SlotFull``, unless a
    phone or counter order overrides it (``request.override_capacity``).
    """
    pizzeria, channel, fulfilment, payment_method = (
        request.pizzeria,
        request.channel,
        request.fulfilment,
        request.payment_method,
    )
    customer, requested_for, idempotency_key = request.customer, request.requested_for, request.idempotency_key
    lines = _clean_lines(request.lines)
    if channel not in Channel.values or fulfilment not in Fulfilment.values:
        raise InvalidOrder("Mode de commande inconnu.")
    if payment_method not in PaymentMethod.values:
        raise InvalidOrder("Moyen de paiement inconnu.", field="payment_method")
    if payment_method == PaymentMethod.ONLINE_CARD and channel != Channel.WEB:
        raise InvalidOrder("Le paiement en ligne n'existe que pour les commandes sur le site.", field="payment_method")
    customer_name, customer_phone = request.customer_name.strip(), request.customer_phone.strip()
    if not customer_name:
        raise InvalidOrder("Indiquez le nom du client.", field="customer_name")
    if not customer_phone:
        raise InvalidOrder("Indiquez un numéro de téléphone.", field="customer_phone")
    delivery_address = request.delivery_address if fulfilment == Fulfilment.DELIVERY else None
    if fulfilment == Fulfilment.DELIVERY and (
        delivery_address is None or not delivery_address.line.strip() or not delivery_address.postcode
    ):
        raise InvalidOrder("Indiquez l'adresse de livraison.", field="delivery_address")
    if not pizzeria.is_active:
        raise InvalidOrder("Pizzeria inconnue.", field="pizzeria")
    now = timezone.now()
    sms_phone = request.sms_phone
    if sms_phone:
        try:
            sms_phone = sms.sms_number(sms_phone)
        except sms.InvalidMobile as error:
            raise InvalidOrder(error.message, field="customer_phone") from error
    _check_timing(pizzeria=pizzeria, requested_for=requested_for, now=now)
    if delivery_address is not None:
        delivery_address = _delivery_checked(pizzeria=pizzeria, address=delivery_address)
    wanted = _configured(pizzeria=pizzeria, lines=lines, at=requested_for or now)
    override = request.override_capacity and channel != Channel.WEB
    oven_load = _oven_load(wanted)
    if oven_load > slot_capacity(pizzeria=pizzeria) and not override:
        raise InvalidOrder(
            f"Nos fours cuisent au plus {slot_capacity(pizzeria=pizzeria)} pizzas par quart d'heure : "
            f"pour une commande plus grande, appelez {pizzeria.name} au {pizzeria.phone}.",
            field="lines",
        )
    state = OrderState.PENDING_PAYMENT if payment_method == PaymentMethod.ONLINE_CARD else OrderState.RECEIVED
    order = Order(
        pizzeria=pizzeria,
        business_date=pizzeria_business_day(pizzeria, at=now),
        customer=customer,
        customer_name=customer_name,
        customer_phone=customer_phone,
        customer_email=request.customer_email.strip() or (customer.user.email if customer else ""),
        channel=channel,
        fulfilment=fulfilment,
        requested_for=requested_for,
        oven_load=oven_load,
        note=request.note.strip(),
        state=state,
        payment_method=payment_method,
        payment_state=PaymentState.PENDING,
        idempotency_key=idempotency_key or None,
        notify_email=request.notify_email,
        sms_phone=sms_phone,
        sms_consent_at=now if sms_phone else None,
    )
    if delivery_address is not None:
        order.delivery_address = delivery_address.line.strip()
        order.delivery_postcode = delivery_address.postcode
        order.delivery_city = delivery_address.city
        order.delivery_instructions = delivery_address.instructions
        order.delivery_latitude = delivery_address.latitude
        order.delivery_longitude = delivery_address.longitude
    order_lines = _priced_lines(order=order, wanted=wanted)
    _apply_totals(order=order, lines=order_lines)
    # Before the lock: an order of this pizzeria committed in between is not counted, a few pizzas at most.
    order.estimated_ready_at = order_estimate_ready_at(order=order, now=now, unsaved_lines=order_lines)
    try:
        return _order_write(order=order, lines=order_lines, wanted=wanted, by=request.by, now=now, override=override)
    except IntegrityError:
        # A twin call for another pizzeria (the cart changed between the two) committed first.
        if idempotency_key and (placed := _placed_with(idempotency_key)):
            return placed
        raise


def _slot_full_message(room: SlotRoom) -> str:
    return (
        f"Le créneau de {room.at:%H}h{room.at:%M} est complet ({room.load} pizzas prévues "
        f"sur {room.capacity}) : choisissez-en un autre."
    )


def _slot_take(*, order: Order, now: datetime.datetime, override: bool) -> SlotRoom | None:
    """Put the order in its slot; behind the pizzeria's lock, so that racing orders see each other.

    A scheduled order takes the slot it asked for; an order for now the first
    one with room from its estimate on, its estimate moved to it. Returns the
    room it overfilled (a staff override), None when it fitted.
    """
    lead = order_delivery_duration(order=order)
    if order.requested_for is not None:
        room = slot_room(pizzeria=order.pizzeria, at=order.requested_for)
        order.slot = room.at
        if room.fits(order.oven_load):
            return None
        if override:
            return room
        raise SlotFull(_slot_full_message(room), field="requested_for", load=room.load, capacity=room.capacity)
    assert order.estimated_ready_at is not None  # estimated before the lock
    due = order.estimated_ready_at + lead
    closes = pizzeria_closes_at(order.pizzeria, at=now) or now
    found = first_slot_with_room(
        pizzeria=order.pizzeria, earliest=due, until=max(closes, slot_start(due) + SLOT), load=order.oven_load
    )
    if found is not None:
        order.slot = found.at
        order.estimated_ready_at = max(order.estimated_ready_at, found.at - lead)
        return None
    if not override:
        raise SlotFull(
            f"{order.pizzeria.name} n'a plus de place en cuisine d'ici la fermeture : choisissez un autre jour.",
            field="requested_for",
        )
    room = slot_room(pizzeria=order.pizzeria, at=due)
    order.slot = room.at
    return room


@transaction.atomic
def _order_write(
    *,
    order: Order,
    lines: list[OrderLine],
    wanted: list[_Wanted],
    by,
    now: datetime.datetime,
    override: bool,
) -> Order:
    """The writes of ``order_place``, behind the pizzeria's lock: its slot, the day's number, the order, its stock."""
    pizzeria = order.pizzeria
    if not Pizzeria.objects.select_for_update().filter(pk=pizzeria.pk, is_active=True).values_list("pk"):
        raise InvalidOrder("Pizzeria inconnue.", field="pizzeria")
    # Behind the lock, a twin call for the same pizzeria sees the order the first one committed.
    if order.idempotency_key and (placed := _placed_with(order.idempotency_key)):
        return placed
    overfilled = _slot_take(order=order, now=now, override=override)
    order.fire_at = order_fire_at(order=order)
    today = order.business_date
    last = Order.objects.filter(pizzeria=pizzeria, business_date=today).aggregate(last=Max("daily_sequence"))["last"]
    order.daily_sequence = (last or 0) + 1
    order.number = f"{pizzeria.code}-{today:%y%m%d}-{order.daily_sequence:03d}"
    order.save()
    OrderLine.objects.bulk_create(lines)
    _reserve(order=order, wanted=wanted, held={}, by=by)
    order_event_record(
        order=order,
        type=OrderEventType.PLACED,
        by=by,
        order_saved=True,
        to_state=order.state,
        params={"lines": _lines_params(lines), "total": money(order.total)},
        note=order.get_channel_display(),
    )
    if overfilled is not None:
        order_event_record(
            order=order,
            type=OrderEventType.CAPACITY_OVERRIDDEN,
            by=by,
            order_saved=True,
            params={
                "slot": overfilled.at.isoformat(),
                "load_before": overfilled.load,
                "order_load": order.oven_load,
                "capacity": overfilled.capacity,
            },
            note=f"créneau complet forcé : {overfilled.load + order.oven_load} pizzas pour {overfilled.capacity}",
        )
    notifications.order_notify_queue(order_id=order.pk, state=order.state)
    return order


@transaction.atomic
def order_edit_lines(*, order_id: int, lines: Sequence[AnyLineRequest], by, link: str = "") -> Order:
    """Replace the lines of an order still waiting in the queue, for ``by`` or (``by`` None) the guest holding
    its signed link ``link``.

    Only the difference in ingredients is reserved or released; totals are
    computed again. Refused once the kitchen has started.
    """
    cleaned = _clean_lines(lines)
    order = order_lock(order_id=order_id)
    role = actor_role(order=order, user=by, link=link)
    if role not in EDITOR_ROLES:
        raise TransitionForbidden()
    if order.state != OrderState.RECEIVED:
        raise OrderNotEditable()
    if order.payment_state == PaymentState.PAID:
        raise OrderNotEditable("Cette commande est déjà réglée en ligne : annulez-la puis commandez à nouveau.")
    wanted = _configured(pizzeria=order.pizzeria, lines=cleaned, at=order.requested_for or timezone.now())
    _slot_resize(order=order, load=_oven_load(wanted))
    held = stock_reserved_for_order(order=order)
    _reserve(order=order, wanted=wanted, held=held, by=by)
    before = list(order.lines.all())
    OrderLine.objects.filter(pk__in=[line.pk for line in before]).delete()
    order_lines = OrderLine.objects.bulk_create(_priced_lines(order=order, wanted=wanted))
    total_before = order.total
    _apply_totals(order=order, lines=order_lines)
    order.estimated_ready_at = order_estimate_ready_at(order=order)
    order.fire_at = order_fire_at(order=order)
    order.save()
    order_event_record(
        order=order,
        type=OrderEventType.LINES_EDITED,
        by=by,
        order_saved=True,
        params={
            "before": _lines_params(before),
            "after": _lines_params(order_lines),
            "total_before": money(total_before),
            "total": money(order.total),
        },
        note="commande modifiée",
    )
    return order


def _slot_resize(*, order: Order, load: int) -> None:
    """An edited order keeps its slot: more pizzas must still fit in it, checked behind the pizzeria's lock."""
    if order.slot is not None and load > order.oven_load:
        # Locked after the order, as no one holding the pizzeria's lock waits for an existing order.
        list(Pizzeria.objects.select_for_update().filter(pk=order.pizzeria_id).values_list("pk"))
        room = slot_room(pizzeria=order.pizzeria, at=order.slot)
        if not room.fits(load - order.oven_load):
            raise SlotFull(
                f"Le créneau de {room.at:%H}h{room.at:%M} est complet : cette commande peut y prendre "
                f"au plus {room.remaining + order.oven_load} pizzas.",
                field="lines",
            )
    order.oven_load = load


def _lines_params(lines: Sequence[OrderLine]) -> list[dict[str, object]]:
    return [
        {
            "product_id": line.product_id,
            "name": line.product_name,
            "size_id": line.size_id,
            "half_id": line.half_product_id,
            "option_ids": [option["id"] for option in line.options],
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": money(line.unit_price),
            **({"formula": line.formula["name"], "formula_group": line.formula["group"]} if line.formula else {}),
        }
        for line in lines
    ]


def orders_expire_unpaid(*, now: datetime.datetime | None = None) -> int:
    """Cancel online orders whose payment never came; their stock goes back on the shelf."""
    deadline = (now or timezone.now()) - datetime.timedelta(minutes=settings.OCPIZZA["PAYMENT_EXPIRY_MINUTES"])
    expired = 0
    for order_id in Order.objects.filter(state=OrderState.PENDING_PAYMENT, created_at__lt=deadline).values_list(
        "pk", flat=True
    ):
        try:
            order_transition(
                order_id=order_id, to_state=OrderState.CANCELLED, cancel_reason=CancelReason.PAYMENT_EXPIRED
            )
        except (IllegalTransition, TransitionForbidden):
            # Paid in the meantime (now in the queue, which the platform may not cancel) or already cancelled.
            continue
        expired += 1
    return expired


def customer_set_notifications(
    *, customer: Customer, notify_email: bool, sms_updates: bool, phone: str, marketing: bool, source: str
) -> Customer:
    """Record how the customer wants to hear from the shop. SMS needs a mobile number and a consent, dated when
    first given; unticking a box withdraws its consent. Each consent given or withdrawn adds its proof
    (``ConsentRecord``, with ``source`` saying where). Raises ``sms.InvalidMobile`` and writes nothing for a bad
    number."""
    was_sms, was_marketing = customer.sms_consent_at is not None, customer.marketing_consent_at is not None
    now = timezone.now()
    customer.notify_email = notify_email
    if not sms_updates:
        customer.sms_phone, customer.sms_consent_at = "", None
    else:
        number = sms.sms_number(phone)
        if customer.sms_consent_at is None or str(customer.sms_phone) != number:
            customer.sms_phone, customer.sms_consent_at = number, now
    if marketing != was_marketing:
        customer.marketing_consent_at = now if marketing else None
    customer.save(update_fields=["notify_email", "sms_phone", "sms_consent_at", "marketing_consent_at"])
    changes = [(ConsentPurpose.SMS, was_sms, sms_updates), (ConsentPurpose.MARKETING, was_marketing, marketing)]
    ConsentRecord.objects.bulk_create(
        ConsentRecord(customer=customer, purpose=purpose, given=now_given, source=source)
        for purpose, before, now_given in changes
        if before != now_given
    )
    return customer


@transaction.atomic
def order_claim(*, number: str, link: str, customer: Customer) -> Order | None:
    """Make a guest's order the first of the account they opened from its signed link ``link``: it then shows in
    their orders, and only they (signed in) may change it. None, and nothing written, when the link is not that
    order's or the order already has an account."""
    if not link or order_number_from_token(link) != number:
        return None
    order = Order.objects.select_for_update().filter(number=number, customer__isnull=True).first()
    if order is None:
        return None
    order.customer = customer
    order.save(update_fields=["customer", "updated_at"])
    live_notify(order_id=order.pk)  # the guest's open page now shows an account's order
    return order


# Customers and their address book (the accounts app asks for these writes).


@transaction.atomic
def customer_complete_profile(*, user, phone: str) -> Customer:
    """Create the user's customer profile, or fill in its phone number."""
    customer, _ = Customer.objects.select_for_update().get_or_create(user=user, defaults={"phone": phone})
    if customer.phone != phone:
        customer.phone = phone
        customer.save(update_fields=["phone"])
    return customer


def customer_create(*, user, phone: str, marketing: bool = False) -> Customer:
    """The customer profile of a user who has none yet (sign-up, in its transaction), with the offers by e-mail
    when the box was ticked, and its proof."""
    customer = Customer.objects.create(
        user=user, phone=phone, marketing_consent_at=timezone.now() if marketing else None
    )
    if marketing:
        ConsentRecord.objects.create(
            customer=customer, purpose=ConsentPurpose.MARKETING, given=True, source="inscription"
        )
    return customer


@dataclass(frozen=True)
class AddressData:
    label: str
    line1: str
    postcode: str
    city: str
    line2: str = ""
    instructions: str = ""


Coordinates = tuple[Decimal | None, Decimal | None]


def customer_address_create(*, user, data: AddressData, coordinates: Coordinates) -> Address:
    latitude, longitude = coordinates
    with transaction.atomic():
        customer, _ = Customer.objects.get_or_create(user=user)
        return Address.objects.create(
            customer=customer,
            label=data.label,
            line1=data.line1,
            line2=data.line2,
            postcode=data.postcode,
            city=data.city,
            instructions=data.instructions,
            latitude=latitude,
            longitude=longitude,
        )


@transaction.atomic
def customer_address_update(*, user, address_id: int, data: AddressData, coordinates: Coordinates) -> Address:
    """Change one of the user's addresses; ``UnknownAddress`` for anyone else's."""
    address = Address.objects.select_for_update().filter(customer__user=user, pk=address_id).first()
    if address is None:
        raise UnknownAddress()
    address.label, address.line1, address.line2 = data.label, data.line1, data.line2
    address.postcode, address.city, address.instructions = data.postcode, data.city, data.instructions
    address.latitude, address.longitude = coordinates
    address.save()
    return address


@transaction.atomic
def customer_address_delete(*, user, address_id: int) -> None:
    """Remove one of the user's addresses; ``UnknownAddress`` for anyone else's.

    Past orders keep their own copy of the delivery address.
    """
    deleted, _ = Address.objects.filter(customer__user=user, pk=address_id).delete()
    if not deleted:
        raise UnknownAddress()
