"""The staff screens: kitchen display, recipe memo, rider and counter pages,
stock screens and the managers' dashboard.

Access goes through ``staff_only`` (role, then pizzeria); orders are read
through ``ventes.selectors`` (scoped to the pizzeria) and moved through
``ventes.workflow.order_transition``; stock is read through the production
selectors and changed through the stock services: nothing is written here.
"""

import csv
import datetime
import functools
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from ocpizzapp.exceptions import BusinessError
from ocpizzapp.live import pizzeria_topic
from ocpizzapp.streams import EVERYTHING, Scope, stream_response
from ventes import selectors as orders
from ventes.closings import closings_latest, closings_make, closings_verify
from ventes.journal import business_date, journal_verify_all
from ventes.reports import Period, sales_report
from ventes.workflow import STAFF_MOVES, order_transition

from . import selectors
from .cache import board_html
from .decorators import staff_only
from .exceptions import InvalidPace
from .forms import (
    BusyForm,
    IngredientCostForm,
    MenuOverrideForm,
    OpeningExceptionForm,
    OpeningExceptionRemoveForm,
    ParLevelsForm,
    PauseForm,
    PurchaseLinesForm,
    PurchaseReceiveForm,
    ReportRangeForm,
    StaffLoginForm,
    StockMoveForm,
    StockTransferForm,
)
from .models import PurchaseOrder, StaffMember, StockMovement
from .notifications import purchase_order_csv, purchase_order_csv_name
from .services import (
    ingredient_cost_set,
    menu_override_set,
    opening_exception_remove,
    opening_exception_set,
    pizzeria_set_accepting_orders,
    pizzeria_set_busy,
    purchase_order_cancel,
    purchase_order_draft,
    purchase_order_email_resend,
    purchase_order_receive,
    purchase_order_send,
    purchase_order_update_lines,
    stock_count_inventory,
    stock_par_levels_set,
    stock_record_waste,
    stock_restock,
    stock_transfer,
)

PIZZAIOLO, RIDER, COUNTER, MANAGER = (
    StaffMember.PIZZAIOLO,
    StaffMember.RIDER,
    StaffMember.COUNTER,
    StaffMember.MANAGER,
)
KITCHEN_ROLES = [PIZZAIOLO, MANAGER]
RIDER_ROLES = [RIDER, MANAGER]
COUNTER_ROLES = [COUNTER, MANAGER]
TICKET_ROLES = [PIZZAIOLO, COUNTER, MANAGER]
STOCK_ROLES = [PIZZAIOLO, MANAGER]
LEDGER_PAGE_SIZE = 50
SCREEN_OF_ROLE = {PIZZAIOLO: "production:kitchen", RIDER: "production:rider", COUNTER: "production:counter"}


class StaffLoginView(auth_views.LoginView):
    template_name = "production/login.html"
    authentication_form = StaffLoginForm

    def get_default_redirect_url(self):
        return reverse("production:home")


class StaffLogoutView(auth_views.LogoutView):
    next_page = "production:login"  # a URL name: resolved by resolve_url


@staff_only([PIZZAIOLO, RIDER, COUNTER, MANAGER])
def home(request):
    """Send each role to its own screen."""
    member = request.staff
    if member.role == MANAGER:
        return redirect("production:dashboard")
    return redirect(SCREEN_OF_ROLE[member.role], slug=member.pizzeria.slug)


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def _live(response):
    """Live partials are revalidated at every poll, never reused blindly."""
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _move(request, *, order_id: int, to_state: str) -> None:
    try:
        order = order_transition(order_id=order_id, to_state=to_state, by=request.user)
    except BusinessError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Commande {order.short_number} : {order.get_state_display()}.")


def _scoped_order_id(*, pizzeria, pk: int) -> int:
    """404 unless the order belongs to this pizzeria."""
    if not orders.pizzeria_has_order(pizzeria=pizzeria, order_id=pk):
        raise Http404("Commande inconnue.")
    return pk


# --- Kitchen display -------------------------------------------------------------


def _kitchen_fingerprint(pizzeria) -> tuple[datetime.datetime, str]:
    now = timezone.now()
    # Busy mode changes the capacity the board shows: its minutes, as they stand now, are part of the ETag.
    etag = orders.kitchen_fingerprint(pizzeria_id=pizzeria.pk, now=now)
    return now, f'{etag[:-1]}-busy{pizzeria.busy_minutes_at(now)}"'


def _kitchen_context(pizzeria, *, now: datetime.datetime, etag: str) -> dict:
    """The board that ``etag`` fingerprints, rendered by the first screen to ask for it.

    The board is read after its fingerprint, never before, so a cached board is
    never older than its key; messages and the CSRF token stay out of it.
    """

    def render_cards():
        context = {
            "pizzeria": pizzeria,
            "columns": orders.kitchen_columns(pizzeria=pizzeria, now=now),
            "slots": orders.kitchen_next_slots(pizzeria=pizzeria, now=now),
        }
        return render_to_string("production/_kitchen_cards.html", context)

    cards = board_html(kind="kitchen", pizzeria=pizzeria, fingerprint=etag, render=render_cards)
    return {"pizzeria": pizzeria, "etag": etag, "cards": cards}


