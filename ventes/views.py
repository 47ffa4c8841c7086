"""Screens of the shop. Thin: they read through ``selectors`` and write through
``services`` / ``workflow``; the typed errors they let through are answered by
``ocpizzapp.errors``, and those that belong beside a form field are shown there."""

import functools
from decimal import Decimal
from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.formats import number_format
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.views.decorators.http import condition, require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from ocpizzapp.errors import errors_go_back_to
from ocpizzapp.live import order_topic
from ocpizzapp.security import client_ip
from ocpizzapp.streams import Scope, stream_response
from production.cache import menu_version
from production.decorators import staff_only
from production.exceptions import InvalidConfiguration, SoldOut
from production.models import Pizzeria, StaffMember
from production.selectors import (
    line_key,
    parse_line_key,
    pizzeria_hours_on,
    pizzeria_is_open,
    pizzeria_list,
    staff_member_for,
)

from .cart import Cart
from .estimates import order_expected_range
from .exceptions import (
    CartLimitReached,
    InvalidOrder,
    OrderNotEditable,
    PaymentError,
    PizzeriaUnavailable,
    RefundNotAllowed,
    TooManyLinkAttempts,
)
from .forms import (
    AddressSearchForm,
    CancelForm,
    CartAddForm,
    CartQuantityForm,
    CheckoutForm,
    ConfigureForm,
    EditLinesForm,
    FormulaAddForm,
    RefundForm,
    StaffOrderForm,
)
from .gateway import online_payment_enabled
from .geo import GeocodingUnavailable, GeoError, geocoding_enabled, nearest_pizzeria_for, pizzerias_delivering_to
from .journal import order_receipt, receipt_duplicate
from .models import Channel, Order, OrderEventType, OrderState, RefundReason
from .notifications import customer_notify_choice
from .payments import checkout_session_create, refund_request
from .selectors import (
    cart_meal_voucher_splits,
    cart_summary,
    checkout_slots,
    customer_addresses,
    customer_for,
    line_check_available,
    menu_configurator,
    menu_for,
    menu_formula,
    menu_formula_item,
    menu_line,
    order_awaiting_payment,
    order_cancellation_told,
    order_capacity_overridden,
    order_edit_choices,
    order_events,
    order_for_viewer,
    order_is_owned_by,
    order_lines,
    order_live_version,
    order_live_version_at,
    order_notification_log,
    order_progress,
    order_reorder,
    order_totals_of,
    order_version_for_viewer,
    order_view_at,
    pizzeria_for_menu,
    pizzeria_get,
    pizzeria_queue,
    refunds_still_owed,
)
from .services import (
    EDITOR_ROLES,
    LineRequest,
    OrderRequest,
    cart_check_add,
    customer_complete_profile,
    form_token_issue,
    form_token_spend,
    form_token_state,
    order_edit_lines,
    order_place,
)
from .tracking import order_tracking_url
from .workflow import Role, order_transition

CHECKOUT_TOKENS = "checkout_tokens"
STAFF_TOKENS = "staff_order_tokens"
ORDER_ERRORS = (InvalidOrder, SoldOut, PizzeriaUnavailable)
TOO_LATE = OrderNotEditable.default_message
POLL_SECONDS = 5
CSRF_TOKEN_SLOT = "csrf-token-slot"


# Choosing a pizzeria


def _address_search(request, form):
    """The pizzeria that delivers the searched address, or the ones serving its postcode."""
    address, postcode = form.cleaned_data["adresse"].strip(), form.cleaned_data["code_postal"]
    request.session["delivery_search"] = {"line": address, "postcode": postcode}
    if address and geocoding_enabled():
        try:
            return {"found": nearest_pizzeria_for(address=address, postcode=postcode)}
        except GeocodingUnavailable:
            pass  # fall through to the postcode fallback
        except GeoError as error:
            form.add_error("adresse", error.message)
            return None
    candidates = pizzerias_delivering_to(postcode=postcode)
    if not candidates:
        form.add_error("code_postal", "Aucune de nos pizzerias ne livre ce code postal aujourd'hui.")
        return None
    return {"candidates": candidates}


@require_safe
def home(request):
    form = AddressSearchForm(request.GET if "code_postal" in request.GET else None)
    search = _address_search(request, form) if form.is_bound and form.is_valid() else None
    now = timezone.now()
    today = timezone.localdate(now)
    pizzerias = [
        {
            "pizzeria": pizzeria,
            "is_open": pizzeria_is_open(pizzeria, at=now),
            "today_hours": pizzeria_hours_on(pizzeria, today),
        }
        for pizzeria in pizzeria_list()
    ]
    return render(request, "ventes/home.html", {"pizzerias": pizzerias, "form": form, "search": search})


# Menu and cart


def _cart_context(cart: Cart, *, pizzeria: Pizzeria | None = None) -> dict:
    """The cart panel; the caller passes the pizzeria it has read already, if it is the cart's."""
    if pizzeria is None or pizzeria.pk != cart.pizzeria_id:
        pizzeria = pizzeria_get(pk=cart.pizzeria_id, with_hours=False) if cart else None
    return {"cart": cart_summary(pizzeria=pizzeria, lines=cart.lines)}


