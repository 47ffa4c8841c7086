import datetime
import logging
from decimal import Decimal

import pytest
from django.utils import timezone

from production.exceptions import SoldOut
from production.models import Allergen, OpeningHours, Pizzeria, StockMovement
from production.services import pizzeria_set_accepting_orders, stock_count_inventory
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.queue import run_queued_tasks
from ventes.exceptions import InvalidOrder, PizzeriaUnavailable
from ventes.models import Order, OrderEvent, OrderLine, OrderState
from ventes.pricing import order_totals
from ventes.selectors import pizzeria_get
from ventes.services import LineRequest

from .helpers import place

# What checking an order reads of the catalogue when this process does not keep it: the catalogue itself
# (``catalogue_for``) and the allergens of the ingredients.
CATALOGUE_QUERIES = 7

pytestmark = pytest.mark.django_db


def nothing_written():
    return not (Order.objects.exists() or OrderLine.objects.exists() or OrderEvent.objects.exists()) and not (
        StockMovement.objects.filter(order__isnull=False).exists()
    )


def test_order_is_priced_numbered_reserved_and_queued(shop):
    order = place(shop, [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)])
    assert order.state == OrderState.RECEIVED
    assert order.number == f"BAS-{timezone.localdate():%y%m%d}-001"
    assert order.subtotal == Decimal("23.50")
    assert order.total == Decimal("23.50")
    # 19.00 at 10 % → 1.73; 4.50 at 20 % → 0.75
    assert order.vat_total == Decimal("2.48")
    lines = {line.product_name: (line.quantity, line.unit_price, line.vat_rate) for line in order.lines.all()}
    assert lines == {
        "Margherita": (2, Decimal("9.50"), Decimal("10.00")),
        "Peroni": (1, Decimal("4.50"), Decimal("20.00")),
    }
    assert (shop.level("dough"), shop.level("cheese"), shop.level("beer")) == (8, 1000, 23)
    assert list(order.events.values_list("from_state", "to_state")) == [("", "received")]
    assert order.estimated_ready_at > timezone.now()
    assert ledger_matches_levels()
    assert place(shop).number.endswith("-002")


def test_an_idempotency_key_places_one_order_whatever_is_asked_again(shop):
    first = place(shop, idempotency_key="form-token")
    again = place(shop, [LineRequest(shop.regina.pk, 3)], idempotency_key="form-token")
    elsewhere = place(shop, pizzeria_id=shop.other_pizzeria.pk, idempotency_key="form-token")
    assert again == elsewhere == first
    assert Order.objects.count() == 1 and shop.level("dough") == 9
    assert place(shop, idempotency_key="another-form-token") != first


def test_delivery_adds_the_fee_and_its_vat(shop):
    order = place(shop, fulfilment="delivery")
    assert (order.subtotal, order.delivery_fee, order.total) == (Decimal("9.50"), Decimal("2.50"), Decimal("12.00"))
    assert order.vat_total == Decimal("1.09")
    assert order.delivery_address == "8 rue Keller"


def test_prices_come_from_the_catalogue_and_are_snapshotted(shop):
    order = place(shop)
    shop.margherita.price = Decimal("99.00")
    shop.margherita.save()
    line = order.lines.get()
    assert line.unit_price == Decimal("9.50")
    assert Order.objects.get(pk=order.pk).total == Decimal("9.50")
    with pytest.raises(TypeError):
        LineRequest(shop.margherita.pk, 1, Decimal("0.01"))


def test_vat_breakdown_rounds_per_rate():
    from ventes.pricing import PricedLine

    totals = order_totals(
        lines=[PricedLine(Decimal("9.50"), 3, Decimal("10.00")), PricedLine(Decimal("4.50"), 1, Decimal("20.00"))],
        delivery_fee=Decimal("2.50"),
    )
    assert [(row.rate, row.amount_incl_vat, row.vat) for row in totals.vat_rows] == [
        (Decimal("10.00"), Decimal("31.00"), Decimal("2.82")),
        (Decimal("20.00"), Decimal("4.50"), Decimal("0.75")),
    ]
    assert totals.total == Decimal("35.50")