@require_GET
@staff_only(KITCHEN_ROLES)
def kitchen(request, pizzeria):
    now, etag = _kitchen_fingerprint(pizzeria)
    return render(request, "production/kitchen.html", _kitchen_context(pizzeria, now=now, etag=etag))


@require_GET
@staff_only(KITCHEN_ROLES)
def kitchen_board(request, pizzeria):
    now, etag = _kitchen_fingerprint(pizzeria)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = _live(
            render(request, "production/_kitchen_board.html", _kitchen_context(pizzeria, now=now, etag=etag))
        )
    response["ETag"] = etag
    return response


@staff_only(KITCHEN_ROLES)
def _kitchen_stream_scope(request, pizzeria) -> Scope:
    """The kitchen's stream: the board's own gate, and its fingerprint, busy mode read again each time."""
    pizzeria_id = pizzeria.pk
    return Scope(
        key=("kitchen", pizzeria_id),
        topics=frozenset({pizzeria_topic(pizzeria_id)}),
        version=lambda: _kitchen_fingerprint(selectors.pizzeria_by_id(pizzeria_id=pizzeria_id))[1],
        clock=True,
    )


@require_GET
async def kitchen_stream(request, slug):
    return await stream_response(request, _kitchen_stream_scope, slug=slug)


@require_POST
@staff_only(KITCHEN_ROLES)
def kitchen_move(request, pizzeria, pk: int, action: str):
    order_id = _scoped_order_id(pizzeria=pizzeria, pk=pk)
    undo = action == "undo"
    target = orders.order_undo_target(pizzeria=pizzeria, order_id=order_id) if undo else STAFF_MOVES[action]
    # Starting a scheduled order before its fire time takes a second, deliberate tap (« avance »).
    fires_at = None
    if action == "start" and not request.POST.get("avance"):
        fires_at = orders.order_fires_later(pizzeria=pizzeria, order_id=order_id, now=timezone.now())
    if fires_at is not None:
        messages.warning(
            request,
            f"Cette commande est à lancer à {timezone.localtime(fires_at):%H}h{timezone.localtime(fires_at):%M} : "
            "confirmez pour la commencer en avance.",
        )
    else:
        _move(request, order_id=order_id, to_state=target)
    if _is_partial(request):
        now, etag = _kitchen_fingerprint(pizzeria)
        return render(request, "production/_kitchen_board.html", _kitchen_context(pizzeria, now=now, etag=etag))
    return redirect("production:kitchen", slug=pizzeria.slug)


# --- Recipe memo and tickets -----------------------------------------------------


@require_GET
@staff_only(KITCHEN_ROLES)
def recipe_list(request, pizzeria):
    products = selectors.menu_products(pizzeria=pizzeria)
    return render(request, "production/recipe_list.html", {"pizzeria": pizzeria, "products": products})


@require_GET
@staff_only(KITCHEN_ROLES)
def recipe_detail(request, pizzeria, product_id: int):
    """A product's memo; with ``?ligne=`` the memo of one order line, as its size and options make it."""
    product = selectors.recipe_of(pizzeria=pizzeria, product_id=product_id)
    if product is None:
        raise Http404("Produit inconnu.")
    context = {"pizzeria": pizzeria, "product": product}
    line_id = request.GET.get("ligne", "")
    if line_id:
        line = orders.order_line_of(pizzeria=pizzeria, line_id=int(line_id)) if line_id.isdigit() else None
        if line is None or line.product_id != product.pk:
            raise Http404("Ligne inconnue.")
        recipe = {int(ingredient_id): quantity for ingredient_id, quantity in line.recipe.items()}
        factor = line.size.recipe_factor if line.size is not None else Decimal(1)
        half = selectors.recipe_of(pizzeria=pizzeria, product_id=line.half_product_id) if line.half_product_id else None
        memo = selectors.recipe_memo_rows(product=product, recipe=recipe, factor=factor, half=half)
        context |= {"line": line, "memo": memo}
    return render(request, "production/recipe_detail.html", context)


@require_GET
@staff_only(TICKET_ROLES)
def order_ticket(request, pizzeria, pk: int):
    ticket = orders.order_ticket(pizzeria=pizzeria, order_id=pk)
    if ticket is None:
        raise Http404("Commande inconnue.")
    return render(request, "production/ticket.html", {"pizzeria": pizzeria, "order": ticket.order, "ticket": ticket})


# --- Rider and counter -----------------------------------------------------------


def _pizzeria_etag(request, *args, pizzeria, **kwargs):
    # Per user: a rider's page lists his own deliveries.
    return orders.orders_fingerprint(pizzeria_id=pizzeria.pk, extra=str(request.user.pk))


def _rider_context(request, pizzeria):
    return {"pizzeria": pizzeria, "lists": orders.rider_orders(pizzeria=pizzeria, member=request.staff)}


@require_GET
@staff_only(RIDER_ROLES)
def rider(request, pizzeria):
    etag = _pizzeria_etag(request, pizzeria=pizzeria)
    return render(request, "production/rider.html", {"etag": etag, **_rider_context(request, pizzeria)})


@require_GET
@staff_only(RIDER_ROLES)
@condition(etag_func=_pizzeria_etag)
def rider_board(request, pizzeria):
    return _live(render(request, "production/_rider_board.html", _rider_context(request, pizzeria)))


