"""The managers' reports screen: who opens it, what it shows, its CSV files, a period that does not hold."""

import csv
import datetime
import io
from decimal import Decimal
from html import unescape

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from production.models import StaffMember
from tests import factories
from ventes.journal import business_date
from ventes.reports import facts_refresh


@pytest.fixture
def manager(db):
    return factories.StaffMemberFactory(role=StaffMember.MANAGER, pizzeria=None).user


@pytest.fixture
def today():
    return business_date(timezone.now())


def sell(pizzeria, day, total, *, product, quantity=1, state="completed", reason="", channel="web"):
    order = factories.OrderFactory(
        pizzeria=pizzeria,
        business_date=day,
        total=Decimal(total),
        subtotal=Decimal(total),
        state=state,
        cancel_reason=reason,
        channel=channel,
    )
    factories.OrderLineFactory(
        order=order, product=product, product_name=product.name, quantity=quantity, unit_price=Decimal(total) / quantity
    )
    return order


@pytest.fixture
def sales(db, today):
    """Two pizzerias' last days, written into the facts as the daily update does."""
    bastille = factories.PizzeriaFactory(name="Bastille", slug="bastille")
    montmartre = factories.PizzeriaFactory(name="Montmartre", slug="montmartre")
    margherita = factories.ProductFactory(name="Margherita")
    yesterday, before = today - datetime.timedelta(days=1), today - datetime.timedelta(days=2)
    sell(bastille, before, "20.00", product=margherita, quantity=2)
    sell(bastille, yesterday, "12.00", product=margherita, channel="phone")
    sell(bastille, yesterday, "9.00", product=margherita, state="cancelled", reason="sold_out")
    sell(montmartre, yesterday, "30.00", product=margherita, quantity=3)
    facts_refresh(since=before, until=yesterday)
    sell(bastille, today, "8.00", product=margherita, channel="counter")  # today's: summed live
    return bastille, montmartre, margherita


def csv_rows(response):
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


@pytest.mark.parametrize("role", [StaffMember.PIZZAIOLO, StaffMember.RIDER, StaffMember.COUNTER])
def test_only_managers_open_the_reports(client, db, role):
    client.force_login(factories.StaffMemberFactory(role=role).user)
    assert client.get(reverse("production:reports")).status_code == 403
    assert client.get(reverse("production:reports_export", args=["ventes"])).status_code == 403


def test_anonymous_visitors_are_sent_to_the_staff_login(client, db):
    response = client.get(reverse("production:reports"))
    assert response.status_code == 302 and reverse("production:login") in response["Location"]


def test_the_last_30_days_of_the_chain_by_default_with_today_live(client, manager, sales, today):
    client.force_login(manager)
    response = client.get(reverse("production:reports"))

    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "Toute la chaîne" in html and "70,00 €" in html  # 20 + 12 + 30 + 8 today
    assert 'id="report-data"' in html and "chart.umd.min.js" in html
    report = response.context["report"]
    assert report.period.since == today - datetime.timedelta(days=29) and report.live_day == today
    assert (report.totals.sold, report.totals.cancelled, report.totals.items) == (4, 1, 7)
    # A table behind each chart; the reports with nothing to count say so instead of drawing an empty chart.
    assert html.count("<caption>") == html.count("<canvas") == 5
    assert html.count("Aucune commande chronométrée sur la période.") == 3
    assert "Ni pause ni coup de feu sur la période." in html


def test_one_pizzeria_over_a_preset_period(client, manager, sales, today):
    client.force_login(manager)
    since = today - datetime.timedelta(days=6)
    response = client.get(
        reverse("production:reports"), {"du": since.isoformat(), "au": today.isoformat(), "pizzeria": "bastille"}
    )

    report = response.context["report"]
    assert report.totals.takings == Decimal("40.00") and report.totals.sold == 3
    assert [share.count for share in report.channels] == [1, 1, 1]
    assert [share.label for share in report.cancellations] == ["rupture de stock"]


