"""The managers' reports: the facts summed from a known set of orders match the figures counted by hand."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ocpizzapp.ops.daily import daily_update
from production.models import PizzeriaEvent
from tests import factories
from ventes.models import Order, OrderEvent, OrderState, SalesFact, SalesFactCount
from ventes.reports import Period, facts_refresh, sales_report

D1, D2, D3 = datetime.date(2026, 11, 2), datetime.date(2026, 11, 3), datetime.date(2026, 11, 4)
AFTER = timezone.make_aware(datetime.datetime(2026, 11, 10, 12, 0))


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def order(pizzeria, day, total, *, channel="web", fulfilment="pickup", state="completed", reason="", lines=(), **extra):
    placed = factories.OrderFactory(
        pizzeria=pizzeria,
        business_date=day,
        total=Decimal(total),
        subtotal=Decimal(total),
        channel=channel,
        fulfilment=fulfilment,
        delivery_address="8 rue Keller" if fulfilment == "delivery" else "",
        state=state,
        cancel_reason=reason,
        **extra,
    )
    for product, quantity, price in lines:
        factories.OrderLineFactory(
            order=placed, product=product, product_name=product.name, quantity=quantity, unit_price=Decimal(price)
        )
    return placed


def stamps(placed, **moments):
    """The order's state events at the given moments (``received=…, preparing=…, ready=…``)."""
    for state, moment in moments.items():
        event = OrderEvent.objects.create(order=placed, type="state_moved", to_state=state)
        OrderEvent.objects.filter(pk=event.pk).update(at=moment)


def pace(pizzeria, kind, moment, *, until=None, minutes=0):
    event = PizzeriaEvent.objects.create(pizzeria=pizzeria, kind=kind, until=until, minutes=minutes)
    PizzeriaEvent.objects.filter(pk=event.pk).update(at=moment)


@pytest.fixture
def history(db):
    """Three till days at two pizzerias, Bastille open past midnight; figures counted by hand in the tests."""
    bastille = factories.PizzeriaFactory(name="Bastille")
    montmartre = factories.PizzeriaFactory(name="Montmartre")
    margherita = factories.ProductFactory(name="Margherita")
    regina = factories.ProductFactory(name="Regina")
    o1 = order(
        bastille,
        D1,
        "20.00",
        fulfilment="delivery",
        delivery_fee=Decimal("4.00"),
        lines=[(margherita, 2, "8.00")],
        estimated_ready_at=at(D1, 19, 15),
    )
    stamps(o1, received=at(D1, 19), preparing=at(D1, 19, 5), ready=at(D1, 19, 17))
    o2 = order(bastille, D1, "12.00", channel="phone", lines=[(regina, 1, "12.00")], estimated_ready_at=at(D1, 19, 30))
    stamps(o2, received=at(D1, 19, 10), preparing=at(D1, 19, 20), ready=at(D1, 19, 24))
    order(bastille, D1, "9.50", state="cancelled", reason="sold_out", lines=[(margherita, 1, "9.50")])
    order(bastille, D1, "30.00", state="pending_payment", lines=[(regina, 3, "10.00")])  # never paid: no sale
    order(montmartre, D1, "9.00", channel="counter", lines=[(margherita, 1, "9.00")])
    # Scheduled for 23:50, ready after midnight: still the evening's till day.
    o6 = order(
        bastille,
        D2,
        "25.00",
        fulfilment="delivery",
        lines=[(regina, 2, "11.00")],
        fire_at=at(D2, 23, 50),
        estimated_ready_at=at(D3, 0, 10),
    )
    stamps(o6, received=at(D2, 18), preparing=at(D2, 23, 52), ready=at(D3, 0, 20))
    order(bastille, D2, "15.00", channel="phone", state="cancelled", reason="customer")
    order(bastille, D3, "10.00", channel="counter", lines=[(margherita, 1, "10.00")])
    # The period before: one sale on 1 November.
    order(bastille, D1 - datetime.timedelta(days=1), "40.00", lines=[(regina, 4, "10.00")])
    # A pause begun before the till day of 2 November starts (04:00) and running into it: 30 min on each day.
    pace(bastille, PizzeriaEvent.PAUSED, at(D1, 3, 30), until=at(D1, 4, 30))
    pace(bastille, PizzeriaEvent.PAUSED, at(D1, 20), until=at(D1, 20, 30))
    pace(bastille, PizzeriaEvent.BUSY, at(D2, 21), until=at(D3, 1), minutes=20)
    pace(bastille, PizzeriaEvent.CALM, at(D2, 21, 45))
    # Paused at 03:00 after the night of the 3rd, resumed at 03:20: the 3rd's till day.
    pace(bastille, PizzeriaEvent.PAUSED, at(D3, 3))
    pace(bastille, PizzeriaEvent.RESUMED, at(D3, 3, 20))
    return bastille, montmartre


