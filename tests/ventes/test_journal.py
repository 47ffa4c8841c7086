"""The sales journal: written by the actions that move money, chained, never changed, checked."""

import hashlib
import json
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests import factories
from tests.queue import run_queued_tasks
from ventes.journal import entry_hash, journal_verify
from ventes.models import GENESIS_HASH, JournalEntry, JournalImmutable, OrderState, Refund
from ventes.services import LineRequest
from ventes.workflow import order_transition

from .conftest import PAYMENT_INTENT, event, post_event, session_event
from .helpers import place
from .journal_helpers import completed, refunded
from .test_payments import checkout, refund_made

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


def rows(pizzeria):
    return list(JournalEntry.objects.filter(pizzeria=pizzeria).order_by("sequence"))


def tamper(sql, params):
    """Change a row behind the application's back. On PostgreSQL, as a superuser who turns triggers off would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_a_completed_order_paid_at_the_counter_is_a_sale_then_its_payment(shop, manager):
    order = completed(shop, manager, [LineRequest(shop.regina.pk, 2), LineRequest(shop.beer.pk, 1)])

    sale, payment = rows(shop.pizzeria)
    assert (sale.sequence, sale.kind, sale.order_number, sale.amount) == (1, "sale", order.number, Decimal("28.50"))
    assert sale.vat == [
        {"rate": "10.00", "incl": "24.00", "vat": "2.18"},
        {"rate": "20.00", "incl": "4.50", "vat": "0.75"},
    ]
    assert (payment.sequence, payment.kind, payment.amount, payment.payment_method) == (
        2,
        "payment",
        Decimal("28.50"),
        "cash",
    )
    assert (sale.operator, sale.receipt_number) == (str(manager.pk), 1)
    # Each row's hash: SHA-256 of its canonical content, which holds the previous row's hash.
    assert sale.previous_hash == GENESIS_HASH and payment.previous_hash == sale.hash
    content = {
        "pizzeria": shop.pizzeria.pk,
        "sequence": 2,
        "kind": "payment",
        "order": order.number,
        "at": payment.at.isoformat(timespec="microseconds"),
        "business_date": payment.business_date.isoformat(),
        "amount": "28.50",
        "payment_method": "cash",
        "vat": [],
        "operator": str(manager.pk),
        "receipt": None,  # a sale's row holds its receipt number; a payment none
        "previous_hash": sale.hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert payment.hash == hashlib.sha256(canonical).hexdigest()
    # Orders of another pizzeria have a chain of their own, numbered from 1.
    completed(shop, manager, pizzeria_id=shop.other_pizzeria.pk)
    assert [entry.sequence for entry in rows(shop.other_pizzeria)] == [1, 2]
    assert journal_verify(pizzeria=shop.pizzeria).is_intact


def test_a_refund_is_a_negative_row_in_the_way_it_was_given(shop, manager):
    refunded(shop, manager, amount="4.50")
    assert [(entry.kind, entry.amount, entry.payment_method) for entry in rows(shop.pizzeria)] == [
        ("sale", Decimal("14.00"), "cash"),
        ("payment", Decimal("14.00"), "cash"),
        ("refund", Decimal("-4.50"), "cash"),
    ]


def test_placing_and_cooking_write_nothing_only_money_does(shop, manager):
    order = place(shop)
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=manager)
    order_transition(order_id=order.pk, to_state=OrderState.READY, by=manager)
    assert rows(shop.pizzeria) == []
    order_transition(order_id=order.pk, to_state=OrderState.COMPLETED, by=manager)
    order.refresh_from_db()
    assert [entry.kind for entry in rows(shop.pizzeria)] == ["sale", "payment"]
    assert order.state == OrderState.COMPLETED


def test_online_payment_then_cancellation_then_refund(shop, stripe_api, client):
    customer = factories.CustomerFactory()
    order = checkout(shop, stripe_api, customer=customer)
    assert post_event(client, session_event(order)).status_code == 200
    assert [entry.kind for entry in rows(shop.pizzeria)] == ["payment"]
    refund_made(stripe_api, int(order.total * 100))

    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=customer.user)
    run_queued_tasks()  # the worker asks Stripe for the refund

    assert [(entry.kind, entry.amount, entry.payment_method) for entry in rows(shop.pizzeria)] == [
        ("payment", Decimal("9.50"), "online_card"),
        ("cancellation", Decimal("9.50"), "online_card"),
        ("refund", Decimal("-9.50"), "online_card"),
    ]
    assert journal_verify(pizzeria=shop.pizzeria).is_intact


def test_a_refund_the_bank_refuses_after_the_fact_is_reversed_in_the_journal(shop, stripe_api, client, manager):
    order = checkout(shop, stripe_api)
    post_event(client, session_event(order))
    refund_made(stripe_api, 950)
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=manager, cancel_reason="sold_out")
    run_queued_tasks()
    refused = {
        "id": "re_test_1",
        "object": "refund",
        "amount": 950,
        "status": "failed",
        "payment_intent": PAYMENT_INTENT,
    }

    assert post_event(client, event("refund.updated", refused, event_id="evt_refused")).status_code == 200

    assert [(entry.kind, entry.amount) for entry in rows(shop.pizzeria)] == [
        ("payment", Decimal("9.50")),
        ("cancellation", Decimal("9.50")),
        ("refund", Decimal("-9.50")),
        ("refund", Decimal("9.50")),  # the bank sent it back: owed again to the customer, ours meanwhile
    ]
    assert journal_verify(pizzeria=shop.pizzeria).is_intact


def test_a_refund_stripe_could_not_make_yet_journals_nothing(shop, stripe_api, client, manager):
    order = checkout(shop, stripe_api)
    post_event(client, session_event(order))
    stripe_api.post("https://api.stripe.com/v1/refunds", body=requests.ConnectionError("Stripe down"))
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=manager, cancel_reason="sold_out")
    run_queued_tasks()  # the worker's try fails
    assert Refund.objects.get(order=order).state == Refund.State.PENDING  # tried again later
    assert [entry.kind for entry in rows(shop.pizzeria)] == ["payment", "cancellation"]


def test_cancelling_an_unpaid_order_writes_nothing(shop, manager):
    order = place(shop)
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=manager, cancel_reason="too_busy")
    assert rows(shop.pizzeria) == []


def test_the_model_refuses_to_change_or_remove_a_row(shop, manager):
    completed(shop, manager)
    entry = rows(shop.pizzeria)[0]
    entry.amount = Decimal("1.00")
    with pytest.raises(JournalImmutable):
        entry.save()
    with pytest.raises(JournalImmutable):
        entry.delete()
    with pytest.raises(JournalImmutable):
        JournalEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(JournalImmutable):
        JournalEntry.objects.filter(pk=entry.pk).delete()
    assert JournalEntry.objects.get(pk=entry.pk).amount == Decimal("9.50")


def test_a_row_changed_by_sql_is_named_at_that_row(shop, manager):
    for _ in range(3):
        completed(shop, manager)
    second = rows(shop.pizzeria)[3]  # the second order's payment
    tamper("UPDATE ventes_journalentry SET amount = %s WHERE id = %s", ["1.00", second.pk])

    check = journal_verify(pizzeria=shop.pizzeria)
    assert (check.broken.sequence, check.broken.entry_id) == (4, second.pk)
    assert "modifié" in check.broken.reason
    assert check.rows == 3
    # The other pizzeria's chain is not concerned.
    assert journal_verify(pizzeria=shop.other_pizzeria).is_intact


def test_a_row_removed_or_relinked_by_sql_is_named(shop, manager):
    for _ in range(3):
        completed(shop, manager)
    entries = rows(shop.pizzeria)
    tamper("DELETE FROM ventes_journalentry WHERE id = %s", [entries[2].pk])
    check = journal_verify(pizzeria=shop.pizzeria)
    assert check.broken.sequence == 3 and "manque" in check.broken.reason

    # The last rows removed: the chain's head still remembers how far it went.
    tamper("DELETE FROM ventes_journalentry WHERE sequence >= %s", [3])
    check = journal_verify(pizzeria=shop.pizzeria)
    assert check.broken.sequence == 3 and "disparu" in check.broken.reason


def test_a_row_rehashed_by_sql_breaks_the_next_link(shop, manager):
    completed(shop, manager)
    completed(shop, manager)
    entries = rows(shop.pizzeria)
    # A forger who recomputes the row's own hash still breaks the link the next row holds.
    entries[1].amount = Decimal("1.00")
    forged = entry_hash(entries[1])
    tamper("UPDATE ventes_journalentry SET amount = %s, hash = %s WHERE id = %s", ["1.00", forged, entries[1].pk])
    check = journal_verify(pizzeria=shop.pizzeria)
    assert (check.broken.sequence, "chaînage" in check.broken.reason) == (3, True)


def test_the_command_names_the_broken_row_and_fails(shop, manager, capsys):
    completed(shop, manager)
    call_command("verify_journal")
    assert "OC Pizza Bastille : 2 écritures, chaîne intacte" in capsys.readouterr().out

    tamper("UPDATE ventes_journalentry SET payment_method = %s WHERE sequence = 2", ["card"])
    with pytest.raises(CommandError):
        call_command("verify_journal")
    assert "OC Pizza Bastille : écriture n° 2 : son contenu a été modifié" in capsys.readouterr().err


def test_the_manager_screen_shows_each_chain_and_the_broken_row(client, shop, manager, django_assert_max_num_queries):
    completed(shop, manager)
    completed(shop, manager, pizzeria_id=shop.other_pizzeria.pk)
    sql = "UPDATE ventes_journalentry SET amount = %s WHERE pizzeria_id = %s AND sequence = 1"
    tamper(sql, ["0.01", shop.pizzeria.pk])
    client.force_login(manager)

    with django_assert_max_num_queries(12):
        response = client.get("/equipe/journal-des-ventes/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Journal altéré" in page and "Écriture n° 1</strong> : son contenu a été modifié" in page
    assert "Chaîne intacte" in page and "2 écritures" in page


@pytest.mark.parametrize("role", ["pizzaiolo", "counter", "rider"])
def test_only_managers_see_the_journal(client, shop, role):
    client.force_login(factories.StaffMemberFactory(role=role, pizzeria=shop.pizzeria).user)
    assert client.get("/equipe/journal-des-ventes/").status_code == 403
    client.force_login(factories.CustomerFactory().user)
    assert client.get("/equipe/journal-des-ventes/").status_code == 403


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete(shop, manager):
    from django.db import DatabaseError, transaction

    completed(shop, manager)
    entry = rows(shop.pizzeria)[0]
    refused = [
        "UPDATE ventes_journalentry SET amount = 1 WHERE id = %s",
        "DELETE FROM ventes_journalentry WHERE id = %s",
    ]
    for sql in refused:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).amount == Decimal("9.50")
