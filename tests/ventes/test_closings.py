"""Closings Z, monthly and yearly, on generated days of sales: they add up exactly to the journal."""

import datetime
import random
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from production.services import stock_restock
from tests import factories
from ventes.closings import closing_hash, closings_make, closings_verify
from ventes.models import Closing, JournalEntry, JournalImmutable, OrderState
from ventes.payments import refund_request
from ventes.services import LineRequest
from ventes.workflow import order_transition

from .helpers import place

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
ZERO = Decimal("0.00")
START = datetime.date(2025, 12, 20)  # the first day sells at least once: the closings start there


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


class Clock:
    """The time the code under test reads (``django.utils.timezone.now``), set by the test."""

    def __init__(self, monkeypatch, start):
        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


@pytest.fixture
def stocked(shop):
    for name in shop.stock:
        stock_restock(stock=shop.stock[name], quantity=100_000)
    return shop


def sell(shop, manager, clock, when, *, method="cash", refund=None, lines=None):
    """An order placed a little before ``when`` and handed over at ``when``; optionally part refunded."""
    clock.now = when - datetime.timedelta(minutes=20)
    order = place(shop, lines or [LineRequest(shop.margherita.pk, 1)], payment_method=method)
    for state in [OrderState.PREPARING, OrderState.READY]:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    clock.now = when
    order_transition(order_id=order.pk, to_state=OrderState.COMPLETED, by=manager)
    if refund is not None:
        clock.now = when + datetime.timedelta(minutes=5)
        refund_request(order_id=order.pk, reason="quality", by=manager, amount=Decimal(refund))
    return order


def journal_figures(pizzeria, start, end):
    """The journal between two till days, added up here from its rows, independently of the closings."""
    rows = JournalEntry.objects.filter(pizzeria=pizzeria, business_date__gte=start, business_date__lte=end)
    sales, payments, vat, refunds = ZERO, defaultdict(lambda: ZERO), defaultdict(lambda: [ZERO, ZERO]), ZERO
    for row in rows:
        if row.kind == "sale":
            sales += row.amount
            for part in row.vat:
                vat[part["rate"]][0] += Decimal(part["incl"])
                vat[part["rate"]][1] += Decimal(part["vat"])
        elif row.kind in {"payment", "refund"}:
            payments[row.payment_method] += row.amount
            refunds += row.amount if row.kind == "refund" else ZERO
    return {
        "entries": rows.count(),
        "sales": sales,
        "refunds": refunds,
        "payments": {method: str(amount) for method, amount in sorted(payments.items())},
        "vat": [{"rate": rate, "incl": str(a), "vat": str(b)} for rate, (a, b) in sorted(vat.items())],
    }


def closing_figures(closing):
    return {
        "entries": closing.entries,
        "sales": closing.sales_total,
        "refunds": closing.refunds_total,
        "payments": closing.payments,
        "vat": closing.vat,
    }


def test_generated_days_across_a_year_end_close_exactly_to_the_journal(stocked, manager, monkeypatch):
    shop = stocked
    clock = Clock(monkeypatch, paris(2025, 12, 20, 12))
    chance = random.Random(19)
    day = START
    while day <= datetime.date(2026, 2, 3):
        # A lunch, an evening, and now and then a late order past midnight, still the evening's till day.
        for hour, minute in chance.sample(
            [(12, 15), (19, 40), (23, 50), (25, 30), (27, 59)], k=chance.randint(day == START, 3)
        ):
            when = paris(day.year, day.month, day.day) + datetime.timedelta(hours=hour, minutes=minute)
            lines = [LineRequest(shop.regina.pk, chance.randint(1, 3))]
            if chance.random() < 0.5:
                lines.append(LineRequest(shop.beer.pk, chance.randint(1, 2)))
            sell(
                shop,
                manager,
                clock,
                when,
                method=chance.choice(["cash", "card", "meal_voucher"]),
                refund="4.50" if chance.random() < 0.15 else None,
                lines=lines,
            )
        day += datetime.timedelta(days=1)

    clock.now = paris(2026, 2, 5, 4, 30)  # Feb 4 has ended (04:00), Feb 5 has not
    made = closings_make(pizzeria_id=shop.pizzeria.pk)

    days = Closing.objects.filter(pizzeria=shop.pizzeria, kind="day").order_by("period_start")
    assert [closing.period_start for closing in days] == [
        datetime.date(2025, 12, 20) + datetime.timedelta(days=n) for n in range(47)
    ]
    assert days.last().period_end == datetime.date(2026, 2, 4)
    running = ZERO
    for closing in days:
        expected = journal_figures(shop.pizzeria, closing.period_start, closing.period_end)
        assert closing_figures(closing) == expected, closing.period_start
        running += expected["sales"]
        assert closing.grand_total == running  # perpetual: every sale up to the end of that day
    months = list(Closing.objects.filter(pizzeria=shop.pizzeria, kind="month").order_by("period_start"))
    assert [(m.period_start, m.period_end) for m in months] == [
        (datetime.date(2025, 12, 1), datetime.date(2025, 12, 31)),
        (datetime.date(2026, 1, 1), datetime.date(2026, 1, 31)),
    ]
    for month in months:
        assert closing_figures(month) == journal_figures(shop.pizzeria, month.period_start, month.period_end)
        assert month.grand_total == days.get(period_start=month.period_end).grand_total
    year = Closing.objects.get(pizzeria=shop.pizzeria, kind="year")
    assert (year.period_start, year.period_end) == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    assert closing_figures(year) == journal_figures(
        shop.pizzeria, datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)
    )
    assert year.sales_total > 0 and sum(Decimal(v) for v in year.payments.values()) > 0
    # Every journal row is in exactly one day, and the chain of closings holds.
    assert sum(closing.entries for closing in days) == JournalEntry.objects.filter(pizzeria=shop.pizzeria).count()
    assert len(made) == 47 + 2 + 1
    assert closings_verify(pizzeria=shop.pizzeria).broken_sequence is None
    # Run again (the job every quarter of an hour, or a manager's tap): nothing more to close.
    assert closings_make(pizzeria_id=shop.pizzeria.pk) == []


