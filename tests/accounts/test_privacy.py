"""GDPR: a customer downloads everything kept about them, then erases it; guests' details go after a while."""

import csv
import datetime
import html
import io
import json
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.db import connection
from django.utils import timezone

from accounts.models import User
from production.services import stock_restock
from tests import factories
from tests.accounts.helpers import PASSWORD, describes, logged_in_user
from tests.queue import run_queued_tasks
from tests.ventes.helpers import place
from ventes.closings import closings_make
from ventes.models import Closing, JournalEntry, Notification, Order, OrderState
from ventes.payments import refund_request
from ventes.services import DeliveryAddress, LineRequest
from ventes.workflow import order_transition

pytestmark = pytest.mark.django_db
EMAIL = "zenobie.quintrec@example.org"
# What only this customer typed: the search after the erasure looks for each of these everywhere.
NEEDLES = [
    EMAIL,
    "Zénobie",
    "Quintrec",
    "07 98 76 54 32",
    "+33798765432",
    "798765432",
    "42 rue Zéphyrine",
    "Digicode 4242",
]


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


@pytest.fixture
def zenobie(shop, manager, client, django_capture_on_commit_callbacks):
    """A customer with a profile, an address, SMS consent, two orders (one delivered, one refunded),
    their messages sent, a failed login, journal rows and a closing."""
    for name in shop.stock:
        stock_restock(stock=shop.stock[name], quantity=1000)
    user = factories.UserFactory(email=EMAIL, first_name="Zénobie", last_name="Quintrec")
    customer = factories.CustomerFactory(
        user=user, phone="07 98 76 54 32", sms_phone="+33798765432", sms_consent_at=timezone.now()
    )
    factories.AddressFactory(customer=customer, line1="42 rue Zéphyrine", instructions="Digicode 4242")
    identity = {
        "customer": customer,
        "customer_name": "Zénobie Quintrec",
        "customer_phone": "07 98 76 54 32",
        "customer_email": EMAIL,
    }
    delivered = place(
        shop,
        [LineRequest(shop.regina.pk, 2)],
        fulfilment="delivery",
        delivery_address=DeliveryAddress(line="42 rue Zéphyrine", postcode="75001", instructions="Digicode 4242"),
        note="Zénobie au 3e",
        **identity,
    )
    refunded = place(shop, [LineRequest(shop.margherita.pk, 1), LineRequest(shop.beer.pk, 1)], **identity)
    for order, states in [
        (delivered, [OrderState.PREPARING, OrderState.READY, OrderState.OUT_FOR_DELIVERY, OrderState.COMPLETED]),
        (refunded, [OrderState.PREPARING, OrderState.READY, OrderState.COMPLETED]),
    ]:
        for state in states:
            order_transition(order_id=order.pk, to_state=state, by=manager)
    refund_request(order_id=refunded.pk, reason="quality", by=manager, amount=Decimal("4.50"))
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks()
    assert Notification.objects.filter(order__customer=customer, recipient=EMAIL).exists()
    client.post("/compte/connexion/", {"username": EMAIL, "password": "pas le bon"})
    assert AccessAttempt.objects.filter(username=EMAIL).exists()
    closings_make(pizzeria_id=shop.pizzeria.pk, now=timezone.now() + datetime.timedelta(days=2))
    assert Closing.objects.exists()
    return user