def _board_stream_scope(request, pizzeria) -> Scope:
    """A rider's or the counter's stream: their board's fingerprint, as its page's ETag (per person)."""
    return Scope(
        key=("orders", pizzeria.pk, request.user.pk),
        topics=frozenset({pizzeria_topic(pizzeria.pk)}),
        version=functools.partial(_pizzeria_etag, request, pizzeria=pizzeria),
    )


@require_GET
async def rider_stream(request, slug):
    return await stream_response(request, staff_only(RIDER_ROLES)(_board_stream_scope), slug=slug)


@require_POST
@staff_only(RIDER_ROLES)
def rider_move(request, pizzeria, pk: int, action: str):
    _move(request, order_id=_scoped_order_id(pizzeria=pizzeria, pk=pk), to_state=STAFF_MOVES[action])
    if _is_partial(request):
        return render(request, "production/_rider_board.html", _rider_context(request, pizzeria))
    return redirect("production:rider", slug=pizzeria.slug)


def _counter_context(pizzeria):
    return {"pizzeria": pizzeria, "orders": orders.counter_orders(pizzeria=pizzeria)}


@require_GET
@staff_only(COUNTER_ROLES)
def counter(request, pizzeria):
    etag = _pizzeria_etag(request, pizzeria=pizzeria)
    return render(request, "production/counter.html", {"etag": etag, **_counter_context(pizzeria)})


@require_GET
@staff_only(COUNTER_ROLES)
@condition(etag_func=_pizzeria_etag)
def counter_board(request, pizzeria):
    return _live(render(request, "production/_counter_board.html", _counter_context(pizzeria)))


@require_GET
async def counter_stream(request, slug):
    return await stream_response(request, staff_only(COUNTER_ROLES)(_board_stream_scope), slug=slug)


@require_POST
@staff_only(COUNTER_ROLES)
def counter_handover(request, pizzeria, pk: int):
    _move(request, order_id=_scoped_order_id(pizzeria=pizzeria, pk=pk), to_state=STAFF_MOVES["handover"])
    if _is_partial(request):
        return render(request, "production/_counter_board.html", _counter_context(pizzeria))
    return redirect("production:counter", slug=pizzeria.slug)


# --- Stock -----------------------------------------------------------------------


@require_GET
@staff_only(STOCK_ROLES)
def stock(request, pizzeria):
    products = list(selectors.menu_products(pizzeria=pizzeria))
    availability = selectors.product_availability(pizzeria_id=pizzeria.pk, product_ids=[p.pk for p in products])
    context = {
        "pizzeria": pizzeria,
        "lines": selectors.stock_overview(pizzeria=pizzeria),
        "products": [(product, selectors.availability_of(availability, product.pk)) for product in products],
    }
    return render(request, "production/stock.html", context)


def _stock_record(*, kind: str, stock, value: int, by, note: str, override: bool):
    if kind == StockMovement.INVENTORY:
        return stock_count_inventory(stock=stock, counted=value, by=by, note=note)
    if kind == StockMovement.WASTE:
        return stock_record_waste(stock=stock, quantity=value, by=by, note=note, override=override)
    return stock_restock(stock=stock, quantity=value, by=by, note=note)


def _stock_forms(request, *, posted=None) -> list[StockMoveForm]:
    """The three forms of a stock line, ``posted`` (a bound form) in place of its blank one."""
    can_override = request.staff.role == MANAGER
    return [
        posted if posted is not None and posted.kind == kind else StockMoveForm(kind=kind, can_override=can_override)
        for kind in StockMoveForm.KINDS
    ]


def _stock_line_page(request, pizzeria, line, forms, status=200, transfer_form=None):
    movements = selectors.stock_ledger(pizzeria=pizzeria, stock_id=line.pk)[:20]
    if transfer_form is None and request.staff.role == MANAGER:
        transfer_form = StockTransferForm(source=pizzeria)
    context = {
        "pizzeria": pizzeria,
        "line": line,
        "forms": forms,
        "transfer_form": transfer_form,
        "movements": movements,
    }
    return render(request, "production/stock_line.html", context, status=status)


def _stock_line_or_404(pizzeria, stock_id):
    line = selectors.stock_line_of(pizzeria=pizzeria, stock_id=stock_id)
    if line is None:
        raise Http404("Ligne de stock inconnue.")
    return line


@require_GET
@staff_only(STOCK_ROLES)
def stock_line(request, pizzeria, pk: int):
    line = _stock_line_or_404(pizzeria, pk)
    return _stock_line_page(request, pizzeria, line, _stock_forms(request))


@require_POST
@staff_only(STOCK_ROLES)
def stock_move(request, pizzeria, pk: int, kind: str):
    line = _stock_line_or_404(pizzeria, pk)
    form = StockMoveForm(request.POST, kind=kind, can_override=request.staff.role == MANAGER)
    if form.is_valid():
        try:
            data = form.cleaned_data
            _stock_record(
                kind=kind,
                stock=line,
                value=data["quantity"],
                by=request.user,
                note=data["note"],
                override=data.get("override", False),
            )
        except BusinessError as error:
            form.add_error("quantity", error.message)
        else:
            messages.success(request, f"{line.ingredient} : stock enregistré.")
            return redirect("production:stock_line", slug=pizzeria.slug, pk=line.pk)
    return _stock_line_page(request, pizzeria, line, _stock_forms(request, posted=form), status=400)