def test_a_sale_past_midnight_belongs_to_the_evening_and_waits_for_the_day_end(stocked, manager, monkeypatch):
    shop = stocked
    clock = Clock(monkeypatch, paris(2026, 3, 9, 12))
    sell(shop, manager, clock, paris(2026, 3, 9, 21, 0))
    late = sell(shop, manager, clock, paris(2026, 3, 10, 1, 30))  # after midnight: still Monday's till day
    next_day = sell(shop, manager, clock, paris(2026, 3, 10, 4, 10))
    assert set(JournalEntry.objects.filter(order=late).values_list("business_date", flat=True)) == {
        datetime.date(2026, 3, 9)
    }
    assert set(JournalEntry.objects.filter(order=next_day).values_list("business_date", flat=True)) == {
        datetime.date(2026, 3, 10)
    }

    clock.now = paris(2026, 3, 10, 3, 59)
    assert closings_make(pizzeria_id=shop.pizzeria.pk) == []  # Monday's service may still be going
    clock.now = paris(2026, 3, 10, 4, 1)
    (monday,) = closings_make(pizzeria_id=shop.pizzeria.pk)
    assert (monday.period_start, monday.sales_count, monday.sales_total) == (
        datetime.date(2026, 3, 9),
        2,
        Decimal("19.00"),
    )
    assert monday.payments == {"cash": "19.00"}


def test_quiet_days_are_closed_too_so_the_z_have_no_hole(stocked, manager, monkeypatch, settings):
    shop = stocked
    settings.OCPIZZA = {**settings.OCPIZZA, "TILL_DAY_ENDS_AT": datetime.time(2, 0)}
    clock = Clock(monkeypatch, paris(2026, 4, 1, 12))
    sell(shop, manager, clock, paris(2026, 4, 1, 12, 30))
    sell(shop, manager, clock, paris(2026, 4, 4, 12, 30))
    clock.now = paris(2026, 4, 5, 2, 1)
    made = closings_make(pizzeria_id=shop.pizzeria.pk)
    assert [(c.period_start.day, c.sales_count, c.grand_total) for c in made] == [
        (1, 1, Decimal("9.50")),
        (2, 0, Decimal("9.50")),
        (3, 0, Decimal("9.50")),
        (4, 1, Decimal("19.00")),
    ]
    # The other pizzeria sold nothing: no closing, no chain.
    assert closings_make(pizzeria_id=shop.other_pizzeria.pk) == []


def test_a_closing_is_never_changed_and_a_changed_one_is_named(stocked, manager, monkeypatch):
    shop = stocked
    clock = Clock(monkeypatch, paris(2026, 5, 1, 12))
    for day in (1, 2, 3):
        sell(shop, manager, clock, paris(2026, 5, day, 12, 0))
    clock.now = paris(2026, 5, 4, 5, 0)
    first, second, _third = closings_make(pizzeria_id=shop.pizzeria.pk)
    assert second.previous_hash == first.hash and second.hash == closing_hash(second)
    second.sales_total = Decimal("1.00")
    with pytest.raises(JournalImmutable):
        second.save()
    with pytest.raises(JournalImmutable):
        Closing.objects.filter(pk=second.pk).update(sales_total=Decimal("1.00"))
    with pytest.raises(JournalImmutable):
        Closing.objects.filter(pk=second.pk).delete()

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE ventes_closing SET sales_total = 1 WHERE id = %s", [second.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    check = closings_verify(pizzeria=shop.pizzeria)
    assert (check.count, check.broken_sequence, "modifié" in check.reason) == (1, 2, True)