def _menu_cards(pizzeria) -> str:
    """The menu's product cards, rendered once per menu version and pizzeria (production/cache.py),
    and kept ``MENU_CACHE_SECONDS`` at most.

    The copy is shared by every visitor, so it is rendered with a placeholder
    where each add-to-cart form carries its CSRF token: the visitor's own
    token goes in on the way out (``_with_csrf_token``).
    """
    key = f"menu-cards:{pizzeria.pk}:{menu_version(pizzeria_id=pizzeria.pk)}"
    html = cache.get(key)
    if html is None:
        menu = menu_for(pizzeria=pizzeria, fresh=True)
        context = {
            "pizzeria": pizzeria,
            "sections": menu.sections,
            "formulas": menu.formulas,
            # What the allergen filter offers: the allergens of this menu, and no others.
            "menu_allergens": sorted(
                {name for section in menu.sections for item in section.items for name in item.allergens}
            ),
            "csrf_token": CSRF_TOKEN_SLOT,
        }
        html = render_to_string("ventes/_menu_cards.html", context)
        cache.set(key, html, settings.OCPIZZA["MENU_CACHE_SECONDS"])
    return html


def _with_csrf_token(request, html: str) -> str:
    return html.replace(CSRF_TOKEN_SLOT, get_token(request))


def _menu_page_is_shared(request, cart: Cart) -> bool:
    """Whether this visitor sees the menu page every guest without a cart sees: nobody signed in, nothing in the
    cart, no message waiting to be shown, the whole page asked for."""
    return not (request.user.is_authenticated or cart or len(messages.get_messages(request)) or request.htmx)


@require_safe
def menu(request, slug):
    pizzeria = pizzeria_for_menu(slug=slug)
    if pizzeria is None:
        raise Http404("Pizzeria inconnue.")
    now = timezone.now()
    today = timezone.localdate(now)
    is_open = pizzeria_is_open(pizzeria, at=now)
    # What the page shows of the clock beside its hours: a timed pause or busy mode ends by itself.
    pace = "paused" if pizzeria.is_paused_at(now) else pizzeria.busy_minutes_at(now)
    cart = Cart(request.session)
    context = {
        "pizzeria": pizzeria,
        "is_open": is_open,
        "today_hours": pizzeria_hours_on(pizzeria, today),
        **_cart_context(cart, pizzeria=pizzeria),
    }
    if not _menu_page_is_shared(request, cart):
        context["menu_cards"] = mark_safe(_with_csrf_token(request, _menu_cards(pizzeria)))
        return render(request, "ventes/menu.html", context)
    # Most visits: a guest opening the menu. The whole page is then the same for all of them but for the CSRF
    # token, rendered once under what it shows (the menu's version, the day's hours, open or closed, paused or
    # busy) and kept as long as the cards.
    key = f"menu-page:{pizzeria.pk}:{menu_version(pizzeria_id=pizzeria.pk)}:{today}:{is_open}:{pace}"
    html = cache.get(key)
    if html is None:
        context.update(menu_cards=mark_safe(_menu_cards(pizzeria)), csrf_token=CSRF_TOKEN_SLOT)
        html = render_to_string("ventes/menu.html", context, request=request)
        cache.set(key, html, settings.OCPIZZA["MENU_CACHE_SECONDS"])
    return HttpResponse(_with_csrf_token(request, html))


@require_safe
def cart_page(request):
    return render(request, "ventes/cart.html", _cart_context(Cart(request.session)))


SHEET = "fiche"
SHEET_ADDED = "panier-ajoute"


def _in_sheet(request) -> bool:
    """A configurator or a formula's choices drawn in the menu's sheet (``fiche=1``, sent by htmx) rather than
    as a page of their own: adding then answers with the cart, and a refusal is drawn again in the sheet."""
    data = request.POST if request.method == "POST" else request.GET
    return bool(request.htmx) and data.get(SHEET) == "1"


def _sheet_refusal(response):
    """What the sheet's add button answers when the line cannot be added: the sheet's content drawn again with
    the reason, in place of the cart it aimed at."""
    response["HX-Retarget"] = "#fiche-contenu"
    response["HX-Reswap"] = "innerHTML"
    return response


def _cart_answer(
    request, cart: Cart, *, pizzeria=None, error: str = "", notice: str = "", back: str = "", added: bool = False
):
    """The cart partial for htmx (which closes the menu's sheet once a line is in); otherwise a message and back
    to where the customer was. Only an add (``added``) shows its notice on screen: a stepper's change shows in
    place, and a notice above the lines would push them from under the finger about to tap again."""
    if request.htmx:
        context = {**_cart_context(cart, pizzeria=pizzeria), "error": error, "notice": notice, "added": added}
        response = render(request, "ventes/_cart.html", context)
        if not error and _in_sheet(request):
            response["HX-Trigger"] = SHEET_ADDED
        return response
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect(back or "ventes:cart")