@require_POST
@staff_only([MANAGER])
def stock_transfer_send(request, pizzeria, pk: int):
    line = _stock_line_or_404(pizzeria, pk)
    form = StockTransferForm(request.POST, source=pizzeria)
    if form.is_valid():
        data = form.cleaned_data
        try:
            transfer = stock_transfer(
                stock=line,
                destination=data["destination"],
                quantity=data["quantity"],
                by=request.user,
                note=data["note"],
            )
        except BusinessError as error:
            form.add_error(error.details.get("field", "quantity"), error.message)
        else:
            unit = line.ingredient.get_unit_display()
            sent = f"{transfer.quantity} {unit} de {line.ingredient}"
            messages.success(request, f"{sent} envoyés à {transfer.destination}.")
            return redirect("production:stock_line", slug=pizzeria.slug, pk=line.pk)
    return _stock_line_page(request, pizzeria, line, _stock_forms(request), status=400, transfer_form=form)


@require_GET
@staff_only(STOCK_ROLES)
def stock_ledger(request, pizzeria):
    page = Paginator(selectors.stock_ledger(pizzeria=pizzeria), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "production/stock_ledger.html", {"pizzeria": pizzeria, "page": page})


# --- Food cost -------------------------------------------------------------------

# Waste is valued over this many days up to today on the food cost screen.
WASTE_DAYS = 30


def _food_cost_page(request, form, status=200):
    today = timezone.localdate()
    context = {
        "form": form,
        "margins": selectors.product_margins(day=today),
        "wastes": selectors.waste_costs(since=today - datetime.timedelta(days=WASTE_DAYS - 1), until=today),
        "waste_days": WASTE_DAYS,
    }
    return render(request, "production/food_cost.html", context, status=status)


@require_GET
@staff_only([MANAGER])
def food_cost(request):
    return _food_cost_page(request, IngredientCostForm(today=timezone.localdate()))


@require_POST
@staff_only([MANAGER])
def ingredient_cost(request):
    form = IngredientCostForm(request.POST, today=timezone.localdate())
    if form.is_valid():
        data = form.cleaned_data
        try:
            ingredient_cost_set(
                ingredient=data["ingredient"], price=data["price"], valid_from=data["valid_from"], by=request.user
            )
        except BusinessError as error:
            form.add_error("price", error.message)
        else:
            messages.success(
                request, f"{data['ingredient']} : prix enregistré à partir du {data['valid_from']:%d/%m/%Y}."
            )
            return redirect("production:food_cost")
    return _food_cost_page(request, form, status=400)


# --- Opening exceptions (managers) ------------------------------------------------

CALENDAR_DAYS = 90


def _calendar_page(request, form, *, status=200):
    pizzerias = form.pizzerias.values()
    context = {
        "form": form,
        "calendar": selectors.opening_calendar(start=form.today, days=CALENDAR_DAYS, pizzerias=list(pizzerias)),
        "calendar_days": CALENDAR_DAYS,
        "chain": request.staff.pizzeria_id is None,
    }
    return render(request, "production/opening_exceptions.html", context, status=status)


def _exception_form(request, data=None):
    member = request.staff
    pizzerias = [pizzeria for pizzeria in selectors.pizzeria_list() if member.covers(pizzeria.pk)]
    return OpeningExceptionForm(data, pizzerias=pizzerias, chain=member.pizzeria_id is None, today=timezone.localdate())


# --- The pizzeria's own prices and withdrawals --------------------------------------


