"""Purchasing: suggestions from the ledger, purchase orders e-mailed with their CSV, deliveries into stock."""

import datetime
import smtplib
from decimal import Decimal
from html import unescape

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from production.exceptions import InvalidParLevel, InvalidPurchaseOrder
from production.models import (
    IngredientCost,
    PurchaseOrder,
    PurchaseOrderLine,
    Stock,
    StockMovement,
    Supplier,
    SupplierItem,
)
from production.notifications import purchase_order_email_deliver
from production.selectors import past_same_weekdays, purchase_suggestion, stock_low
from production.services import (
    purchase_order_cancel,
    purchase_order_draft,
    purchase_order_email_resend,
    purchase_order_receive,
    purchase_order_send,
    purchase_order_update_lines,
    stock_par_levels_set,
)
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

# A Wednesday: an order sent today with a two-day lead time must cover Wednesday and Thursday.
TODAY = datetime.date(2026, 11, 25)


class DownBackend(BaseEmailBackend):
    """A mail server that does not answer."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})


@pytest.fixture
def supplier(shop):
    """Sells Bastille's cheese by the 2.5 kg bag, tomato by the 5 L can, dough by 60, and basil it does not stock."""
    supplier = Supplier.objects.create(name="Latteria", email="commandes@latteria.example", lead_time_days=2)
    cheese = shop.stock["cheese"].ingredient
    SupplierItem.objects.create(
        supplier=supplier, ingredient=cheese, pack_label="sac de 2,5 kg", pack_size=2500, pack_price=Decimal("18.50")
    )
    SupplierItem.objects.create(
        supplier=supplier,
        ingredient=shop.stock["tomato"].ingredient,
        pack_label="bidon de 5 L",
        pack_size=5000,
        pack_price=Decimal("11.80"),
    )
    SupplierItem.objects.create(
        supplier=supplier,
        ingredient=shop.stock["dough"].ingredient,
        pack_label="caisse de 60",
        pack_size=60,
        pack_price=Decimal("21.00"),
        reference="PAT-60",
    )
    SupplierItem.objects.create(
        supplier=supplier,
        ingredient=factories.IngredientFactory(name="basil"),
        pack_label="botte de 100 g",
        pack_size=100,
        pack_price=Decimal("2.00"),
    )
    return supplier


