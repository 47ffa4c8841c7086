"""The managers' refund page of an order: who reaches it, what it takes, what it refuses."""

from decimal import Decimal

import pytest

from tests import factories
from ventes.models import OrderEventType, OrderState, PaymentState, Refund
from ventes.services import LineRequest
from ventes.workflow import order_transition

from .helpers import place

pytestmark = pytest.mark.django_db
S = OrderState


@pytest.fixture
def manager():
    return factories.StaffMemberFactory(role="manager", pizzeria=None).user


@pytest.fixture
def paid_at_the_door(shop, manager):
    order = place(shop, [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)])
    for state in [S.PREPARING, S.READY, S.COMPLETED]:
        order_transition(order_id=order.pk, to_state=state, by=manager)
    order.refresh_from_db()
    assert order.payment_state == PaymentState.PAID
    return order


def url(order):
    return f"/commande/{order.number}/rembourser/"


def test_only_a_manager_reaches_the_refund_page(client, shop, manager, paid_at_the_door):
    counter = factories.StaffMemberFactory(role="counter", pizzeria=shop.pizzeria).user
    client.force_login(counter)
    assert client.get(url(paid_at_the_door)).status_code == 404
    assert client.post(url(paid_at_the_door), {"scope": "all", "reason": "quality"}).status_code == 404
    assert "Rembourser" not in client.get(f"/commande/{paid_at_the_door.number}/").content.decode()
    assert not Refund.objects.exists()

    client.force_login(manager)
    detail = client.get(f"/commande/{paid_at_the_door.number}/").content.decode()
    assert url(paid_at_the_door) in detail
    page = client.get(url(paid_at_the_door)).content.decode()
    assert "Produit manquant" in page and "Qualité insuffisante" in page


def test_a_manager_refunds_lines_in_cash_and_it_shows_everywhere(client, shop, manager, paid_at_the_door):
    client.force_login(manager)
    margherita = paid_at_the_door.lines.get(product=shop.margherita)

    response = client.post(
        url(paid_at_the_door), {"scope": "lines", f"line_{margherita.pk}": "1", "reason": "missing_item"}
    )

    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.method, refund.by, refund.state) == (
        margherita.unit_price,
        "cash",
        manager,
        Refund.State.SUCCEEDED,
    )
    amount = f"{margherita.unit_price:.2f}".replace(".", ",")
    detail = client.get(f"/commande/{paid_at_the_door.number}/", follow=True).content.decode()
    assert f"Remboursement effectué : {amount} €" in detail and "produit manquant" in detail
    assert f"Remboursé : {amount} €" in detail
    receipt = client.get(f"/commande/{paid_at_the_door.number}/recu/").content.decode()
    assert "Remboursements" in receipt and f"Total remboursé : {amount} €" in receipt
    assert paid_at_the_door.events.last().type == OrderEventType.REFUND_SUCCEEDED


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"scope": "amount", "amount": "100"}, "On ne peut pas rembourser plus que ce qui a été payé"),
        ({"scope": "amount", "amount": "٣"}, "Indiquez un montant en euros"),
        ({"scope": "amount", "amount": "1_0"}, "Indiquez un montant en euros"),
        ({"scope": "amount", "amount": "-2"}, "Indiquez un montant en euros"),
        ({"scope": "amount", "amount": "1.234"}, "Indiquez un montant en euros"),
        ({"scope": "amount", "amount": ""}, "Indiquez le montant à rembourser"),
        ({"scope": "lines"}, "Choisissez au moins un produit à rembourser"),
        ({"scope": "all", "reason": ""}, "Choisissez le motif du remboursement"),
        ({"scope": "all", "reason": "duplicate_payment"}, "Motif inconnu"),
    ],
)
def test_bad_refunds_get_a_french_message_and_write_nothing(client, manager, paid_at_the_door, posted, message):
    client.force_login(manager)
    events = paid_at_the_door.events.count()

    response = client.post(url(paid_at_the_door), {"reason": "quality", **posted})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Refund.objects.exists()
    assert paid_at_the_door.events.count() == events


def test_a_refund_up_to_the_last_cent_then_nothing_more(client, manager, paid_at_the_door):
    client.force_login(manager)
    assert client.post(url(paid_at_the_door), {"scope": "all", "reason": "late"}).status_code == 302
    paid_at_the_door.refresh_from_db()
    assert paid_at_the_door.payment_state == PaymentState.REFUNDED
    assert Refund.objects.get().amount == paid_at_the_door.total

    again = client.post(url(paid_at_the_door), {"scope": "amount", "amount": "0,01", "reason": "late"})
    assert "déjà entièrement remboursée" in again.content.decode()
    assert Refund.objects.count() == 1
    assert sum(r.amount for r in Refund.objects.all()) == Decimal(paid_at_the_door.total)