def _menu_prices_page(request, pizzeria, *, posted: MenuOverrideForm | None = None, posted_key: str = "", status=200):
    context = {
        "pizzeria": pizzeria,
        "products": selectors.menu_override_rows(pizzeria=pizzeria),
        "posted": posted,
        "posted_key": posted_key,
    }
    return render(request, "production/menu_prices.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_only([MANAGER])
def opening_exceptions(request):
    """Closed days and special hours, for a pizzeria or the whole chain, with the public holidays ahead."""
    if request.method == "GET":
        return _calendar_page(request, _exception_form(request))
    form = _exception_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            opening_exception_set(
                pizzeria=form.pizzeria,
                day=data["day"],
                closed=data["closed"],
                opens=data["opens"],
                closes=data["closes"],
                label=data["label"],
            )
        except InvalidPace as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            where = form.pizzeria.name if form.pizzeria else "toute la chaîne"
            messages.success(request, f"{where} : horaires du {data['day']:%d/%m/%Y} enregistrés.")
            return redirect("production:opening_exceptions")
    return _calendar_page(request, form, status=400)


@require_POST
@staff_only([MANAGER])
def opening_exception_delete(request):
    member = request.staff
    pizzerias = [pizzeria for pizzeria in selectors.pizzeria_list() if member.covers(pizzeria.pk)]
    form = OpeningExceptionRemoveForm(request.POST, pizzerias=pizzerias, chain=member.pizzeria_id is None)
    if not form.is_valid():
        return HttpResponseBadRequest("Exception inconnue.")
    day = form.cleaned_data["day"]
    if opening_exception_remove(pizzeria=form.pizzeria, day=day):
        where = form.pizzeria.name if form.pizzeria else "Toute la chaîne"
        messages.success(request, f"{where} : horaires habituels le {day:%d/%m/%Y}.")
    return redirect("production:opening_exceptions")


@require_http_methods(["GET", "POST"])
@staff_only([MANAGER])
def menu_prices(request, pizzeria):
    """A manager sets the pizzeria's own price of a product, a size or an option, or withdraws it there."""
    if request.method == "GET":
        return _menu_prices_page(request, pizzeria)
    form = MenuOverrideForm(request.POST)
    key = ""
    if form.is_valid():
        data = form.cleaned_data
        key = f"o{data['option']}" if data["option"] else f"s{data['size']}" if data["size"] else f"p{data['product']}"
        try:
            menu_override_set(
                pizzeria=pizzeria,
                product_id=data["product"],
                size_id=data["size"],
                option_id=data["option"],
                price=data["price"],
                withdrawn=data["withdrawn"],
            )
        except BusinessError as error:
            form.add_error("price", error.message)
        else:
            messages.success(request, "Carte de la pizzeria enregistrée.")
            return redirect(f"{reverse('production:menu_prices', args=[pizzeria.slug])}#ligne-{key}")
    else:
        key = request.POST.get("key", "")
    return _menu_prices_page(request, pizzeria, posted=form, posted_key=key, status=400)


# --- Managers' dashboard ---------------------------------------------------------


def _dashboard_context():
    now = timezone.now()
    return {"now": now, "summaries": orders.dashboard_summaries(now=now)}


def _dashboard_etag(request):
    return orders.dashboard_fingerprint(now=timezone.now())


@require_GET
@staff_only([MANAGER])
def dashboard(request):
    etag = _dashboard_etag(request)
    context = _dashboard_context()
    # The list behind the counts on the board: read only when there is something to list.
    if any(summary.pizzeria.stuck_refunds for summary in context["summaries"]):
        context["stuck_refunds"] = orders.refunds_needing_attention()
    if any(summary.pizzeria.failed_notifications for summary in context["summaries"]):
        context["failed_notifications"] = orders.notifications_failed(now=context["now"])
    return render(request, "production/dashboard.html", {"etag": etag, **context})


@require_GET
@staff_only([MANAGER])
@condition(etag_func=_dashboard_etag)
def dashboard_board(request):
    return _live(render(request, "production/_dashboard_board.html", _dashboard_context()))


@staff_only([MANAGER])
def _dashboard_stream_scope(request) -> Scope:
    """The dashboard's stream: every pizzeria's changes, and the clock (orders turning late)."""
    return Scope(
        key=("dashboard",), topics=frozenset({EVERYTHING}), version=lambda: _dashboard_etag(request), clock=True
    )


@require_GET
async def dashboard_stream(request):
    return await stream_response(request, _dashboard_stream_scope)


@require_GET
@staff_only([MANAGER])
def sales_journal(request):
    """Each pizzeria's sales journal and closings, recomputed now: intact, or the first row that does not hold."""
    checks = journal_verify_all()
    latest = closings_latest(pizzeria_ids=[check.pizzeria.pk for check in checks])
    chains = [
        {
            "journal": check,
            "closings": closings_verify(pizzeria=check.pizzeria),
            "day": latest[check.pizzeria.pk].get("day"),
            "month": latest[check.pizzeria.pk].get("month"),
        }
        for check in checks
    ]
    return render(request, "production/sales_journal.html", {"chains": chains})


@require_POST
@staff_only([MANAGER])
def sales_journal_close(request, pizzeria):
    """Close now what has ended and is not closed yet (the job does it every quarter of an hour)."""
    made = closings_make(pizzeria_id=pizzeria.pk)
    if made:
        messages.success(request, f"{pizzeria} : clôtures faites ({len(made)}).")
    else:
        messages.info(request, f"{pizzeria} : rien à clôturer, chaque journée terminée l'est déjà.")
    return redirect("production:sales_journal")


# --- Managers' reports -----------------------------------------------------------

# The CSV file of each report: its columns, and its rows from the report.
REPORT_CSV = {
    "ventes": "ventes",
    "canaux": "canaux-et-modes",
    "produits": "meilleures-ventes",
    "annulations": "annulations",
    "temps": "temps-cuisine-four-retard",
    "rythme": "pause-et-coup-de-feu",
}


def _report_presets(request, today: datetime.date, shown: tuple | None) -> list[dict]:
    """The periods a manager asks for most, as links keeping the pizzeria chosen; ``shown``: (since, until, by)."""
    keep = {"pizzeria": request.GET["pizzeria"]} if request.GET.get("pizzeria") else {}
    presets = [
        ("7 jours", today - datetime.timedelta(days=6), "jour"),
        ("30 jours", today - datetime.timedelta(days=29), "jour"),
        ("Ce mois-ci", today.replace(day=1), "jour"),
        ("12 mois", (today.replace(day=1) - datetime.timedelta(days=334)).replace(day=1), "mois"),
    ]
    return [
        {
            "label": label,
            "query": urlencode({**keep, "du": since.isoformat(), "au": today.isoformat(), "par": by}),
            "current": shown == (since, today, by),
        }
        for label, since, by in presets
    ]


def _minutes(seconds: int) -> int:
    return round(seconds / 60)


def _chart_data(report) -> dict:
    """What static/js/reports.js draws: plain numbers and labels, read from a json_script block."""

    def parts(rows):
        # A doughnut's legend says each part's share: the slices alone are hard to compare.
        return {"labels": [f"{row.label} ({row.percent:.0f} %)" for row in rows], "values": [row.count for row in rows]}

    def shares(rows):
        return {"labels": [row.label for row in rows], "values": [row.count for row in rows]}

    return {
        "sales": {
            "labels": [point.label for point in report.series],
            "current": [float(point.totals.takings) for point in report.series],
            "previous": [float(point.previous.takings) if point.previous else None for point in report.series],
            "currentLabel": f"Du {report.period.since:%d/%m/%Y} au {report.period.until:%d/%m/%Y}",
            "previousLabel": f"Du {report.previous_period.since:%d/%m/%Y} au {report.previous_period.until:%d/%m/%Y}",
        },
        "channels": parts(report.channels),
        "fulfilments": parts(report.fulfilments),
        "products": shares(report.best_sellers),
        "cancellations": shares(report.cancellations),
        "kitchen": shares(report.kitchen),
        "oven": shares(report.oven),
        "lateness": shares(report.lateness),
        "pace": {
            "labels": [point.label for point in report.series],
            "paused": [_minutes(point.totals.paused_seconds) for point in report.series],
            "busy": [_minutes(point.totals.busy_seconds) for point in report.series],
        },
    }


def _duration(seconds: int) -> str:
    hours, minutes = divmod(_minutes(seconds), 60)
    return f"{hours} h {minutes:02d}" if hours else f"{minutes} min"


def _pace(report) -> dict:
    rows = [
        {
            "label": point.label,
            "paused": _minutes(point.totals.paused_seconds),
            "busy": _minutes(point.totals.busy_seconds),
        }
        for point in report.series
    ]
    return {
        "paused": _duration(report.totals.paused_seconds),
        "busy": _duration(report.totals.busy_seconds),
        "any": bool(report.totals.paused_seconds or report.totals.busy_seconds),
        "rows": rows,
    }


def _euros(value) -> str:
    return f"{value:.2f}".replace(".", ",")


def _report_csv_rows(report, name: str) -> list[list]:
    if name == "ventes":
        header = ["période", "ventes TTC", "commandes vendues", "panier moyen", "annulations"]
        header += ["période précédente", "ventes TTC (précédente)", "commandes vendues (précédente)"]
        rows = [
            [
                point.label,
                _euros(point.totals.takings),
                point.totals.sold,
                _euros(point.totals.basket) if point.totals.basket is not None else "",
                point.totals.cancelled,
                point.previous_label,
                _euros(point.previous.takings) if point.previous else "",
                point.previous.sold if point.previous else "",
            ]
            for point in report.series
        ]
        return [header, *rows]
    if name == "canaux":
        rows = [["canal", row.label, row.count, _euros(row.amount)] for row in report.channels]
        rows += [["mode", row.label, row.count, _euros(row.amount)] for row in report.fulfilments]
        return [["axe", "valeur", "commandes vendues", "ventes TTC"], *rows]
    if name == "produits":
        return [
            ["produit", "quantité", "ventes TTC"],
            *[[r.label, r.count, _euros(r.amount)] for r in report.best_sellers],
        ]
    if name == "annulations":
        rows = [[row.label, row.count, _euros(row.amount)] for row in report.cancellations]
        return [["motif", "commandes annulées", "montant TTC"], *rows]
    if name == "temps":
        rows = [
            [measure, row.label, row.count]
            for measure, rows_of in (
                ("en cuisine", report.kitchen),
                ("au four", report.oven),
                ("retard", report.lateness),
            )
            for row in rows_of
        ]
        return [["mesure", "tranche", "commandes"], *rows]
    rows = [
        [point.label, _minutes(point.totals.paused_seconds), _minutes(point.totals.busy_seconds)]
        for point in report.series
    ]
    return [["période", "minutes en pause", "minutes en coup de feu"], *rows]


def _report_form(request) -> ReportRangeForm:
    return ReportRangeForm(request.GET or None, today=business_date(timezone.now()))


def _report_of(form: ReportRangeForm):
    data = form.cleaned_data
    pizzeria = data["pizzeria"]
    return sales_report(
        period=Period(data["since"], data["until"]),
        granularity=data["by"],
        pizzeria_id=pizzeria.pk if pizzeria is not None else None,
    )


@require_GET
@staff_only([MANAGER])
def reports(request):
    """Sales, channels, best sellers, cancellations, kitchen times and pace over a period, chain-wide or for one
    pizzeria; a period that does not hold is said beside its field and nothing else is shown."""
    form = _report_form(request)
    if not form.is_valid():
        context = {"form": form, "presets": _report_presets(request, form.today, None)}
        return render(request, "production/reports.html", context, status=400)
    report = _report_of(form)
    shown = (report.period.since, report.period.until, report.granularity)
    context = {"form": form, "presets": _report_presets(request, form.today, shown)}
    query = urlencode(
        {
            "du": report.period.since.isoformat(),
            "au": report.period.until.isoformat(),
            "par": report.granularity,
            **({"pizzeria": form.cleaned_data["pizzeria"].slug} if form.cleaned_data["pizzeria"] else {}),
        }
    )
    context |= {
        "report": report,
        "pizzeria_chosen": form.cleaned_data["pizzeria"],
        "charts": _chart_data(report),
        "pace": _pace(report),
        "query": query,
        "csv": REPORT_CSV,
    }
    return render(request, "production/reports.html", context)


@require_GET
@staff_only([MANAGER])
def reports_export(request, name: str):
    if name not in REPORT_CSV:
        raise Http404("Rapport inconnu.")
    form = _report_form(request)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(str(error) for errors in form.errors.values() for error in errors))
    report = _report_of(form)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    scope = form.cleaned_data["pizzeria"].slug if form.cleaned_data["pizzeria"] else "chaine"
    filename = f"{REPORT_CSV[name]}-{scope}-{report.period.since}-{report.period.until}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # the byte order mark by which a spreadsheet reads the file as UTF-8
    csv.writer(response, delimiter=";").writerows(_report_csv_rows(report, name))
    return response