def found_anywhere(needle: str) -> list[str]:
    """Every table, every column, as text: where ``needle`` still appears."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            for column in connection.introspection.get_table_description(cursor, table):
                name = connection.ops.quote_name(column.name)
                cursor.execute(
                    f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} "
                    f"WHERE LOWER(CAST({name} AS TEXT)) LIKE %s",
                    [f"%{needle.lower()}%"],
                )
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column.name}")
    return hits


def test_the_export_holds_everything_kept_about_them(client, zenobie):
    client.force_login(zenobie)
    response = client.get("/compte/mes-donnees/export.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="ocpizza-mes-donnees')
    data = json.loads(response.content)
    assert data["compte"]["e-mail"] == EMAIL and data["compte"]["nom"] == "Quintrec"
    assert data["profil"]["mobile pour les SMS"] == "+33798765432"
    assert data["adresses"][0]["instructions au livreur"] == "Digicode 4242"
    orders = data["commandes"]
    assert [order["total TTC"] for order in orders] == ["26.50", "14.00"]
    assert orders[0]["adresse de livraison"] == "42 rue Zéphyrine" and orders[0]["remarque"] == "Zénobie au 3e"
    assert orders[0]["lignes"] == [{"produit": "Regina", "quantité": 2, "prix unitaire TTC": "12.00"}]
    assert any(message["destinataire"] == EMAIL for message in orders[0]["messages"])

    response = client.get("/compte/mes-donnees/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode()), delimiter=";"))
    assert rows[0] == ["rubrique", "valeur"]
    assert ["compte.e-mail", EMAIL] in rows
    assert ["commandes[1].adresse de livraison", "42 rue Zéphyrine"] in rows
    assert {"Peroni", "Margherita"} == {
        value for key, value in rows if key.startswith("commandes[2].lignes[") and key.endswith("produit")
    }


def test_only_the_signed_in_customer_gets_their_own_data(client, zenobie):
    assert client.get("/compte/mes-donnees/export.json").status_code == 302  # to the login
    client.force_login(factories.CustomerFactory().user)
    data = json.loads(client.get("/compte/mes-donnees/export.json").content)
    assert data["commandes"] == [] and EMAIL not in json.dumps(data)


def test_after_erasure_nothing_of_them_remains_anywhere_and_the_books_are_unchanged(client, zenobie, shop):
    for needle in NEEDLES:
        assert found_anywhere(needle), needle  # the search finds them before...
    orders = list(Order.objects.filter(customer__user=zenobie).order_by("pk"))
    books = {
        "totals": [(o.number, o.subtotal, o.vat_total, o.delivery_fee, o.total, o.state) for o in orders],
        "lines": sorted(
            Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("lines__product_name", "lines__quantity")
        ),
        "journal": list(JournalEntry.objects.order_by("pk").values_list("hash", "amount", "order_id")),
        "closings": list(Closing.objects.order_by("pk").values_list("hash", "sales_total", "grand_total")),
    }
    client.force_login(zenobie)

    response = client.post("/compte/mes-donnees/effacer/", {"confirm": "EFFACER", "password": PASSWORD}, follow=True)

    assert "Votre compte et vos données personnelles sont effacés" in response.content.decode()
    assert logged_in_user(client) is None
    for needle in NEEDLES:
        assert found_anywhere(needle) == [], needle  # ...and nowhere after
    assert not User.objects.filter(pk=zenobie.pk).exists()
    kept = list(Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("pk"))
    assert [(o.number, o.subtotal, o.vat_total, o.delivery_fee, o.total, o.state) for o in kept] == books["totals"]
    assert (
        sorted(
            Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("lines__product_name", "lines__quantity")
        )
        == books["lines"]
    )
    assert [(o.customer_id, o.customer_name, o.delivery_address) for o in kept] == [
        (None, "Client effacé", "adresse effacée"),
        (None, "Client effacé", ""),
    ]
    assert list(JournalEntry.objects.order_by("pk").values_list("hash", "amount", "order_id")) == books["journal"]
    assert list(Closing.objects.order_by("pk").values_list("hash", "sales_total", "grand_total")) == books["closings"]
    from ventes.journal import journal_verify

    assert journal_verify(pizzeria=shop.pizzeria).is_intact


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"confirm": "effacer", "password": PASSWORD}, "id_confirm", "Tapez EFFACER en majuscules"),
        ({"confirm": "EFFACER", "password": "pas le bon"}, "id_password", "Mot de passe incorrect"),
    ],
)
def test_a_wrong_confirmation_says_why_beside_the_field_and_erases_nothing(client, zenobie, posted, field, message):
    client.force_login(zenobie)
    response = client.post("/compte/mes-donnees/effacer/", posted)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and describes(page, field_id=field)
    assert User.objects.get(pk=zenobie.pk).email == EMAIL
    assert Order.objects.filter(customer__user=zenobie, customer_name="Zénobie Quintrec").count() == 2


def test_a_staff_account_is_not_erased_from_the_shop(client, manager):
    client.force_login(manager)
    response = client.post("/compte/mes-donnees/effacer/", {"confirm": "EFFACER", "password": PASSWORD}, follow=True)
    assert "Un compte de l'équipe" in html.unescape(response.content.decode())
    assert User.objects.filter(pk=manager.pk).exists()


def test_the_data_page_answers_in_few_queries(client, zenobie, django_assert_max_num_queries):
    client.force_login(zenobie)
    with django_assert_max_num_queries(12):
        response = client.get("/compte/mes-donnees/")
    assert response.status_code == 200
    assert "Télécharger (JSON)" in response.content.decode()
    with django_assert_max_num_queries(14):
        client.get("/compte/mes-donnees/export.json")


def test_guests_details_go_after_the_set_months_and_the_job_does_it(shop, settings, manager):
    from django.core.management import call_command

    settings.OCPIZZA = {**settings.OCPIZZA, "GUEST_DATA_MONTHS": 6}
    assert ("30 4 * * *", "ocpizzapp.cron.purge_guest_data") in settings.CRONJOBS
    old = place(shop, customer_name="Invitée Ancienne", customer_email="ancienne@example.org")
    recent = place(shop, customer_name="Invitée Récente", customer_email="recente@example.org")
    signed_in = place(shop, customer=factories.CustomerFactory(), customer_name="Cliente Inscrite")
    Order.objects.filter(pk__in=[old.pk, signed_in.pk]).update(created_at=timezone.now() - datetime.timedelta(days=200))

    call_command("cron_job", "purge_guest_data")
    run_queued_tasks()

    assert Order.objects.get(pk=old.pk).customer_name == "Client effacé"
    assert not Order.objects.filter(customer_email="ancienne@example.org").exists()
    assert Order.objects.get(pk=recent.pk).customer_name == "Invitée Récente"
    assert Order.objects.get(pk=signed_in.pk).customer_name == "Cliente Inscrite"  # their account keeps it
    assert Order.objects.get(pk=old.pk).total == Decimal("9.50")


def test_the_privacy_page_says_what_is_kept_why_and_how_long(client, settings):
    settings.OCPIZZA = {**settings.OCPIZZA, "GUEST_DATA_MONTHS": 9}
    page = client.get("/confidentialite/").content.decode()
    assert "Données personnelles" in page
    assert "9 mois" in page and "10 ans" in page
    assert 'href="/compte/mes-donnees/"' in page
    assert 'href="/confidentialite/"' in client.get("/").content.decode()  # linked from every page


def test_every_model_text_column_is_searched():
    """The search above reads the schema itself: every table Django knows is in it."""
    tables = set(connection.introspection.table_names())
    assert {model._meta.db_table for model in apps.get_models()} <= tables