def test_sold_out_writes_nothing_and_says_what_is_left(shop):
    with pytest.raises(SoldOut) as error:
        place(shop, [LineRequest(shop.regina.pk, 6), LineRequest(shop.beer.pk, 1)])
    assert error.value.code == "sold_out"
    assert [(s.product_name, s.requested, s.available) for s in error.value.shortages] == [("Regina", 6, 5)]
    assert "Regina : plus que 5" in error.value.message
    assert nothing_written()
    assert (shop.level("ham"), shop.level("beer"), shop.level("dough")) == (300, 24, 10)


def test_sold_out_when_products_compete_for_one_ingredient(shop):
    with pytest.raises(SoldOut) as error:
        place(shop, [LineRequest(shop.regina.pk, 5), LineRequest(shop.margherita.pk, 6)])
    assert {s.product_name for s in error.value.shortages} == {"Regina", "Margherita"}
    assert nothing_written()


def test_fully_sold_out_product(shop):
    stock_count_inventory(stock=shop.stock["ham"], counted=0)
    with pytest.raises(SoldOut) as error:
        place(shop, [LineRequest(shop.regina.pk, 1)])
    assert "Regina : épuisé" in error.value.message


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "au moins 1"),
        (-1, "au moins 1"),
        (10**9, "Au plus 50"),
        ("abc", "au moins 1"),
        (True, "au moins 1"),
        (2.5, "au moins 1"),
    ],
)
def test_bad_quantities_are_refused(shop, quantity, message):
    with pytest.raises(InvalidOrder) as error:
        place(shop, [LineRequest(shop.margherita.pk, quantity)])
    assert message in error.value.message
    assert nothing_written()


def test_duplicate_lines_are_merged_then_bounded(shop):
    with pytest.raises(InvalidOrder):
        place(shop, [LineRequest(shop.margherita.pk, 30), LineRequest(shop.margherita.pk, 30)])
    order = place(shop, [LineRequest(shop.margherita.pk, 1), LineRequest(shop.margherita.pk, 2)])
    assert list(order.lines.values_list("quantity", flat=True)) == [3]


def test_too_many_lines_and_empty_orders(shop, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "MAX_ORDER_LINES": 2}
    with pytest.raises(InvalidOrder, match="au plus 2 lignes"):
        place(shop, [LineRequest(shop.margherita.pk, 1)] * 3)
    with pytest.raises(InvalidOrder, match="vide"):
        place(shop, [])
    assert nothing_written()


def test_unknown_inactive_or_foreign_products_are_refused(shop):
    foreign = factories.ProductFactory(pizzerias=[shop.other_pizzeria])
    inactive = factories.ProductFactory(pizzerias=[shop.pizzeria], is_active=False)
    for product_id in (999_999, foreign.pk, inactive.pk, "1"):
        with pytest.raises(InvalidOrder):
            place(shop, [LineRequest(product_id, 1)])
    assert nothing_written()


def test_inactive_pizzeria_even_when_closed_while_the_order_was_checked(shop):
    read_while_active = Pizzeria.objects.prefetch_related("opening_hours").get(pk=shop.pizzeria.pk)
    shop.pizzeria.is_active = False
    shop.pizzeria.save()
    with pytest.raises(InvalidOrder, match="Pizzeria inconnue"):
        place(shop)
    with pytest.raises(InvalidOrder, match="Pizzeria inconnue"):
        place(shop, pizzeria=read_while_active)  # the row lock reads it again
    assert nothing_written()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_name", "   "),
        ("customer_phone", ""),
        ("payment_method", "bitcoin"),
        ("channel", "fax"),
        ("fulfilment", "drone"),
    ],
)
def test_missing_or_unknown_fields(shop, field, value):
    with pytest.raises(InvalidOrder):
        place(shop, **{field: value})
    assert nothing_written()


def test_delivery_needs_an_address(shop):
    with pytest.raises(InvalidOrder, match="adresse"):
        place(shop, fulfilment="delivery", delivery_address=None)
    assert nothing_written()


def test_online_card_only_on_the_web(shop):
    with pytest.raises(InvalidOrder):
        place(shop, channel="phone", payment_method="online_card")
    order = place(shop, payment_method="online_card")
    assert order.state == OrderState.PENDING_PAYMENT