@require_POST
@staff_only([MANAGER])
def pizzeria_pause(request, pizzeria):
    form = PauseForm(request.POST)
    if not form.is_valid() and "accepting" in form.errors:
        return HttpResponseBadRequest("Action inconnue.")
    if not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        accepting, now = form.cleaned_data["accepting"], timezone.now()
        try:
            pizzeria_set_accepting_orders(
                pizzeria=pizzeria, accepting=accepting, until=form.end(now=now), by=request.user, now=now
            )
        except InvalidPace as error:
            messages.error(request, f"{pizzeria} : {error.message}")
        else:
            done = "commandes reprises" if accepting else "nouvelles commandes en pause"
            messages.success(request, f"{pizzeria} : {done}.")
    if _is_partial(request):
        return render(request, "production/_dashboard_board.html", _dashboard_context())
    return redirect("production:dashboard")


def _first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


@require_POST
@staff_only(KITCHEN_ROLES)
def pizzeria_busy(request, pizzeria):
    """Busy mode (« coup de feu »), from the kitchen or the dashboard; back to the page it came from."""
    form = BusyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        minutes, now = form.cleaned_data["minutes"], timezone.now()
        try:
            pizzeria_set_busy(pizzeria=pizzeria, minutes=minutes, until=form.end(now=now), by=request.user, now=now)
        except InvalidPace as error:
            messages.error(request, f"{pizzeria} : {error.message}")
        else:
            done = f"coup de feu, +{minutes} min sur les délais" if minutes else "fin du coup de feu"
            messages.success(request, f"{pizzeria} : {done}.")
    if request.POST.get("back") == "dashboard":
        return redirect("production:dashboard")
    return redirect("production:kitchen", slug=pizzeria.slug)