@require_POST
def cart_add(request):
    cart = Cart(request.session)
    form = CartAddForm(request.POST)
    if not form.is_valid():
        return _cart_answer(request, cart, error=str(next(iter(form.errors.values()))[0]))
    pizzeria = pizzeria_get(pk=form.cleaned_data["pizzeria"], with_hours=False)
    if pizzeria is None:
        return _cart_answer(request, cart, error="Pizzeria inconnue.")
    back = pizzeria.get_absolute_url()
    try:
        line, can_make = menu_line(
            pizzeria=pizzeria,
            product_id=form.cleaned_data["product"],
            size_id=form.cleaned_data["size"],
            option_ids=form.cleaned_data["options"],
            half_id=form.cleaned_data["half"],
        )
    except InvalidConfiguration as error:
        return _cart_answer(request, cart, error=error.message, back=back)
    key, quantity = line.key, form.cleaned_data["quantity"]
    # A cart about to be replaced by this pizzeria's counts for nothing here.
    wanted = quantity if cart.belongs_elsewhere(pizzeria.pk) else cart.quantity_after_adding(key, quantity)
    try:
        line_check_available(line=line, can_make=can_make, quantity=wanted)
    except SoldOut as error:
        return _cart_answer(request, cart, error=error.message, back=back)
    if cart.belongs_elsewhere(pizzeria.pk) and not form.cleaned_data["replace"]:
        current = pizzeria_get(pk=cart.pizzeria_id, with_hours=False)
        context = {"current": current, "pizzeria": pizzeria, "line": line, "quantity": quantity}
        template = "ventes/_cart_switch.html" if request.htmx else "ventes/cart_switch.html"
        return render(request, template, context)
    if not cart.belongs_elsewhere(pizzeria.pk):
        try:
            cart_check_add(lines=cart.lines, key=key, quantity=quantity)
        except CartLimitReached as error:
            return _cart_answer(request, cart, error=error.message, back=back)
    cart.add(pizzeria_id=pizzeria.pk, key=key, quantity=quantity)
    return _cart_answer(
        request, cart, pizzeria=pizzeria, notice=f"{line.label} ajouté au panier.", back=back, added=True
    )


STAFF_RETURN = "equipe"


def _staff_return(request, pizzeria: Pizzeria) -> str:
    """The staff order page, when a phone or counter operator came from it to configure a line
    (``retour=equipe``): the configurator and the formulas fill the operator's cart, which that page
    places; "" for anyone else."""
    asked = request.POST.get("retour") if request.method == "POST" else request.GET.get("retour")
    if asked != STAFF_RETURN or not request.user.is_authenticated:
        return ""
    member = staff_member_for(user=request.user)
    if member is None or member.role not in (StaffMember.COUNTER, StaffMember.MANAGER):
        return ""
    if member.role != StaffMember.MANAGER:
        return reverse("ventes:staff_order") if member.pizzeria_id == pizzeria.pk else ""
    return f"{reverse('ventes:staff_order')}?pizzeria={pizzeria.slug}"


@require_POST
def cart_add_formula(request):
    """Put a formula with its choices in the cart; a missing or foreign choice is said in French, nothing added."""
    cart = Cart(request.session)
    form = FormulaAddForm(request.POST)
    if not form.is_valid():
        return _cart_answer(request, cart, error=str(next(iter(form.errors.values()))[0]))
    pizzeria = pizzeria_get(pk=form.cleaned_data["pizzeria"], with_hours=False)
    if pizzeria is None:
        return _cart_answer(request, cart, error="Pizzeria inconnue.")
    formula_id, quantity = form.cleaned_data["formula"], form.cleaned_data["quantity"]
    staff_return = _staff_return(request, pizzeria)
    back = staff_return or f"{pizzeria.get_absolute_url()}#formule-{formula_id}"
    try:
        chosen, can_make = menu_formula(
            pizzeria=pizzeria, formula_id=formula_id, choice_ids=form.cleaned_data["choices"]
        )
        elsewhere = cart.belongs_elsewhere(pizzeria.pk)
        wanted = quantity if elsewhere else cart.quantity_after_adding(chosen.key, quantity)
        line_check_available(line=chosen, can_make=can_make, quantity=wanted)
        if not elsewhere:
            cart_check_add(lines=cart.lines, key=chosen.key, quantity=quantity)
        if elsewhere and not form.cleaned_data["replace"]:
            raise InvalidConfiguration(
                "Votre panier contient des produits d'une autre pizzeria : videz-le avant d'ajouter cette formule."
            )
    except (InvalidConfiguration, SoldOut, CartLimitReached) as error:
        if _in_sheet(request):
            item = menu_formula_item(pizzeria=pizzeria, formula_id=formula_id)
            if item is not None:
                context = {"pizzeria": pizzeria, "item": item, "formula": item.formula, "error": error.message}
                context["sheet"] = True
                response = render(request, "ventes/_formula_sheet.html", context, status=HTTPStatus.BAD_REQUEST)
                return _sheet_refusal(response)
        # Without the sheet, back to the formula's own page: its choices are there, not on the menu.
        chooser = reverse("ventes:formula_choose", args=[pizzeria.slug, formula_id])
        return _cart_answer(request, cart, error=error.message, back=staff_return or chooser)
    cart.add(pizzeria_id=pizzeria.pk, key=chosen.key, quantity=quantity)
    return _cart_answer(
        request, cart, pizzeria=pizzeria, notice=f"{chosen.label} ajoutée au panier.", back=back, added=True
    )


@require_safe
def formula_choose(request, slug, formula_id):
    """A formula's choices, one group per part: in the menu's sheet (htmx), or as a page of their own."""
    pizzeria = pizzeria_for_menu(slug=slug)
    if pizzeria is None:
        raise Http404("Pizzeria inconnue.")
    item = menu_formula_item(pizzeria=pizzeria, formula_id=formula_id)
    if item is None:
        raise Http404("Cette formule n'est pas à la carte.")
    context = {"pizzeria": pizzeria, "item": item, "formula": item.formula, "sheet": _in_sheet(request)}
    return render(request, "ventes/_formula_sheet.html" if request.htmx else "ventes/formula.html", context)