def rows(shares):
    return [(share.key, share.count, share.amount) for share in shares]


def test_the_facts_of_each_day_match_the_figures_counted_by_hand(history):
    bastille, montmartre = history
    assert facts_refresh(since=D1, until=D3, now=AFTER) == 4

    day1 = SalesFact.objects.get(pizzeria=bastille, day=D1)
    assert (day1.orders, day1.sold, day1.cancelled, day1.takings, day1.items) == (3, 2, 1, Decimal("32.00"), 3)
    assert (day1.paused_seconds, day1.busy_seconds) == (3600, 0)
    day2 = SalesFact.objects.get(pizzeria=bastille, day=D2)
    assert (day2.orders, day2.sold, day2.cancelled, day2.takings) == (2, 1, 1, Decimal("25.00"))
    assert (day2.paused_seconds, day2.busy_seconds) == (1200, 2700)
    assert SalesFact.objects.get(pizzeria=montmartre, day=D1).takings == Decimal("9.00")
    counts = dict(SalesFactCount.objects.filter(pizzeria=bastille, day=D2).values_list("dimension", "key").annotate())
    assert counts["kitchen"] == "30-45" and counts["oven"] == "20+" and counts["lateness"] == "10-20"
    # Run again: the same rows, not twice as many.
    facts_refresh(since=D1, until=D3, now=AFTER)
    assert SalesFact.objects.count() == 4
    assert SalesFactCount.objects.filter(day=D1, dimension="product").count() == 3


def test_the_chain_report_sums_the_period_against_the_one_before(history):
    facts_refresh(since=D1 - datetime.timedelta(days=3), until=D3, now=AFTER)

    report = sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=AFTER)

    totals = report.totals
    assert (totals.orders, totals.sold, totals.cancelled, totals.takings, totals.items) == (
        7,
        5,
        2,
        Decimal("76.00"),
        7,
    )
    assert totals.basket == Decimal("15.20") and totals.cancellation_rate == Decimal("28.6")
    assert report.previous_period == Period(datetime.date(2026, 10, 30), datetime.date(2026, 11, 1))
    assert report.previous_totals.takings == Decimal("40.00") and report.takings_change == Decimal("90.0")
    assert [(point.label, point.totals.takings) for point in report.series] == [
        ("02/11", Decimal("41.00")),
        ("03/11", Decimal("25.00")),
        ("04/11", Decimal("10.00")),
    ]
    assert [point.previous.takings for point in report.series] == [0, 0, Decimal("40.00")]
    assert rows(report.channels) == [
        ("web", 2, Decimal("45.00")),
        ("phone", 1, Decimal("12.00")),
        ("counter", 2, Decimal("19.00")),
    ]
    assert rows(report.fulfilments) == [("delivery", 2, Decimal("45.00")), ("pickup", 3, Decimal("31.00"))]
    assert rows(report.best_sellers) == [("Margherita", 4, Decimal("35.00")), ("Regina", 3, Decimal("34.00"))]
    assert [(share.label, share.count) for share in report.cancellations] == [
        ("à la demande du client", 1),
        ("rupture de stock", 1),
    ]
    assert [(share.key, share.count) for share in report.kitchen if share.count] == [
        ("10-15", 1),
        ("15-20", 1),
        ("30-45", 1),
    ]
    assert [(share.key, share.count) for share in report.oven if share.count] == [("0-5", 1), ("12-20", 1), ("20+", 1)]
    assert [(share.key, share.count) for share in report.lateness if share.count] == [
        ("on-time", 1),
        ("0-5", 1),
        ("10-20", 1),
    ]
    assert (totals.paused_seconds, totals.busy_seconds) == (4800, 2700)