def at(day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def ledger_row(stock, kind, quantity, when, order=None):
    """A past ledger row, dated ``when`` (``at`` is set on creation: it is moved afterwards)."""
    if kind in (StockMovement.CONSUMPTION, StockMovement.UNCONSUMED):
        delta = {"on_hand_delta": quantity, "reserved_delta": quantity}
        order = order or factories.OrderFactory(pizzeria=stock.pizzeria)
    else:
        delta = {"on_hand_delta": quantity}
    row = StockMovement.objects.create(stock=stock, kind=kind, order=order, **delta)
    StockMovement.objects.filter(pk=row.pk).update(at=when)


def nov(day: int) -> datetime.date:
    return datetime.date(2026, 11, day)


def oct_(day: int) -> datetime.date:
    return datetime.date(2026, 10, day)


def set_figures(stock, *, on_hand, reserved=0, par_level=None):
    Stock.objects.filter(pk=stock.pk).update(on_hand=on_hand, reserved=reserved, par_level=par_level)


def by_name(suggestion):
    return {line.item.ingredient.name: line for line in suggestion}


# --- Suggestions -------------------------------------------------------------------


def test_the_same_weekdays_of_the_last_weeks_are_the_days_before_today():
    assert past_same_weekdays(day=TODAY, today=TODAY, weeks=4) == [nov(18), nov(11), nov(4), oct_(28)]
    thursday = TODAY + datetime.timedelta(days=1)
    assert past_same_weekdays(day=thursday, today=TODAY, weeks=2) == [nov(19), nov(12)]
    # Yesterday is the latest Tuesday.
    assert past_same_weekdays(day=nov(24) + datetime.timedelta(days=7), today=TODAY, weeks=1) == [nov(24)]


def test_a_suggestion_matches_a_scripted_history_computed_by_hand(shop, supplier):
    cheese, tomato, dough = shop.stock["cheese"], shop.stock["tomato"], shop.stock["dough"]
    use = StockMovement.CONSUMPTION
    # Cheese on the four past Wednesdays: 1000 + 1200 + 800 + 1000 = 4000.
    for day, quantity in [(nov(18), 1000), (nov(11), 1200), (nov(4), 800), (oct_(28), 1000)]:
        ledger_row(cheese, use, -quantity, at(day))
    # On the four past Thursdays: 1000 + 500 (at 00:30 on Thursday, still Wednesday in UTC) − 200 given back,
    # 1500, nothing, 1000 = 3800.
    ledger_row(cheese, use, -1000, at(nov(19)))
    ledger_row(cheese, use, -500, at(nov(19), 0, 30))
    ledger_row(cheese, StockMovement.UNCONSUMED, 200, at(nov(19), 18))
    ledger_row(cheese, use, -1500, at(nov(12)))
    ledger_row(cheese, use, -1000, at(oct_(29)))
    # Not counted: other weekdays, a fifth week back, today, waste, restocks, and the other pizzeria.
    ledger_row(cheese, use, -5000, at(nov(24)))
    ledger_row(cheese, use, -9999, at(oct_(21)))
    ledger_row(cheese, use, -7777, at(TODAY, 11))
    ledger_row(cheese, StockMovement.WASTE, -300, at(nov(18)))
    ledger_row(cheese, StockMovement.RESTOCK, 2000, at(nov(18)))
    other_cheese = Stock.objects.get(pizzeria=shop.other_pizzeria, ingredient=cheese.ingredient)
    ledger_row(other_cheese, use, -4000, at(nov(18)))
    ledger_row(tomato, use, -400, at(nov(18)))
    # 500 g of cheese on their way from another supplier (2 packs of 500, 1 received); drafts and
    # cancelled orders bring nothing.
    other = Supplier.objects.create(name="Autre", email="autre@example.com", lead_time_days=1)
    for status, received in [(PurchaseOrder.Status.SENT, 1), ("draft", 0), ("cancelled", 0)]:
        order = PurchaseOrder.objects.create(
            pizzeria=shop.pizzeria, supplier=other, status=status, sent_at=timezone.now()
        )
        PurchaseOrderLine.objects.create(
            order=order,
            ingredient=cheese.ingredient,
            pack_label="bloc",
            pack_size=500,
            pack_price=Decimal("4"),
            packs=2,
            packs_received=received,
        )
    set_figures(cheese, on_hand=1200, reserved=300, par_level=3000)
    set_figures(tomato, on_hand=1000)
    set_figures(dough, on_hand=10, reserved=2, par_level=50)

    lines = by_name(purchase_suggestion(pizzeria=shop.pizzeria, supplier=supplier, today=TODAY, weeks=4))

    assert list(lines) == ["basil", "cheese", "dough", "tomato"]
    # (4000 + 3800) / 4 weeks = 1950 g until Friday; 3000 par + 1950 + 300 held − 1200 − 500 coming = 3550 g.
    assert lines["cheese"].forecast == 1950
    assert lines["cheese"].on_order == 500
    assert lines["cheese"].needed == 3550
    assert lines["cheese"].packs == 2  # 3550 g in 2.5 kg bags
    # 400 / 4 = 100 ml forecast, 1000 on the shelf, no par level: nothing to order.
    assert (lines["tomato"].forecast, lines["tomato"].needed, lines["tomato"].packs) == (100, 0, 0)
    # No use at all: 50 par + 2 held − 10 = 42 pieces, one case of 60.
    assert (lines["dough"].forecast, lines["dough"].needed, lines["dough"].packs) == (0, 42, 1)
    # Not stocked here, no par level: nothing.
    assert (lines["basil"].on_hand, lines["basil"].needed, lines["basil"].packs) == (0, 0, 0)


def test_a_longer_lead_time_covers_more_days_and_the_average_rounds_up_once(shop, supplier):
    cheese = shop.stock["cheese"]
    for day in [nov(18), nov(19), nov(20), nov(11)]:  # Wed, Thu, Fri, and an earlier Wed
        ledger_row(cheese, StockMovement.CONSUMPTION, -301, at(day))
    set_figures(cheese, on_hand=0)
    Supplier.objects.filter(pk=supplier.pk).update(lead_time_days=3)
    supplier.refresh_from_db()
    lines = by_name(purchase_suggestion(pizzeria=shop.pizzeria, supplier=supplier, today=TODAY, weeks=2))
    # Wed 602 + Thu 301 + Fri 301 = 1204 over 2 weeks: 602 g.
    assert lines["cheese"].forecast == 602
    Supplier.objects.filter(pk=supplier.pk).update(lead_time_days=1)
    supplier.refresh_from_db()
    lines = by_name(purchase_suggestion(pizzeria=shop.pizzeria, supplier=supplier, today=TODAY, weeks=4))
    assert lines["cheese"].forecast == 151  # 602 / 4 = 150.5, rounded up


def test_a_draft_takes_the_suggestion_and_its_quantities_can_be_changed(shop, supplier, manager):
    set_figures(shop.stock["dough"], on_hand=10, par_level=50)
    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    packs = {line.ingredient.name: (line.suggested_packs, line.packs) for line in order.lines.all()}
    assert packs == {"basil": (0, 0), "cheese": (0, 0), "dough": (1, 1), "tomato": (0, 0)}
    lines = {line.ingredient.name: line for line in order.lines.all()}
    purchase_order_update_lines(order=order, packs={lines["cheese"].pk: 3, lines["dough"].pk: 2})
    assert {line.ingredient.name: line.packs for line in order.lines.all()}["cheese"] == 3


# --- Sending -----------------------------------------------------------------------


@pytest.fixture
def manager(shop):
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


@pytest.fixture
def draft(shop, supplier, manager):
    """Two bags of cheese and a case of dough, drafted."""
    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    lines = {line.ingredient.name: line for line in order.lines.all()}
    purchase_order_update_lines(
        order=order,
        packs={lines["cheese"].pk: 2, lines["dough"].pk: 1, lines["tomato"].pk: 0, lines["basil"].pk: 0},
    )
    return order


def lines_of(order):
    return {line.ingredient.name: line for line in PurchaseOrderLine.objects.filter(order=order)}


def test_a_sent_order_is_mailed_to_the_supplier_with_its_csv(draft, manager):
    purchase_order_send(order=draft, by=manager)
    draft.refresh_from_db()
    assert draft.status == PurchaseOrder.Status.SENT
    assert draft.email_state == PurchaseOrder.Email.PENDING
    assert set(lines_of(draft)) == {"cheese", "dough"}  # the lines at 0 are dropped
    assert mail.outbox == []  # the worker sends it, not the request

    assert run_queued_tasks() == 1
    (message,) = mail.outbox
    assert message.to == ["commandes@latteria.example"]
    assert message.subject == f"Bon de commande n° {draft.number} — OC Pizza Bastille"
    assert "2 × sac de 2,5 kg cheese" in message.body
    ((name, content, mimetype),) = message.attachments
    assert name == f"bon-de-commande-BAS-{draft.number}.csv"
    assert mimetype == "text/csv"
    assert content.splitlines() == [
        "Référence;Ingrédient;Conditionnement;Colis;Quantité;Unité;Prix du colis HT;Total HT",
        ";cheese;sac de 2,5 kg;2;5000;g;18,50;37,00",
        "PAT-60;dough;caisse de 60;1;60;pièce;21,00;21,00",
    ]
    draft.refresh_from_db()
    assert draft.email_state == PurchaseOrder.Email.SENT
    assert draft.email_attempts == 1
    assert draft.email_sent_at is not None
    # The task run again sends nothing more.
    assert purchase_order_email_deliver(order_id=draft.pk) == PurchaseOrder.Email.SENT
    assert len(mail.outbox) == 1


def test_a_mail_server_that_is_down_leaves_the_order_en_echec_and_retried_until_it_comes_back(
    draft, manager, settings, client
):
    settings.EMAIL_BACKEND = "tests.production.test_purchasing.DownBackend"
    purchase_order_send(order=draft, by=manager)
    assert run_queued_tasks() == 1
    draft.refresh_from_db()
    assert draft.status == PurchaseOrder.Status.SENT  # the order stands; its e-mail waits
    assert draft.email_state == PurchaseOrder.Email.FAILED
    assert draft.email_attempts == 1
    assert "ConnectionRefusedError" in draft.email_error
    assert draft.email_next_attempt_at > timezone.now()
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["kwargs"] == {"order_id": draft.pk}
    assert retry.run_after == draft.email_next_attempt_at

    client.force_login(manager)
    page = unescape(
        client.get(reverse("production:purchase_order", args=[draft.pizzeria.slug, draft.pk])).content.decode()
    )
    assert "Envoi en échec" in page
    assert "Nouvel essai automatique" in page

    # Too early: the queued retry is for later, nothing is tried.
    assert purchase_order_email_deliver(order_id=draft.pk) == PurchaseOrder.Email.FAILED
    assert PurchaseOrder.objects.get(pk=draft.pk).email_attempts == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = draft.email_next_attempt_at + datetime.timedelta(seconds=1)
    assert purchase_order_email_deliver(order_id=draft.pk, now=later) == PurchaseOrder.Email.SENT
    assert len(mail.outbox) == 1
    draft.refresh_from_db()
    assert (draft.email_state, draft.email_attempts, draft.email_error) == ("sent", 2, "")


def test_after_the_last_retry_the_manager_sends_it_again(draft, manager, settings, client):
    settings.EMAIL_BACKEND = "tests.production.test_purchasing.DownBackend"
    settings.NOTIFY_RETRY_SECONDS = 0  # each retry due at once: the queue runs them all
    settings.NOTIFY_RETRY_MAX_SECONDS = 0
    settings.NOTIFY_MAX_ATTEMPTS = 3
    purchase_order_send(order=draft, by=manager)
    assert run_queued_tasks() == 3
    draft.refresh_from_db()
    assert (draft.email_state, draft.email_attempts, draft.email_next_attempt_at) == ("failed", 3, None)
    client.force_login(manager)
    url = reverse("production:purchase_order", args=[draft.pizzeria.slug, draft.pk])
    assert "Renvoyer l'e-mail" in unescape(client.get(url).content.decode())

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(reverse("production:purchase_order_resend", args=[draft.pizzeria.slug, draft.pk]))
    assert response.status_code == 302
    assert run_queued_tasks() == 1
    assert len(mail.outbox) == 1
    assert PurchaseOrder.objects.get(pk=draft.pk).email_state == PurchaseOrder.Email.SENT
    with pytest.raises(InvalidPurchaseOrder):
        purchase_order_email_resend(order=draft)  # sent: nothing to send again


def test_an_address_refused_for_good_is_not_retried(draft, manager, settings):
    settings.EMAIL_BACKEND = "tests.production.test_purchasing.RefusingBackend"
    purchase_order_send(order=draft, by=manager)
    assert run_queued_tasks() == 1
    draft.refresh_from_db()
    assert (draft.email_state, draft.email_next_attempt_at) == ("failed", None)
    assert "adresse refusée" in draft.email_error


def test_a_draft_with_nothing_to_order_is_not_sent(shop, supplier, manager):
    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    with pytest.raises(InvalidPurchaseOrder, match="au moins un colis"):
        purchase_order_send(order=order, by=manager)
    assert PurchaseOrder.objects.get(pk=order.pk).status == "draft"
    assert not DBTaskResult.objects.exists()


# --- Receiving ---------------------------------------------------------------------


@pytest.fixture
def sent(draft, manager):
    purchase_order_send(order=draft, by=manager)
    return PurchaseOrder.objects.get(pk=draft.pk)


def receipts(order):
    return sorted(
        (row.stock.ingredient.name, row.on_hand_delta, row.reserved_delta, row.stock.pizzeria_id)
        for row in StockMovement.objects.filter(purchase_order=order).select_related("stock__ingredient")
    )


def test_a_partial_receipt_writes_exactly_its_ledger_rows_then_the_rest_completes_the_order(shop, sent, manager):
    before = {name: shop.figures(name) for name in ("cheese", "dough")}
    rows_before = StockMovement.objects.count()
    lines = lines_of(sent)

    order = purchase_order_receive(order=sent, received={lines["cheese"].pk: 1, lines["dough"].pk: 0}, by=manager)

    assert order.status == PurchaseOrder.Status.PARTIAL
    assert order.get_status_display() == "partiellement reçue"
    assert StockMovement.objects.count() == rows_before + 1
    assert receipts(sent) == [("cheese", 2500, 0, shop.pizzeria.pk)]
    (row,) = StockMovement.objects.filter(purchase_order=sent)
    assert row.kind == StockMovement.RECEIPT
    assert row.by == manager
    assert f"n° {sent.number}" in row.note
    assert shop.figures("cheese") == (before["cheese"][0] + 2500, before["cheese"][1])
    assert shop.figures("dough") == before["dough"]
    assert {name: line.packs_received for name, line in lines_of(sent).items()} == {"cheese": 1, "dough": 0}
    assert ledger_matches_levels()

    order = purchase_order_receive(order=sent, received={lines["cheese"].pk: 1, lines["dough"].pk: 1}, by=manager)

    assert order.status == PurchaseOrder.Status.RECEIVED
    assert order.received_at is not None
    assert receipts(sent) == [
        ("cheese", 2500, 0, shop.pizzeria.pk),
        ("cheese", 2500, 0, shop.pizzeria.pk),
        ("dough", 60, 0, shop.pizzeria.pk),
    ]
    assert shop.figures("cheese")[0] == before["cheese"][0] + 5000
    assert shop.figures("dough")[0] == before["dough"][0] + 60
    assert ledger_matches_levels()
    # The pack's price is the ingredient's cost from today: 18.50 € for 2500 g.
    cost = IngredientCost.objects.get(ingredient=lines["cheese"].ingredient)
    assert (cost.unit_cost, cost.valid_from) == (Decimal("0.0074"), timezone.localdate())


def test_an_ingredient_the_pizzeria_did_not_stock_gets_its_line(shop, supplier, manager):
    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    basil = lines_of(order)["basil"]
    purchase_order_update_lines(order=order, packs={basil.pk: 3})
    purchase_order_send(order=order, by=manager)
    purchase_order_receive(order=order, received={basil.pk: 3}, by=manager)
    line = Stock.objects.get(pizzeria=shop.pizzeria, ingredient__name="basil")
    assert (line.on_hand, line.reserved) == (300, 0)
    assert ledger_matches_levels()


def written():
    return (
        StockMovement.objects.count(),
        list(Stock.objects.order_by("pk").values_list("on_hand", "reserved", "par_level")),
        list(PurchaseOrder.objects.order_by("pk").values_list("status", "email_state")),
        list(PurchaseOrderLine.objects.order_by("pk").values_list("packs", "packs_received")),
        IngredientCost.objects.count(),
        DBTaskResult.objects.count(),
    )


@pytest.mark.parametrize(
    "received, message",
    [
        ({"cheese": -1}, "entier positif ou nul"),
        ({"cheese": 3}, "il n'en reste que 2"),
        ({"cheese": 0, "dough": 0}, "au moins un colis"),
        ({"cheese": 1, "dough": "1"}, "entier positif ou nul"),
        ({"cheese": 10_001}, "au plus 10000 colis"),
    ],
)
def test_bad_receipts_write_nothing(sent, manager, received, message):
    lines = lines_of(sent)
    before = written()
    with pytest.raises(InvalidPurchaseOrder, match=message):
        purchase_order_receive(order=sent, received={lines[name].pk: q for name, q in received.items()}, by=manager)
    assert written() == before


def test_more_than_ordered_is_received_once_confirmed(shop, sent, manager):
    lines = lines_of(sent)
    order = purchase_order_receive(order=sent, received={lines["cheese"].pk: 3}, by=manager, allow_extra=True)
    assert order.status == PurchaseOrder.Status.PARTIAL  # the dough is still awaited
    assert receipts(sent) == [("cheese", 7500, 0, shop.pizzeria.pk)]


def test_a_cancelled_or_draft_or_received_order_receives_nothing(shop, supplier, sent, draft, manager):
    another = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    dough = lines_of(another)["dough"]
    with pytest.raises(InvalidPurchaseOrder, match="pas encore été envoyée"):
        purchase_order_receive(order=another, received={dough.pk: 1}, by=manager)
    purchase_order_cancel(order=sent)
    before = written()
    with pytest.raises(InvalidPurchaseOrder, match="annulée"):
        purchase_order_receive(order=sent, received={lines_of(sent)["dough"].pk: 1}, by=manager)
    assert written() == before
    with pytest.raises(InvalidPurchaseOrder, match="ne peut plus être annulée"):
        purchase_order_cancel(order=sent)


def test_a_partly_received_order_cannot_be_cancelled_nor_a_sent_one_edited(sent, manager):
    lines = lines_of(sent)
    with pytest.raises(InvalidPurchaseOrder, match="Seul un brouillon"):
        purchase_order_update_lines(order=sent, packs={lines["cheese"].pk: 5})
    purchase_order_receive(order=sent, received={lines["cheese"].pk: 1}, by=manager)
    with pytest.raises(InvalidPurchaseOrder, match="partiellement reçue"):
        purchase_order_cancel(order=sent)


def test_a_line_of_another_order_is_refused(shop, supplier, sent, manager):
    other = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    foreign = lines_of(other)["cheese"]
    before = written()
    with pytest.raises(InvalidPurchaseOrder, match="n'appartient pas"):
        purchase_order_receive(order=sent, received={foreign.pk: 1}, by=manager)
    assert written() == before


# --- Par levels and alerts ---------------------------------------------------------


def test_a_par_level_moves_the_alert_to_a_share_of_it(shop, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "PAR_ALERT_PERCENT": 50}
    cheese = shop.stock["cheese"]  # 1200 g, low threshold 2
    lines = Stock.objects.filter(pk=cheese.pk)
    assert not lines.get().is_low and not stock_low(lines).exists()
    stock_par_levels_set(pizzeria=shop.pizzeria, levels={cheese.pk: 2400})  # alert at 1200
    assert lines.get().alert_threshold == 1200
    assert lines.get().is_low and stock_low(lines).exists()
    stock_par_levels_set(pizzeria=shop.pizzeria, levels={cheese.pk: 2399})  # 1199.5: not yet
    assert lines.get().alert_threshold == 1199
    assert not lines.get().is_low
    assert not stock_low(lines).exists()
    Stock.objects.filter(pk=cheese.pk).update(reserved=1)  # 1199 available
    assert lines.get().is_low and stock_low(lines).exists()
    stock_par_levels_set(pizzeria=shop.pizzeria, levels={cheese.pk: None})  # back to the low threshold
    assert not lines.get().is_low and not stock_low(lines).exists()


@pytest.fixture
def alert_grid(shop):
    """Lines on either side of every kind of alert: low thresholds, par levels of 0, 1, odd and even, and
    what orders hold."""
    combinations = [
        (on_hand, reserved, low, par)
        for on_hand in (0, 1, 7, 50, 99, 100, 101)
        for reserved in (0, 1)
        for low, par in ((0, None), (7, None), (50, None), (3, 0), (0, 1), (0, 13), (0, 100), (0, 201))
        if reserved <= on_hand
    ]
    ingredients = factories.IngredientFactory.create_batch(len(combinations))
    Stock.objects.bulk_create(
        Stock(
            pizzeria=shop.pizzeria,
            ingredient=ingredient,
            on_hand=on_hand,
            reserved=reserved,
            low_threshold=low,
            par_level=par,
        )
        for ingredient, (on_hand, reserved, low, par) in zip(ingredients, combinations, strict=True)
    )
    return Stock.objects.filter(ingredient__in=ingredients)


@pytest.mark.parametrize("percent", [1, 33, 50, 67, 99, 100])
def test_the_low_lines_read_are_exactly_those_under_their_alert(alert_grid, settings, percent):
    settings.OCPIZZA = {**settings.OCPIZZA, "PAR_ALERT_PERCENT": percent}
    expected = {line.pk for line in alert_grid if line.is_low}
    assert expected and expected != {line.pk for line in alert_grid}
    assert set(stock_low(alert_grid).values_list("pk", flat=True)) == expected


@pytest.mark.postgres
def test_the_low_lines_are_read_from_the_alert_indexes_alone(alert_grid):
    """The chain's dashboard reads every pizzeria's low lines on each refresh: from the two indexes of the
    lines under their alert, not by reading and comparing every line (their expressions must stay those of
    ``stock_low``)."""
    from django.db import connection

    sql, params = stock_low(Stock.objects.all()).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Each index searched for the lines under the alert, not walked whole in place of the table.
    scans = plan.split("Bitmap Index Scan on ")[1:]
    assert sorted(scan.split()[0] for scan in scans if "Index Cond" in scan) == [
        "stock_above_threshold_idx",
        "stock_par_share_idx",
    ], plan


def test_bad_par_levels_write_nothing(shop):
    before = written()
    for levels in [{shop.stock["cheese"].pk: 10, shop.stock["ham"].pk: -1}, {shop.stock["ham"].pk: "5"}]:
        with pytest.raises(InvalidParLevel):
            stock_par_levels_set(pizzeria=shop.pizzeria, levels=levels)
    other_line = Stock.objects.filter(pizzeria=shop.other_pizzeria).first()
    with pytest.raises(InvalidParLevel, match="pas celle de cette pizzeria"):
        stock_par_levels_set(pizzeria=shop.pizzeria, levels={other_line.pk: 10})
    assert written() == before


def test_the_daily_report_and_its_alert_use_the_par_level(shop):
    from ocpizzapp.ops.daily import low_stock_alert, report_write

    factories.StaffMemberFactory(role="manager", pizzeria=None, user__email="chef@ocpizza.fr")
    stock_par_levels_set(pizzeria=shop.pizzeria, levels={shop.stock["cheese"].pk: 3000})  # alert at 1500
    report = report_write(pizzeria=shop.pizzeria, day=TODAY)
    (item,) = report.low_stock
    assert (item["ingredient"], item["threshold"], item["par_level"]) == ("cheese", 1500, 3000)
    assert low_stock_alert(report=report, now=timezone.now())
    assert "- cheese : 1200 disponibles (1200 en stock, 0 réservés) (niveau cible 3000, alerte à 1500)" in (
        mail.outbox[0].body
    )


# --- Racing on PostgreSQL ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_receipts_of_one_order_never_receive_the_same_packs_twice(shop, supplier, manager):
    """Ten tablets record the same delivery of two bags at once: one goes through, the others are refused."""
    from ..ventes.test_races import race

    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    cheese = lines_of(order)["cheese"]
    purchase_order_update_lines(order=order, packs={cheese.pk: 2})
    purchase_order_send(order=order, by=manager)
    on_hand = shop.figures("cheese")[0]

    def attempt(index):
        try:
            purchase_order_receive(order=order, received={cheese.pk: 2}, by=manager)
        except InvalidPurchaseOrder:
            raise RefusedError from None

    class RefusedError(Exception):
        pass

    outcomes = race(10, attempt)

    assert outcomes["ok"] == 1, outcomes
    assert sum(outcomes.values()) == 10 and set(outcomes) == {"ok", repr(RefusedError())}, outcomes
    assert receipts(order) == [("cheese", 5000, 0, shop.pizzeria.pk)]
    assert shop.figures("cheese")[0] == on_hand + 5000
    assert PurchaseOrder.objects.get(pk=order.pk).status == PurchaseOrder.Status.RECEIVED
    assert ledger_matches_levels()


# --- Screens -----------------------------------------------------------------------


def url(name, shop, *args):
    return reverse(f"production:{name}", args=[shop.pizzeria.slug, *args])


def page_text(response):
    return unescape(response.content.decode())


def test_the_purchasing_screens_are_for_managers_and_their_own_pizzeria(client, shop, sent):
    pizzaiolo = factories.StaffMemberFactory(role="pizzaiolo", pizzeria=shop.pizzeria).user
    client.force_login(pizzaiolo)
    for name, args in [("purchase_orders", []), ("par_levels", []), ("purchase_order", [sent.pk])]:
        assert client.get(url(name, shop, *args)).status_code == 403
    assert client.get(reverse("production:purchasing")).status_code == 403
    lines = lines_of(sent)
    response = client.post(url("purchase_order_receive", shop, sent.pk), {f"receive-line-{lines['cheese'].pk}": "1"})
    assert response.status_code == 403
    # A manager of Montmartre does not see Bastille's orders.
    montmartre = factories.StaffMemberFactory(role="manager", pizzeria=shop.other_pizzeria).user
    client.force_login(montmartre)
    assert client.get(url("purchase_order", shop, sent.pk)).status_code == 404
    other_url = reverse("production:purchase_order", args=[shop.other_pizzeria.slug, sent.pk])
    assert client.get(other_url).status_code == 404
    assert StockMovement.objects.filter(purchase_order=sent).count() == 0


def test_from_suggestion_to_receipt_through_the_screens(client, shop, supplier, manager):
    Stock.objects.filter(pk=shop.stock["dough"].pk).update(par_level=50)
    client.force_login(manager)
    page = page_text(client.get(url("purchase_suggestion", shop, supplier.pk)))
    assert "Suggestion de commande" in page and "caisse de 60" in page
    response = client.post(url("purchase_draft", shop, supplier.pk))
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302 and response.url == url("purchase_order", shop, order.pk)
    lines = lines_of(order)
    form = {f"order-line-{line.pk}": str(line.packs) for line in lines.values()}

    # A negative quantity: the message beside its field, nothing written.
    before = written()
    response = client.post(
        url("purchase_order_lines", shop, order.pk), {**form, f"order-line-{lines['cheese'].pk}": "-2"}
    )
    assert response.status_code == 400
    assert "Le nombre de colis ne peut pas être négatif." in page_text(response)
    assert f'id="id_order-line-{lines["cheese"].pk}_error"' in page_text(response)
    assert written() == before

    form[f"order-line-{lines['cheese'].pk}"] = "2"
    assert client.post(url("purchase_order_lines", shop, order.pk), form).status_code == 302
    assert client.post(url("purchase_order_send", shop, order.pk)).status_code == 302
    run_queued_tasks()
    assert len(mail.outbox) == 1
    page = page_text(client.get(url("purchase_order", shop, order.pk)))
    assert "envoyée" in page and "Réception de la livraison" in page

    # More than ordered without the confirmation: refused beside the line.
    receive = {f"receive-line-{lines['cheese'].pk}": "3", f"receive-line-{lines['dough'].pk}": "0"}
    before = written()
    response = client.post(url("purchase_order_receive", shop, order.pk), receive)
    assert response.status_code == 400
    assert "Cochez la confirmation" in page_text(response)
    assert written() == before
    receive[f"receive-line-{lines['cheese'].pk}"] = "1"
    response = client.post(url("purchase_order_receive", shop, order.pk), receive)
    assert response.status_code == 302
    page = page_text(client.get(url("purchase_order", shop, order.pk)))
    assert "partiellement reçue" in page
    assert "réception fournisseur" in page and "+2500" in page
    ledger = page_text(client.get(url("stock_ledger", shop)))
    assert f"bon n° {order.number}" in ledger
    csv = client.get(url("purchase_order_csv", shop, order.pk))
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert "sac de 2,5 kg;2;5000" in csv.content.decode()

    # Cancelled: the receipt form is gone and a posted one is refused.
    other = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    client.post(url("purchase_order_cancel", shop, other.pk))
    assert PurchaseOrder.objects.get(pk=other.pk).status == "cancelled"
    before = written()
    other_line = lines_of(other)["dough"]
    response = client.post(url("purchase_order_receive", shop, other.pk), {f"receive-line-{other_line.pk}": "1"})
    assert response.status_code == 400
    assert "annulée : rien ne peut y être reçu" in page_text(response)
    assert written() == before


def test_par_levels_are_set_on_their_screen_and_bad_ones_write_nothing(client, shop, manager):
    client.force_login(manager)
    cheese, ham = shop.stock["cheese"], shop.stock["ham"]
    page = page_text(client.get(url("par_levels", shop)))
    assert "Niveaux cibles" in page and "50 %" in page
    form = {f"par-{line.pk}": "" for line in shop.stock.values()}
    before = written()
    for bad in ["-5", "abc", "1,5", "٣"]:
        response = client.post(url("par_levels", shop), {**form, f"par-{cheese.pk}": "3000", f"par-{ham.pk}": bad})
        assert response.status_code == 400
        assert f'id="id_par-{ham.pk}_error"' in page_text(response)
    assert "Le niveau cible ne peut pas être négatif" in page_text(
        client.post(url("par_levels", shop), {**form, f"par-{ham.pk}": "-5"})
    )
    assert written() == before
    response = client.post(url("par_levels", shop), {**form, f"par-{cheese.pk}": "3000"})
    assert response.status_code == 302
    assert Stock.objects.get(pk=cheese.pk).par_level == 3000
    stock_page = page_text(client.get(url("stock", shop)))
    assert f'<tr class="is-low" id="stock-{cheese.pk}">' in stock_page  # 1200 g left: under 1500, half of 3000
    assert "Niveau cible" in stock_page


def test_the_purchasing_screens_cost_the_same_queries_with_more_suppliers_orders_and_lines(
    client, shop, supplier, manager, django_assert_max_num_queries
):
    def more(start, count):
        for index in range(start, start + count):
            extra = Supplier.objects.create(name=f"Fournisseur {index}", email=f"f{index}@example.com")
            for name in ("cheese", "ham", "tomato"):
                SupplierItem.objects.create(
                    supplier=extra,
                    ingredient=shop.stock[name].ingredient,
                    pack_label="colis",
                    pack_size=100,
                    pack_price=Decimal("1"),
                )
            order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=extra, by=manager)
            purchase_order_update_lines(order=order, packs={line.pk: 1 for line in order.lines.all()})
            purchase_order_send(order=order, by=manager)
            purchase_order_receive(order=order, received={line.pk: 1 for line in order.lines.all()}, by=manager)
            ledger_row(
                shop.stock["cheese"],
                StockMovement.CONSUMPTION,
                -10,
                at(timezone.localdate() - datetime.timedelta(days=7)),
            )

    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    client.force_login(manager)
    # Session, user and staff member, the pizzeria (by slug), then each screen's own reads.
    pages = {
        reverse("production:purchasing"): 7,  # suppliers, their items, the pizzerias with their hours
        url("purchase_orders", shop): 7,  # the orders counted and listed, suppliers and their items
        url("par_levels", shop): 4,
        url("purchase_suggestion", shop, supplier.pk): 8,  # supplier, items, stock, ledger, on order
        url("purchase_order", shop, order.pk): 6,  # the order, its lines, its ledger rows
    }

    def counts():
        found = {}
        for page_url, most in pages.items():
            with django_assert_max_num_queries(most) as captured:
                assert client.get(page_url).status_code == 200
            found[page_url] = len(captured)
        return found

    few = counts()
    more(0, 5)
    sent = PurchaseOrder.objects.filter(status="received").first()
    few_received = counts_of(client, url("purchase_order", shop, sent.pk))
    more(5, 10)
    assert counts() == few
    assert counts_of(client, url("purchase_order", shop, sent.pk)) == few_received