def test_paused_pizzeria_refuses_immediate_orders(shop):
    pizzeria_set_accepting_orders(pizzeria=shop.pizzeria, accepting=False)
    with pytest.raises(PizzeriaUnavailable) as error:
        place(shop)
    assert "débordée" in error.value.message
    with pytest.raises(PizzeriaUnavailable):
        place(shop, requested_for=timezone.now() + datetime.timedelta(minutes=20))
    assert nothing_written()
    later = place(shop, requested_for=timezone.now() + datetime.timedelta(hours=2))
    assert later.requested_for is not None


def closed_now(pizzeria):
    """Open only from midnight to 00:01 on every day but today: closed now, whatever the hour."""
    OpeningHours.objects.filter(pizzeria=pizzeria).delete()
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    OpeningHours.objects.create(
        pizzeria=pizzeria, weekday=tomorrow.weekday(), opens=datetime.time(12), closes=datetime.time(14)
    )
    return timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time(12, 30)))


def test_closed_pizzeria_takes_only_later_slots_within_its_hours(shop):
    slot = closed_now(shop.pizzeria)
    with pytest.raises(PizzeriaUnavailable, match="fermée"):
        place(shop)
    with pytest.raises(InvalidOrder, match="fermée à ce moment-là"):
        place(shop, requested_for=slot + datetime.timedelta(hours=3))
    assert nothing_written()
    assert place(shop, requested_for=slot).state == OrderState.RECEIVED


def test_hours_changed_on_another_server_stop_the_next_order_here(shop):
    """The hours are kept in memory like the catalogue, under its revision: closing the pizzeria on another
    server reaches this one's next order, whatever this server's own cache says."""
    from django.core.cache import cache

    from production.cache import CATALOGUE_KEY

    place(shop, pizzeria=pizzeria_get(pk=shop.pizzeria.pk))  # this server keeps the hours now
    version_here = cache.get(CATALOGUE_KEY)
    closed_now(shop.pizzeria)
    cache.set(CATALOGUE_KEY, version_here)
    with pytest.raises(PizzeriaUnavailable, match="fermée"):
        place(shop, pizzeria=pizzeria_get(pk=shop.pizzeria.pk))