def _configure_choice(request) -> tuple[int | None, tuple[int, ...] | None, int | None]:
    """The size, options and second half of a configurator's refresh (GET), or nothing: the product as the
    menu shows it."""
    if not {"size", "option", "half"} & set(request.GET):
        return None, None, None
    data = request.GET.copy()
    data["quantity"] = "1"
    form = ConfigureForm(data)
    if not form.is_valid():
        return None, None, None
    return form.cleaned_data["size"], form.cleaned_data["options"], form.cleaned_data["half"]


def _configure_quantity(request) -> int:
    """The quantity typed or tapped before a refresh, kept through it (1 when the cart would not take it)."""
    try:
        return ConfigureForm.base_fields["quantity"].clean(request.GET.get("quantity", "1"))
    except ValidationError:
        return 1


@require_http_methods(["GET", "POST"])
def product_configure(request, slug, product_id):
    """The configurator of one product: sizes, extras and toppings to take off, priced by the server as they change.

    GET shows it (htmx asks it again at every change, for the price, the allergens and what the stock
    still allows); POST puts the line in the cart, or shows beside the form why it cannot, writing nothing.
    """
    pizzeria = pizzeria_for_menu(slug=slug)
    if pizzeria is None:
        raise Http404("Pizzeria inconnue.")
    cart = Cart(request.session)
    form = ConfigureForm(request.POST if request.method == "POST" else None)
    error, quantity = "", _configure_quantity(request) if request.method == "GET" else 1
    staff_return = _staff_return(request, pizzeria)
    size_id, option_ids, half_id = _configure_choice(request) if request.method == "GET" else (None, None, None)
    if request.method == "POST" and not form.is_valid():
        error = str(next(iter(form.errors.values()))[0])
    elif request.method == "POST":
        size_id, option_ids, half_id = (
            form.cleaned_data["size"],
            form.cleaned_data["options"],
            form.cleaned_data["half"],
        )
        quantity = form.cleaned_data["quantity"]
        label, error = _cart_put(
            cart,
            pizzeria=pizzeria,
            product_id=product_id,
            size_id=size_id,
            option_ids=option_ids,
            half_id=half_id,
            quantity=quantity,
            replace=form.cleaned_data["replace"],
        )
        if not error and _in_sheet(request):
            return _cart_answer(request, cart, pizzeria=pizzeria, notice=f"{label} ajouté au panier.", added=True)
        if not error:
            messages.success(request, f"{label} ajouté au panier.")
            return redirect(staff_return or f"{pizzeria.get_absolute_url()}#produit-{product_id}")
    configurator = menu_configurator(
        pizzeria=pizzeria, product_id=product_id, size_id=size_id, option_ids=option_ids, half_id=half_id
    )
    if configurator is None:
        raise Http404("Ce produit n'est pas à la carte.")
    context = {
        "pizzeria": pizzeria,
        "configurator": configurator,
        "error": error,
        "quantity": quantity,
        "total": configurator.line.unit_price * quantity if configurator.line else None,
        "other_cart": cart.belongs_elsewhere(pizzeria.pk),
        "staff_return": staff_return,
        "sheet": _in_sheet(request),
    }
    template = "ventes/_configurator.html" if request.htmx else "ventes/configure.html"
    response = render(request, template, context, status=HTTPStatus.BAD_REQUEST if error else HTTPStatus.OK)
    return _sheet_refusal(response) if error and context["sheet"] else response


def _cart_put(
    cart: Cart,
    *,
    pizzeria: Pizzeria,
    product_id: int,
    size_id: int | None,
    option_ids: tuple[int, ...],
    half_id: int | None,
    quantity: int,
    replace: bool,
) -> tuple[str, str]:
    """Put a configured line in the cart: (its label, "") once it is there, ("", the French reason) otherwise."""
    try:
        line, can_make = menu_line(
            pizzeria=pizzeria, product_id=product_id, size_id=size_id, option_ids=option_ids, half_id=half_id
        )
    except InvalidConfiguration as error:
        return "", error.message
    elsewhere = cart.belongs_elsewhere(pizzeria.pk)
    if elsewhere and not replace:
        return "", "Votre panier contient des produits d'une autre pizzeria : cochez la case pour le vider."
    key = line.key
    try:
        line_check_available(
            line=line, can_make=can_make, quantity=quantity if elsewhere else cart.quantity_after_adding(key, quantity)
        )
        if not elsewhere:
            cart_check_add(lines=cart.lines, key=key, quantity=quantity)
    except (SoldOut, CartLimitReached) as error:
        return "", error.message
    cart.add(pizzeria_id=pizzeria.pk, key=key, quantity=quantity)
    return line.label, ""


def _cart_key(key: str) -> str:
    """A cart line's key as the cart keeps it (a bare product id is that product as it comes)."""
    parsed = parse_line_key(key)
    return line_key(*parsed) if parsed is not None else key


@require_POST
def cart_update(request, key):
    cart = Cart(request.session)
    key = _cart_key(key)
    if key not in cart.lines:
        return _cart_answer(request, cart, error="Ce produit n'est pas dans votre panier.")
    form = CartQuantityForm(request.POST)
    if not form.is_valid():
        return _cart_answer(request, cart, error=str(form.errors["quantity"][0]))
    cart.set_quantity(key=key, quantity=form.cleaned_data["quantity"])
    return _cart_answer(request, cart, notice="Quantité mise à jour.")