def counts_of(client, page_url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(page_url).status_code == 200
    return len(captured)


def test_send_from_the_quantities_form_saves_what_was_typed_first(client, shop, supplier, manager):
    client.force_login(manager)
    order = purchase_order_draft(pizzeria=shop.pizzeria, supplier=supplier, by=manager)
    lines = lines_of(order)
    form = {f"order-line-{line.pk}": "0" for line in lines.values()}
    before = written()
    response = client.post(
        url("purchase_order_send", shop, order.pk), {**form, f"order-line-{lines['cheese'].pk}": "-1"}
    )
    assert response.status_code == 400
    assert "Le nombre de colis ne peut pas être négatif." in page_text(response)
    assert written() == before
    response = client.post(url("purchase_order_send", shop, order.pk), form)
    assert "Commandez au moins un colis" in page_text(client.get(response.url))
    assert PurchaseOrder.objects.get(pk=order.pk).status == "draft"
    response = client.post(
        url("purchase_order_send", shop, order.pk), {**form, f"order-line-{lines['cheese'].pk}": "4"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "sent"
    assert {line.ingredient.name: line.packs for line in order.lines.all()} == {"cheese": 4}


# --- Back-office -------------------------------------------------------------------


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(email="boss@ocpizza.fr", password="x-solide-2026"))
    return client


def supplier_post(cheese, **item):
    return {
        "name": "Caseificio",
        "email": "ordini@caseificio.example",
        "phone": "",
        "lead_time_days": "2",
        "is_active": "on",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-ingredient": cheese.pk,
        "items-0-reference": "",
        "items-0-pack_label": "sac de 2,5 kg",
        "items-0-pack_size": "2500",
        "items-0-pack_price": "18.50",
        **{f"items-0-{key}": value for key, value in item.items()},
    }


def test_suppliers_and_their_items_are_kept_in_the_back_office(admin_client, shop):
    cheese = shop.stock["cheese"].ingredient
    for bad in [{"pack_price": "-1"}, {"pack_size": "0"}]:
        response = admin_client.post("/admin/production/supplier/add/", supplier_post(cheese, **bad))
        assert response.status_code == 200
        assert not Supplier.objects.exists()
    response = admin_client.post("/admin/production/supplier/add/", supplier_post(cheese))
    assert response.status_code == 302
    item = SupplierItem.objects.get()
    assert (item.supplier.name, item.pack_size, item.pack_price) == ("Caseificio", 2500, Decimal("18.50"))


def test_purchase_orders_are_read_only_in_the_back_office(admin_client, sent, manager):
    purchase_order_receive(order=sent, received={lines_of(sent)["cheese"].pk: 1}, by=manager)
    for path in ["/admin/production/supplier/", "/admin/production/purchaseorder/", "/admin/production/stockmovement/"]:
        assert admin_client.get(path).status_code == 200
    page = page_text(admin_client.get(f"/admin/production/purchaseorder/{sent.pk}/change/"))
    assert "sac de 2,5 kg" in page
    assert admin_client.get("/admin/production/purchaseorder/add/").status_code == 403


def test_a_par_level_is_set_in_the_back_office_too(admin_client, shop):
    stock = shop.stock["ham"]
    data = {"pizzeria": stock.pizzeria_id, "ingredient": stock.ingredient_id, "on_hand": "300", "low_threshold": "2"}
    response = admin_client.post(f"/admin/production/stock/{stock.pk}/change/", {**data, "par_level": "-1"})
    assert response.status_code == 200
    assert Stock.objects.get(pk=stock.pk).par_level is None
    response = admin_client.post(f"/admin/production/stock/{stock.pk}/change/", {**data, "par_level": "900"})
    assert response.status_code == 302
    assert Stock.objects.get(pk=stock.pk).par_level == 900