def test_the_page_costs_the_same_queries_whatever_the_history(
    client, manager, sales, today, django_assert_max_num_queries
):
    bastille, montmartre, margherita = sales
    client.force_login(manager)
    url = reverse("production:reports")
    client.get(url)
    cache.clear()  # the figures kept a while in the cache: each request below sums them again
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for days_ago in range(3, 25):
        for pizzeria in (bastille, montmartre, factories.PizzeriaFactory()):
            sell(pizzeria, today - datetime.timedelta(days=days_ago), "15.00", product=factories.ProductFactory())
    facts_refresh(since=today - datetime.timedelta(days=30), until=today - datetime.timedelta(days=1))
    sell(montmartre, today, "11.00", product=margherita)
    cache.clear()
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.context["report"].totals.sold == 4 + 66 + 1
    assert len(few) <= 14
    with CaptureQueriesContext(connection) as cached:
        client.get(url)
    assert len(cached) == len(few) - 7  # past and today's figures from the cache within their while


def test_each_report_has_its_csv(client, manager, sales, today):
    client.force_login(manager)
    query = {"du": (today - datetime.timedelta(days=2)).isoformat(), "au": today.isoformat()}

    response = client.get(reverse("production:reports_export", args=["ventes"]), query)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="ventes-chaine-{query["du"]}-{today}.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:5] == ["période", "ventes TTC", "commandes vendues", "panier moyen", "annulations"]
    assert [row[:5] for row in rows[1:]] == [
        [f"{today - datetime.timedelta(days=2):%d/%m}", "20,00", "1", "20,00", "0"],
        [f"{today - datetime.timedelta(days=1):%d/%m}", "42,00", "2", "21,00", "1"],
        [f"{today:%d/%m}", "8,00", "1", "8,00", "0"],
    ]
    products = csv_rows(client.get(reverse("production:reports_export", args=["produits"]), query))
    assert products == [["produit", "quantité", "ventes TTC"], ["Margherita", "7", "70,00"]]
    reasons = csv_rows(client.get(reverse("production:reports_export", args=["annulations"]), query))
    assert reasons[1] == ["rupture de stock", "1", "9,00"]
    channels = csv_rows(client.get(reverse("production:reports_export", args=["canaux"]), query))
    assert ["canal", "téléphone", "1", "12,00"] in channels and ["mode", "à emporter", "4", "70,00"] in channels
    for name in ("temps", "rythme"):
        assert client.get(reverse("production:reports_export", args=[name]), query).status_code == 200
    assert client.get(reverse("production:reports_export", args=["inconnu"]), query).status_code == 404


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"du": "2026-11-10", "au": "2026-11-01"}, "au", "Le dernier jour doit suivre le premier."),
        ({"du": "demain", "au": "2026-11-01"}, "du", "Saisissez une date, par exemple 2026-11-01."),
        ({"du": "2024-01-01", "au": "2026-01-01"}, "au", "Choisissez une période de 366 jours au plus."),
        ({"du": "2099-01-01", "au": "2099-01-02"}, "du", "Le premier jour ne peut pas être dans le futur."),
        ({"du": "2026-11-01", "au": "2026-11-02", "pizzeria": "nulle-part"}, "pizzeria", "Choisissez une pizzeria"),
        (
            {"du": "2026-11-01", "au": "2026-11-02", "par": "heure"},
            "par",
            "Choisissez par jour, par semaine ou par mois.",
        ),
    ],
)
def test_a_period_that_does_not_hold_is_said_beside_its_field_and_nothing_else_shown(
    client, manager, sales, query, field, message
):
    client.force_login(manager)
    response = client.get(reverse("production:reports"), query)

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}' in html
    assert 'aria-invalid="true"' in html and "report-data" not in html and "<canvas" not in html
    export = client.get(reverse("production:reports_export", args=["ventes"]), query)
    assert export.status_code == 400 and message in export.content.decode()


def test_a_period_running_past_today_stops_at_today(client, manager, sales, today):
    client.force_login(manager)
    response = client.get(
        reverse("production:reports"),
        {"du": today.isoformat(), "au": (today + datetime.timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 200 and response.context["report"].period.until == today