@pytest.mark.postgres
def test_postgresql_refuses_to_change_a_closing(stocked, manager, monkeypatch):
    from django.db import DatabaseError, transaction

    shop = stocked
    clock = Clock(monkeypatch, paris(2026, 5, 1, 12))
    sell(shop, manager, clock, paris(2026, 5, 1, 12, 0))
    clock.now = paris(2026, 5, 2, 5, 0)
    (closing,) = closings_make(pizzeria_id=shop.pizzeria.pk)
    for sql in ["UPDATE ventes_closing SET sales_total = 1 WHERE id = %s", "DELETE FROM ventes_closing WHERE id = %s"]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [closing.pk])


def test_the_job_queues_the_closings_and_the_worker_makes_them_once(stocked, manager, monkeypatch, settings):
    from django_tasks_db.models import DBTaskResult

    from tests.queue import run_queued_tasks

    shop = stocked
    assert ("*/15 * * * *", "ocpizzapp.cron.close_periods") in settings.CRONJOBS
    clock = Clock(monkeypatch, paris(2026, 6, 1, 12))
    sell(shop, manager, clock, paris(2026, 6, 1, 20, 0))
    clock.now = paris(2026, 6, 2, 4, 10)
    DBTaskResult.objects.all().delete()  # the orders' own notifications are not this test's
    call_command("cron_job", "close_periods")
    call_command("cron_job", "close_periods")  # a late cron, or a second server's
    assert not Closing.objects.exists()  # cron only queued the work
    run_queued_tasks()
    assert list(Closing.objects.values_list("kind", "period_start")) == [("day", datetime.date(2026, 6, 1))]


def test_the_manager_closes_on_demand_and_sees_the_z(
    client, stocked, manager, monkeypatch, django_assert_max_num_queries
):
    shop = stocked
    clock = Clock(monkeypatch, paris(2026, 6, 1, 12))
    sell(
        shop,
        manager,
        clock,
        paris(2026, 6, 1, 20, 0),
        lines=[LineRequest(shop.regina.pk, 1), LineRequest(shop.beer.pk, 1)],
    )
    sell(shop, manager, clock, paris(2026, 6, 1, 21, 0), method="card")
    clock.now = paris(2026, 6, 2, 9, 0)
    client.force_login(manager)

    response = client.post(f"/equipe/{shop.pizzeria.slug}/journal-des-ventes/cloturer/", follow=True)
    page = response.content.decode()
    assert "OC Pizza Bastille : clôtures faites (1)." in page
    assert "Dernière clôture Z : lundi 1 juin 2026" in page
    assert "<dt>Ventes (2)</dt><dd>26,00 € TTC</dd>" in page
    assert '<td>espèces</td><td class="num">16,50 €</td>' in page
    assert '<td>20 %</td><td class="num">4,50 €</td><td class="num">0,75 €</td>' in page

    response = client.post(f"/equipe/{shop.pizzeria.slug}/journal-des-ventes/cloturer/", follow=True)
    assert "rien à clôturer" in response.content.decode()
    with django_assert_max_num_queries(14):
        assert client.get("/equipe/journal-des-ventes/").status_code == 200


def test_only_a_manager_may_close(client, shop):
    client.force_login(factories.StaffMemberFactory(role="counter", pizzeria=shop.pizzeria).user)
    assert client.post(f"/equipe/{shop.pizzeria.slug}/journal-des-ventes/cloturer/").status_code == 403
    assert client.get(f"/equipe/{shop.pizzeria.slug}/journal-des-ventes/cloturer/").status_code in {403, 405}
    assert not Closing.objects.exists()


def test_the_till_day_end_is_read_from_the_environment():
    from tests.test_settings import run_django

    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.OCPIZZA['TILL_DAY_ENDS_AT'])"
    )
    read = run_django({"TILL_DAY_ENDS_AT": "05:30"}, code)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "05:30:00"
    for wrong in ("5h", "25:00", "０４:００", "4:00"):
        refused = run_django({"TILL_DAY_ENDS_AT": wrong}, code)
        assert refused.returncode != 0
        assert "TILL_DAY_ENDS_AT must be a time of day such as 04:00" in refused.stderr