def test_one_pizzeria_by_week_and_past_days_read_from_the_facts_only(history):
    bastille, _montmartre = history
    facts_refresh(since=D1 - datetime.timedelta(days=3), until=D3, now=AFTER)

    with CaptureQueriesContext(connection) as queries:
        report = sales_report(period=Period(D1, D3), granularity="semaine", pizzeria_id=bastille.pk, now=AFTER)

    assert len(queries) == 2 and not any("ventes_order" in query["sql"] for query in queries)
    assert report.totals.takings == Decimal("67.00") and report.totals.sold == 4
    assert [(point.label, point.totals.takings) for point in report.series] == [("sem. du 02/11", Decimal("67.00"))]


def test_today_is_summed_live_and_matches_what_the_facts_will_say(history):
    facts_refresh(since=D1 - datetime.timedelta(days=3), until=D2, now=AFTER)  # the 4th not written yet
    evening = at(D3, 22)

    live = sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=evening)

    assert live.live_day == D3 and live.totals.takings == Decimal("76.00")
    facts_refresh(since=D3, until=D3, now=AFTER)
    written = sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=AFTER)
    assert written.live_day is None
    assert (written.totals, rows(written.best_sellers)) == (live.totals, rows(live.best_sellers))


def test_the_daily_update_writes_the_facts_of_the_day_that_ended(history):
    bastille, _montmartre = history
    daily_update(now=at(D2, 6))  # at 06:00 on the 3rd: the 2nd's till day

    assert SalesFact.objects.get(pizzeria=bastille, day=D1).takings == Decimal("32.00")
    assert not SalesFact.objects.filter(day=D2).exists()


def test_a_period_without_any_order_reports_zeros_not_errors(db):
    factories.PizzeriaFactory()
    report = sales_report(period=Period(D1, D3), granularity="mois", pizzeria_id=None, now=AFTER)
    assert report.totals.takings == 0 and report.totals.basket is None and report.takings_change is None
    assert report.kitchen == [] and report.cancellations == [] and len(report.series) == 1
    assert OrderState.CANCELLED  # the states the report leaves out are those of the order model


def test_a_refresh_shows_at_once_though_the_past_figures_are_kept_in_the_cache(history):
    facts_refresh(since=D1, until=D3, now=AFTER)
    before = sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=AFTER)
    Order.objects.filter(business_date=D3).update(state="cancelled", cancel_reason="no_show")

    assert sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=AFTER) == before
    facts_refresh(since=D3, until=D3, now=AFTER)
    after = sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=AFTER)
    assert after.totals.takings == before.totals.takings - 10 and after.totals.cancelled == 3


def test_the_command_sums_a_period_again_a_window_at_a_time_and_refuses_a_bad_one(history, monkeypatch):
    monkeypatch.setattr("ventes.reports.REFRESH_WINDOW_DAYS", 2)
    out = io.StringIO()
    call_command("refresh_reports", "2026-11-01", "2026-11-04", stdout=out)
    assert "5 journée(s) de pizzeria" in out.getvalue() and SalesFact.objects.count() == 5
    report = sales_report(period=Period(D1, D3), granularity="jour", pizzeria_id=None, now=AFTER)
    assert report.totals.takings == Decimal("76.00") and report.previous_totals.takings == Decimal("40.00")
    with pytest.raises(CommandError, match="La fin de la période précède son début"):
        call_command("refresh_reports", "2026-11-04", "2026-11-02")
    with pytest.raises(CommandError, match="Date invalide"):
        call_command("refresh_reports", "hier", "2026-11-02")