@require_POST
def cart_remove(request, key):
    cart = Cart(request.session)
    key = _cart_key(key)
    if key not in cart.lines:
        return _cart_answer(request, cart, error="Ce produit n'est pas dans votre panier.")
    back = ""
    if request.POST.get("retour") == STAFF_RETURN and cart.pizzeria_id:
        pizzeria = pizzeria_get(pk=cart.pizzeria_id, with_hours=False)
        back = _staff_return(request, pizzeria) if pizzeria is not None else ""
    cart.remove(key=key)
    return _cart_answer(request, cart, notice="Produit retiré du panier.", back=back)


# One submit, one order


def _submit_once(request, key: str, form, place):
    """Place at most one order per form token; returns the order number or None (errors on the form).

    The session remembers what a token placed, for a form sent again later. Two
    sends at once may reach two servers before either has saved the session:
    the token, as the order's idempotency key, makes the second one find the first.
    """
    token = form.data.get("token", "")
    state = form_token_state(tokens=request.session, key=key, token=token)
    if state:
        return state
    form_ok = form.is_valid()
    if state is None:
        form.data = form.data.copy()
        form.data["token"] = form_token_issue(tokens=request.session, key=key)
        form.add_error(None, "Ce formulaire a expiré : vérifiez votre commande et validez à nouveau.")
        return None
    if not form_ok:
        return None
    try:
        order = place(idempotency_key=token)
    except ORDER_ERRORS as error:
        form.add_service_error(error)
        return None
    form_token_spend(tokens=request.session, key=key, token=token, number=order.number)
    return order.number


# Checkout


def _order_url(number: str, *, owner: bool) -> str:
    return reverse("ventes:order_detail", kwargs={"number": number}) if owner else order_tracking_url(number=number)


def _checkout_done(request, *, number: str, owner: bool, placed: Order | None = None):
    """Where the customer goes once the order exists; ``placed`` is the order if this request placed it."""
    order_url = _order_url(number, owner=owner)
    if placed is None:  # a second click on the same form: read what the first one placed
        unpaid = order_awaiting_payment(number=number)
    else:
        unpaid = placed if placed.state == OrderState.PENDING_PAYMENT else None
    if unpaid is not None:
        return _pay_online(request, order=unpaid, order_url=order_url)
    messages.success(request, f"Merci ! Votre commande {number} est enregistrée.")
    return redirect(order_url)


@require_http_methods(["GET", "POST"])
def checkout(request):
    if request.method == "POST" and (
        number := form_token_state(tokens=request.session, key=CHECKOUT_TOKENS, token=request.POST.get("token", ""))
    ):
        # A second click on the same form: go where the first one went, place nothing. Whoever
        # is signed in now, a guest's order is followed by its signed link, not the owner's page.
        return _checkout_done(request, number=number, owner=order_is_owned_by(number=number, user=request.user))
    cart = Cart(request.session)
    pizzeria = pizzeria_get(pk=cart.pizzeria_id) if cart else None
    if pizzeria is None:
        messages.info(request, "Votre panier est vide : choisissez d'abord vos pizzas.")
        return redirect("ventes:home")
    user = request.user
    customer = customer_for(user=user)
    summary = cart_summary(pizzeria=pizzeria, lines=cart.lines)
    is_open = pizzeria_is_open(pizzeria)
    form_kwargs = {
        "pizzeria": pizzeria,
        # Read only if the form is shown: a checkout that places its order redirects without them.
        "slots": SimpleLazyObject(lambda: checkout_slots(pizzeria=pizzeria)),
        "load": summary.oven_load,
        # Closed or paused, nothing leaves now: the form offers the first slot with room instead.
        "asap": is_open and not pizzeria.is_paused,
        # Only a customer has an address book (compiling even an empty query costs more than the whole form).
        "addresses": customer_addresses(user=user) if customer is not None else (),
        "online_payment": online_payment_enabled(),
    }
    if request.method == "POST":
        form = CheckoutForm(request.POST, **form_kwargs)
        placed = None

        def place(idempotency_key):
            nonlocal customer, placed
            if user.is_authenticated and customer is None:
                customer = customer_complete_profile(user=user, phone=form.cleaned_data["customer_phone"])
            try:
                placed = order_place(
                    request=OrderRequest(
                        pizzeria=pizzeria,
                        lines=cart.line_requests(),
                        channel=Channel.WEB,
                        fulfilment=form.cleaned_data["fulfilment"],
                        payment_method=form.cleaned_data["payment_method"],
                        customer_name=form.cleaned_data["customer_name"],
                        customer_phone=form.cleaned_data["customer_phone"],
                        customer_email=form.cleaned_data["customer_email"],
                        customer=customer,
                        delivery_address=form.delivery_address(),
                        requested_for=form.requested_for(),
                        note=form.cleaned_data["note"],
                        by=user if user.is_authenticated else None,
                        idempotency_key=idempotency_key,
                        notify_email=form.notify_email(),
                        sms_phone=form.sms_phone(),
                    )
                )
            except InvalidOrder as error:
                if error.field == "lines":
                    _cart_keep_menu_products(cart, pizzeria=pizzeria)
                raise
            return placed

        number = _submit_once(request, CHECKOUT_TOKENS, form, place)
        if number:
            cart.clear()
            return _checkout_done(request, number=number, owner=customer is not None, placed=placed)
    else:
        search = request.session.get("delivery_search") or {}
        initial = {
            "token": form_token_issue(tokens=request.session, key=CHECKOUT_TOKENS),
            "address_line": search.get("line", ""),
            "address_postcode": search.get("postcode", ""),
        }
        if search.get("line"):
            initial["saved_address_id"] = ""  # the address just searched for, rather than the book's first
        if user.is_authenticated:
            initial.update(
                customer_name=user.get_full_name(),
                customer_email=user.email,
                customer_phone=customer.phone if customer else "",
            )
            if customer is not None:
                initial["notify_by"] = customer_notify_choice(customer=customer)
        form = CheckoutForm(initial=initial, **form_kwargs)
    context = {
        "form": form,
        "pizzeria": pizzeria,
        "is_open": is_open,
        "cart": summary,
        "voucher": cart_meal_voucher_splits(cart=summary),
    }
    return render(request, "ventes/checkout.html", context)