def test_slots_in_the_past_or_too_far_are_refused(shop):
    with pytest.raises(InvalidOrder, match="déjà passé"):
        place(shop, requested_for=timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(InvalidOrder, match="jours à l'avance"):
        place(shop, requested_for=timezone.now() + datetime.timedelta(days=8))
    assert nothing_written()


def test_placing_costs_the_same_queries_whatever_the_menu_and_order_size(shop, django_assert_num_queries, on_postgres):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Pizzeria.objects.filter(pk=shop.pizzeria.pk).update(pizzas_per_oven=10)  # room for the bigger order's pizzas
    pizzeria = pizzeria_get(pk=shop.pizzeria.pk)
    with CaptureQueriesContext(connection) as small:
        place(shop, [LineRequest(shop.margherita.pk, 1)], pizzeria=pizzeria)
    # The catalogue (products, their sizes, option groups and recipes, the pizzeria's own prices, formulas), the
    # allergens of the lines' ingredients, the queue ahead; the pizzeria's lock, the load of the next slots, the
    # day's last number, the order, its lines, the stock (lock, update, ledger), its history row, its
    # notification's task row; the test's own savepoint; on PostgreSQL, its announcement to the live screens.
    assert len(small) == 20 + on_postgres
    added = []
    for _ in range(30):
        product = factories.ProductFactory(pizzerias=[shop.pizzeria], price=Decimal("10.00"))
        factories.RecipeLineFactory(product=product, ingredient=shop.stock["tomato"].ingredient, quantity=1)
        added.append(product)
    bigger_order = [LineRequest(shop.margherita.pk, 2), LineRequest(shop.regina.pk, 1), LineRequest(shop.beer.pk, 3)]
    bigger_order += [LineRequest(product.pk, 1) for product in added[:10]]
    pizzeria = pizzeria_get(pk=shop.pizzeria.pk)  # as the next request reads it: the catalogue has changed
    with django_assert_num_queries(len(small)):
        place(shop, bigger_order, pizzeria=pizzeria)
    # Unchanged since, the catalogue is not read again: the process keeps it under the catalogue's revision.
    with CaptureQueriesContext(connection) as kept:
        place(shop, bigger_order, pizzeria=pizzeria)
    assert len(kept) == len(small) - CATALOGUE_QUERIES
    assert not any('FROM "production_product"' in query["sql"] for query in kept.captured_queries)


def test_an_order_is_priced_at_a_price_changed_on_another_server(shop):
    """Each server keeps the catalogue in memory; a change committed on another one reaches its next order,
    whatever this server's own cache says: the catalogue's revision is read with the pizzeria."""
    from django.core.cache import cache

    from production.cache import CATALOGUE_KEY

    place(shop, [LineRequest(shop.margherita.pk, 1)], pizzeria=pizzeria_get(pk=shop.pizzeria.pk))
    version_here = cache.get(CATALOGUE_KEY)
    shop.margherita.price = Decimal("13.50")
    shop.margherita.save()
    cache.set(CATALOGUE_KEY, version_here)  # this server's own cache never heard of it: another server's change
    order = place(shop, [LineRequest(shop.margherita.pk, 1)], pizzeria=pizzeria_get(pk=shop.pizzeria.pk))
    assert OrderLine.objects.get(order=order).unit_price == Decimal("13.50")


def test_an_allergen_added_on_another_server_is_on_the_next_order_here(shop):
    """The allergens of the ingredients are kept in memory like the catalogue, under its revision."""
    from django.core.cache import cache

    from production.cache import CATALOGUE_KEY

    place(shop, [LineRequest(shop.margherita.pk, 1)], pizzeria=pizzeria_get(pk=shop.pizzeria.pk))
    version_here = cache.get(CATALOGUE_KEY)
    shop.stock["tomato"].ingredient.allergens.add(Allergen.objects.create(name="Céleri (test)"))
    cache.set(CATALOGUE_KEY, version_here)
    order = place(shop, [LineRequest(shop.margherita.pk, 1)], pizzeria=pizzeria_get(pk=shop.pizzeria.pk))
    assert "Céleri (test)" in OrderLine.objects.get(order=order).allergens


def test_only_writes_wait_for_the_pizzeria_lock(shop):
    """Orders of a pizzeria queue up on its row: checks, prices and estimates are done before taking it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pizzeria = pizzeria_get(pk=shop.pizzeria.pk)
    with CaptureQueriesContext(connection) as queries:
        place(shop, [LineRequest(shop.margherita.pk, 1), LineRequest(shop.beer.pk, 1)], pizzeria=pizzeria)
    statements = [query["sql"] for query in queries.captured_queries]
    lock = next(index for index, sql in enumerate(statements) if 'FROM "production_pizzeria"' in sql)
    reads = [sql for sql in statements[lock + 1 :] if sql.startswith("SELECT")]
    # The room left in the order's slot must be read behind the lock: racing orders see each other's load.
    assert len(reads) == 3
    assert 'SUM("ventes_order"."oven_load")' in reads[0]
    assert 'MAX("ventes_order"."daily_sequence")' in reads[1] and 'FROM "production_stock"' in reads[2]


def test_customer_is_mailed_by_the_worker(shop, mailoutbox):
    order = place(shop)
    assert mailoutbox == []
    run_queued_tasks()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["camille@example.com"]
    assert order.number in mailoutbox[0].subject
    assert "Nous avons bien reçu" in mailoutbox[0].body


def test_no_mail_for_an_order_awaiting_online_payment(shop, mailoutbox):
    place(shop, payment_method="online_card")
    run_queued_tasks()
    assert mailoutbox == []


def test_a_failing_mail_server_does_not_undo_the_order(shop, settings, caplog):
    settings.EMAIL_BACKEND = "tests.ventes.helpers.BrokenEmailBackend"
    with caplog.at_level(logging.WARNING, logger="ventes.notifications"):
        order = place(shop)
        run_queued_tasks()
    assert Order.objects.filter(pk=order.pk, state=OrderState.RECEIVED).exists()
    notification = order.notifications.get()
    assert notification.status == "pending" and "ConnectionRefusedError" in notification.last_error
    assert f"ocpizza-{order.pk}-received-email delayed" in caplog.text