# --- Purchasing ------------------------------------------------------------------
# Managers only; a manager of one pizzeria orders for it alone (``staff_only`` scopes the slug).


@require_GET
@staff_only([MANAGER])
def purchasing(request):
    """The suppliers and what each sells, and the pizzerias to order for."""
    own = request.staff.pizzeria
    context = {"suppliers": selectors.supplier_list(), "pizzerias": [own] if own else selectors.pizzeria_list()}
    return render(request, "production/purchasing.html", context)


@require_GET
@staff_only([MANAGER])
def purchase_orders(request, pizzeria):
    page = Paginator(selectors.purchase_orders_of(pizzeria=pizzeria), LEDGER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"pizzeria": pizzeria, "page": page, "suppliers": selectors.supplier_list()}
    return render(request, "production/purchase_orders.html", context)


@require_http_methods(["GET", "POST"])
@staff_only([MANAGER])
def par_levels(request, pizzeria):
    lines = selectors.par_level_lines(pizzeria=pizzeria)
    form = ParLevelsForm(request.POST if request.method == "POST" else None, lines=lines)
    if form.is_bound and form.is_valid():
        try:
            changed = stock_par_levels_set(pizzeria=pizzeria, levels=form.levels())
        except BusinessError as error:
            _field_error(form, error)
        else:
            messages.success(
                request, f"{pizzeria} : niveaux cibles enregistrés ({changed} modifié{'s' if changed > 1 else ''})."
            )
            return redirect("production:par_levels", slug=pizzeria.slug)
    status = 400 if form.is_bound else 200
    context = {"pizzeria": pizzeria, "form": form, "alert_percent": settings.OCPIZZA["PAR_ALERT_PERCENT"]}
    return render(request, "production/par_levels.html", context, status=status)


def _supplier_or_404(supplier_id: int):
    supplier = selectors.supplier_of(supplier_id=supplier_id)
    if supplier is None:
        raise Http404("Fournisseur inconnu.")
    return supplier


@require_GET
@staff_only([MANAGER])
def purchase_suggestion(request, pizzeria, supplier_id: int):
    supplier = _supplier_or_404(supplier_id)
    context = {
        "pizzeria": pizzeria,
        "supplier": supplier,
        "lines": selectors.purchase_suggestion(pizzeria=pizzeria, supplier=supplier),
        "weeks": settings.OCPIZZA["PURCHASE_HISTORY_WEEKS"],
    }
    return render(request, "production/purchase_suggestion.html", context)