def _cart_keep_menu_products(cart: Cart, *, pizzeria: Pizzeria) -> None:
    """After an order refused for its lines: if some product left the menu since it was added,
    the cart keeps the others and the customer checks it before submitting again."""
    summary = cart_summary(pizzeria=pizzeria, lines=cart.lines, cached=False)
    if len(summary.lines) != len(cart.lines):
        cart.replace(pizzeria_id=pizzeria.pk, lines={line.key: line.quantity for line in summary.lines})
        raise InvalidOrder("Un produit de votre panier n'est plus à la carte : vérifiez votre commande.")


def _pay_online(request, *, order: Order, order_url: str):
    """Send the customer to Stripe's payment page; the webhook moves the order on."""
    back = request.build_absolute_uri(order_url)
    try:
        return redirect(checkout_session_create(order=order, success_url=back, cancel_url=back))
    except PaymentError as error:
        # The order was cancelled and its stock released by the payment module.
        messages.error(request, error.message)
        return redirect(order_url)


# Following an order


# A client that tried this many order links that were not valid waits an hour: a customer has one good link, a
# guesser has none (the links are signed, so this only spares the server and the logs).
LINK_ATTEMPTS_RATE = "20/h"


def _link_attempt(request, *, failed: bool) -> None:
    """Count a link that was not valid; refuse every link from a client past the rate, good ones too."""
    if not request.GET.get("t"):
        return
    if is_ratelimited(
        request,
        group="ventes.order-link",
        key=lambda group, request: client_ip(request),
        rate=LINK_ATTEMPTS_RATE,
        increment=failed,
    ):
        raise TooManyLinkAttempts()


def _order_view(request, number):
    """The order as this request may see it."""
    _link_attempt(request, failed=False)
    view = order_for_viewer(number=number, user=request.user, token=request.GET.get("t", ""))
    if view is None:
        _link_attempt(request, failed=True)
    return view


def _order_view_or_404(request, number):
    view = _order_view(request, number)
    if view is None:
        raise Http404("Commande introuvable.")
    return view


def _order_context(request, view) -> dict:
    order = view.order
    lines = order_lines(order=order)
    token = request.GET.get("t", "")
    events = order_events(order=order)
    refunds = [event for event in events if event.type == OrderEventType.REFUND_SUCCEEDED]
    return {
        "view": view,
        "order": order,
        "lines": lines,
        "events": events,
        "progress": order_progress(order=order, events=events),
        "cancellation": order_cancellation_told(order=order, events=events, to_customer=not view.is_staff),
        "refunds": refunds,
        # What the order's price gave back; a second payment's refund is not part of it.
        "refunded": sum(
            (event.amount or 0 for event in refunds if event.params.get("reason") != RefundReason.DUPLICATE_PAYMENT),
            Decimal("0"),
        ),
        "totals": order_totals_of(order=order, lines=lines),
        "expected": order_expected_range(order=order),
        "token": token,
        "query": f"?t={token}" if token else "",
        "live": order.state not in {OrderState.COMPLETED, OrderState.CANCELLED},
        "poll_seconds": POLL_SECONDS,
        "live_version": order_live_version_at(order_id=order.pk, updated_at=order.updated_at),
    }


def _order_version(request, number):
    """When the order last changed and who is asking, read once for both conditional-GET functions."""
    versions = request.__dict__.setdefault("_ventes_order_versions", {})
    if number not in versions:
        _link_attempt(request, failed=False)
        versions[number] = order_version_for_viewer(number=number, user=request.user, token=request.GET.get("t", ""))
        if versions[number] is None:
            _link_attempt(request, failed=True)
    return versions[number]


def _status_etag(request, number):
    version = _order_version(request, number)
    if version is None:
        return None
    return f"{version.pk}-{version.updated_at.timestamp()}-{version.role or 'guest'}"


def _status_last_modified(request, number):
    version = _order_version(request, number)
    return version.updated_at if version else None


def _private(response):
    # Each viewer sees their own buttons: shared caches keep out, browsers revalidate each poll.
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie"])
    return response


@require_safe
def order_detail(request, number):
    view = _order_view_or_404(request, number)
    context = _order_context(request, view)
    # The staff see what the customer was told; the page's live part (order_status) does not read it again.
    context["notifications"] = order_notification_log(order=view.order) if view.is_staff else []
    return _private(render(request, "ventes/order_detail.html", context))


@require_safe
@condition(etag_func=_status_etag, last_modified_func=_status_last_modified)
def order_status(request, number):
    version = _order_version(request, number)
    if version is None:
        raise Http404("Commande introuvable.")
    view = order_view_at(version=version)
    return _private(render(request, "ventes/_order_status.html", _order_context(request, view)))


def _receipt_context(request, view, receipt) -> dict:
    return {
        **_order_context(request, view),
        "receipt": receipt,
        "company": settings.COMPANY,
        "software": settings.SOFTWARE_VERSION,
    }


def _order_stream_scope(request, number) -> Scope:
    """The order page's stream is let in by its poll's own check: its owner, its pizzeria's staff, a manager,
    or its signed link (``_order_version``, the failed links counted the same way)."""
    version = _order_version(request, number)
    if version is None:
        raise Http404("Commande introuvable.")
    return Scope(
        key=("order", version.pk),
        topics=frozenset({order_topic(version.pk)}),
        version=functools.partial(order_live_version, order_id=version.pk),
    )


@require_safe
async def order_stream(request, number):
    return await stream_response(request, _order_stream_scope, number)


@require_safe
def receipt(request, number):
    view = _order_view_or_404(request, number)
    context = _receipt_context(request, view, order_receipt(order=view.order))
    return _private(render(request, "ventes/receipt.html", context))


@require_POST
@errors_go_back_to(lambda request, number: reverse("ventes:receipt", kwargs={"number": number}))
def receipt_reprint(request, number):
    """A receipt printed again: marked « DUPLICATA » and written to the sales journal first."""
    view = _order_view_or_404(request, number)
    by = request.user if request.user.is_authenticated else None
    context = _receipt_context(request, view, receipt_duplicate(order=view.order, by=by))
    return _private(render(request, "ventes/receipt.html", context))


def _order_page(request, number: str) -> str:
    url = reverse("ventes:order_detail", kwargs={"number": number})
    token = request.GET.get("t", "")
    return f"{url}?t={token}" if token else url


def _back_to_order(request, view):
    return redirect(_order_page(request, view.order.number))


def _editor_view_or_404(request, number):
    """The order as someone who may change it sees it (its owner, its counter, a manager); 404 for anyone else."""
    view = _order_view_or_404(request, number)
    if view.role not in EDITOR_ROLES:
        raise Http404("Commande introuvable.")
    return view


def _acting(request, view) -> dict:
    """Who makes a change: the signed-in person, or the guest through the order's signed link."""
    if view.by_link:
        return {"by": None, "link": request.GET.get("t", "")}
    return {"by": request.user}


def _leave_for(request, url: str):
    """To another page: htmx is told to load it, a plain form is redirected."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_http_methods(["GET", "POST"])
@errors_go_back_to(_order_page)
def order_edit(request, number):
    """The order's lines with steppers and the menu's cards of what can be added: each tap draws the draft again
    (nothing written), « Enregistrer » has the service replace the order's lines with it."""
    view = _editor_view_or_404(request, number)
    order = view.order
    if not view.may_edit:
        messages.error(request, TOO_LATE)
        return _leave_for(request, _order_page(request, number))
    choices = order_edit_choices(order=order)
    data = request.POST if request.method == "POST" else None
    form = EditLinesForm(data, rows=choices.rows, sections=choices.sections)
    if request.method == "POST" and form.is_valid():
        if form.step() is not None:
            form = form.stepped()
        else:
            try:
                order_edit_lines(order_id=order.pk, lines=form.line_requests(), **_acting(request, view))
            except ORDER_ERRORS as error:
                form.add_order_error(error)
            else:
                messages.success(request, f"Commande {order.number} modifiée.")
                return _leave_for(request, _order_page(request, number))
    context = {
        "order": order,
        "form": form,
        "query": f"?t={request.GET['t']}" if view.by_link else "",
    }
    template = "ventes/_order_edit_form.html" if request.htmx else "ventes/order_edit.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@errors_go_back_to(_order_page)
def order_cancel(request, number):
    """One tap on a reason cancels; the staff tap their motive."""
    view = _editor_view_or_404(request, number)
    order = view.order
    if not view.may_edit:
        messages.error(request, TOO_LATE)
        return _back_to_order(request, view)
    staff = not view.is_owner
    form = CancelForm(request.POST if request.method == "POST" else None, staff=staff)
    if request.method == "POST" and form.is_valid():
        try:
            order_transition(
                order_id=order.pk,
                to_state=OrderState.CANCELLED,
                **_acting(request, view),
                note=form.note(),
                cancel_reason=form.cleaned_data.get("cancel_reason", ""),
            )
        except InvalidOrder as error:
            form.add_error("cancel_reason" if staff else "reason", error.message)
        else:
            messages.success(request, f"Commande {order.number} annulée.")
            return _back_to_order(request, view)
    context = {"order": order, "form": form, "query": f"?t={request.GET['t']}" if view.by_link else ""}
    return render(request, "ventes/order_cancel.html", context)


@require_http_methods(["GET", "POST"])
def order_refund(request, number):
    """A manager gives back all or part of what an order paid; anyone else gets 404."""
    view = _order_view_or_404(request, number)
    if view.role != Role.MANAGER:
        raise Http404("Commande introuvable.")
    order = view.order
    form = RefundForm(request.POST or None, lines=order_lines(order=order))
    if request.method == "POST" and form.is_valid():
        try:
            refunds = refund_request(
                order_id=order.pk,
                reason=form.cleaned_data["reason"],
                by=request.user,
                amount=form.refund_amount(),
                lines=form.refund_lines(),
                note=form.cleaned_data["note"],
            )
        except RefundNotAllowed as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            total = sum((refund.amount for refund in refunds), Decimal("0"))
            if refunds_still_owed(refund_ids=[refund.pk for refund in refunds]):
                messages.warning(
                    request,
                    f"Remboursement de {number_format(total, 2)} € enregistré ; Stripe ne l'a pas encore pris : "
                    "il est retenté automatiquement et les responsables sont prévenus s'il échoue encore.",
                )
            else:
                messages.success(request, f"Remboursement de {number_format(total, 2)} € effectué.")
            return _back_to_order(request, view)
    return render(request, "ventes/order_refund.html", {"order": order, "form": form})