@require_POST
@staff_only([MANAGER])
def purchase_draft(request, pizzeria, supplier_id: int):
    supplier = _supplier_or_404(supplier_id)
    try:
        order = purchase_order_draft(pizzeria=pizzeria, supplier=supplier, by=request.user)
    except BusinessError as error:
        messages.error(request, error.message)
        return redirect("production:purchase_suggestion", slug=pizzeria.slug, supplier_id=supplier.pk)
    messages.success(request, f"Brouillon n° {order.number} créé : vérifiez les quantités avant de l'envoyer.")
    return redirect("production:purchase_order", slug=pizzeria.slug, pk=order.pk)


def _purchase_order_or_404(pizzeria, pk: int) -> PurchaseOrder:
    order = selectors.purchase_order_of(pizzeria=pizzeria, order_id=pk)
    if order is None:
        raise Http404("Bon de commande inconnu.")
    return order


def _purchase_order_page(request, pizzeria, order, *, lines_form=None, receive_form=None, status=200):
    lines = list(order.lines.all())
    if order.status == PurchaseOrder.Status.DRAFT and lines_form is None:
        lines_form = PurchaseLinesForm(lines=lines)
    if order.status in (PurchaseOrder.Status.SENT, PurchaseOrder.Status.PARTIAL) and receive_form is None:
        receive_form = PurchaseReceiveForm(lines=lines)
    context = {
        "pizzeria": pizzeria,
        "order": order,
        "lines": lines,
        "total": sum((line.total for line in lines), Decimal("0")),
        "lines_form": lines_form,
        "receive_form": receive_form,
        "movements": order.movements.all(),
    }
    return render(request, "production/purchase_order.html", context, status=status)


@require_GET
@staff_only([MANAGER])
def purchase_order(request, pizzeria, pk: int):
    return _purchase_order_page(request, pizzeria, _purchase_order_or_404(pizzeria, pk))


def _field_error(form, error: BusinessError) -> None:
    """The error beside its line's field when it names one of the form's, else above the form."""
    field = error.details.get("field")
    if field in form.fields:
        form.add_error(field, error.message)
        # Added after cleaning: point the input at its message as AccessibleErrorsMixin does.
        form.fields[field].widget.attrs.update(
            {"aria-invalid": "true", "aria-describedby": f"{form[field].auto_id}_error"}
        )
    else:
        form.add_error(None, error.message)


@require_POST
@staff_only([MANAGER])
def purchase_order_lines(request, pizzeria, pk: int):
    order = _purchase_order_or_404(pizzeria, pk)
    form = PurchaseLinesForm(request.POST, lines=list(order.lines.all()))
    if form.is_valid():
        try:
            purchase_order_update_lines(order=order, packs=form.packs())
        except BusinessError as error:
            _field_error(form, error)
        else:
            messages.success(request, "Quantités enregistrées.")
            return redirect("production:purchase_order", slug=pizzeria.slug, pk=order.pk)
    return _purchase_order_page(request, pizzeria, order, lines_form=form, status=400)


@require_POST
@staff_only([MANAGER])
def purchase_order_act(request, pizzeria, pk: int, action: str):
    """Send the order to the supplier, send its e-mail again, or cancel it."""
    order = _purchase_order_or_404(pizzeria, pk)
    if action == "send" and any(key.startswith("order-line-") for key in request.POST):
        # « Envoyer » from the quantities' form: what was typed there is saved first.
        form = PurchaseLinesForm(request.POST, lines=list(order.lines.all()))
        if not form.is_valid():
            return _purchase_order_page(request, pizzeria, order, lines_form=form, status=400)
        try:
            purchase_order_update_lines(order=order, packs=form.packs())
        except BusinessError as error:
            _field_error(form, error)
            return _purchase_order_page(request, pizzeria, order, lines_form=form, status=400)
    try:
        if action == "send":
            purchase_order_send(order=order, by=request.user)
            done = f"Commande n° {order.number} envoyée à {order.supplier.name} : l'e-mail part dans un instant."
        elif action == "resend":
            purchase_order_email_resend(order=order)
            done = f"Commande n° {order.number} : nouvel envoi de l'e-mail demandé."
        else:
            purchase_order_cancel(order=order)
            done = f"Commande n° {order.number} annulée : prévenez {order.supplier.name} si elle était partie."
    except BusinessError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("production:purchase_order", slug=pizzeria.slug, pk=order.pk)


@require_POST
@staff_only([MANAGER])
def purchase_order_receive_view(request, pizzeria, pk: int):
    order = _purchase_order_or_404(pizzeria, pk)
    form = PurchaseReceiveForm(request.POST, lines=list(order.lines.all()))
    if form.is_valid():
        try:
            received = purchase_order_receive(
                order=order, received=form.packs(), by=request.user, allow_extra=form.cleaned_data["allow_extra"]
            )
        except BusinessError as error:
            _field_error(form, error)
        else:
            messages.success(request, f"Livraison enregistrée : commande {received.get_status_display()}.")
            return redirect("production:purchase_order", slug=pizzeria.slug, pk=order.pk)
    return _purchase_order_page(request, pizzeria, order, receive_form=form, status=400)


@require_GET
@staff_only([MANAGER])
def purchase_order_csv_file(request, pizzeria, pk: int):
    order = _purchase_order_or_404(pizzeria, pk)
    response = HttpResponse(purchase_order_csv(order=order), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{purchase_order_csv_name(order=order)}"'
    return response