@require_POST
def reorder(request, number):
    """Fill the cart with a past order of its owner; say what cannot be made right now."""
    view = _order_view(request, number)
    if view is None or not view.is_owner:
        raise Http404("Commande introuvable.")
    pizzeria = pizzeria_get(pk=view.order.pizzeria_id)
    if pizzeria is None:
        messages.error(request, "Cette pizzeria ne prend plus de commandes.")
        return redirect("ventes:home")
    again = order_reorder(order=view.order, pizzeria=pizzeria)
    Cart(request.session).replace(pizzeria_id=pizzeria.pk, lines=again.lines)
    if again.missing:
        messages.warning(request, "Pas disponible en ce moment : " + ", ".join(again.missing) + ".")
    if again.lines:
        messages.success(request, f"Votre panier reprend la commande {view.order.number}.")
    return redirect("ventes:cart")


# Orders taken by the counter and the phone


def _staff_pizzeria(request, member, is_manager):
    if not is_manager:
        # Read again with its hours and their exceptions, which the slots read day after day.
        return pizzeria_get(pk=member.pizzeria_id)
    slug = request.POST.get("pizzeria") or request.GET.get("pizzeria")
    return pizzeria_get(slug=slug) if slug else None


@require_http_methods(["GET", "POST"])
@staff_only([StaffMember.COUNTER, StaffMember.MANAGER], refused="ventes/staff_forbidden.html")
def staff_order(request):
    member = request.staff
    is_manager = member.role == StaffMember.MANAGER
    pizzeria = _staff_pizzeria(request, member, is_manager)
    if pizzeria is None:
        return render(request, "ventes/staff_choose.html", {"pizzerias": pizzeria_list()})
    # The menu as the customers see it (cached): its products, their price and availability here.
    menu = menu_for(pizzeria=pizzeria)
    products = [item.product for item in menu.items.values()]
    # The lines configured (sizes, options, halves, formulas) wait in the operator's cart, priced by the server.
    cart = Cart(request.session)
    configured = cart.line_requests() if cart.pizzeria_id == pizzeria.pk else []
    form_kwargs = {
        "pizzeria": pizzeria,
        # Read only if the form is shown: a checkout that places its order redirects without them.
        "slots": SimpleLazyObject(lambda: checkout_slots(pizzeria=pizzeria)),
        "products": products,
        "configured_lines": len(configured),
    }
    if request.method == "POST":
        form = StaffOrderForm(request.POST, **form_kwargs)
        overfilled = None

        def place(idempotency_key):
            nonlocal overfilled
            placed = order_place(
                request=OrderRequest(
                    pizzeria=pizzeria,
                    lines=[LineRequest(pk, quantity) for pk, quantity in form.quantities().items()] + configured,
                    channel=form.cleaned_data["channel"],
                    fulfilment=form.cleaned_data["fulfilment"],
                    payment_method=form.cleaned_data["payment_method"],
                    customer_name=form.cleaned_data["customer_name"],
                    customer_phone=form.cleaned_data["customer_phone"],
                    delivery_address=form.delivery_address(),
                    requested_for=form.requested_for(),
                    note=form.cleaned_data["note"],
                    by=request.user,
                    idempotency_key=idempotency_key,
                    override_capacity=form.cleaned_data["override_capacity"],
                )
            )
            if form.cleaned_data["override_capacity"]:
                overfilled = order_capacity_overridden(number=placed.number)
            return placed

        number = _submit_once(request, STAFF_TOKENS, form, place)
        if number:
            if configured:
                cart.clear()
            messages.success(request, f"Commande {number} enregistrée : elle est dans la file de la cuisine.")
            if overfilled:
                messages.warning(request, f"Attention, {overfilled}.")
            url = reverse("ventes:staff_order")
            return redirect(f"{url}?pizzeria={pizzeria.slug}" if is_manager else url)
    else:
        form = StaffOrderForm(
            initial={"token": form_token_issue(tokens=request.session, key=STAFF_TOKENS)}, **form_kwargs
        )
    rows = [(form[f"qty_{item.product.pk}"], item) for item in menu.items.values()]
    context = {
        "form": form,
        "pizzeria": pizzeria,
        "rows": rows,
        "configurable": [item for item in menu.items.values() if item.configurable and not item.sold_out],
        "formulas": menu.formulas,
        "cart": cart_summary(pizzeria=pizzeria, lines=cart.lines) if configured else None,
        "queue": pizzeria_queue(pizzeria=pizzeria),
        "is_manager": is_manager,
        "retour": STAFF_RETURN,
    }
    return render(request, "ventes/staff_order.html", context)


@require_safe
def privacy(request):
    """What is kept about customers, why, for how long, and how to get it or have it erased."""
    return render(request, "ventes/privacy.html", {"guest_months": settings.OCPIZZA["GUEST_DATA_MONTHS"]})
