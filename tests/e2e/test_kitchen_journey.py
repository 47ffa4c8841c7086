"""A web order through the staff screens in a real browser: kitchen, then rider."""

import pytest
from playwright.sync_api import expect

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.models import STATE_EVENT_TYPES, Fulfilment, OrderState, PaymentState
from ventes.tracking import order_tracking_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "motdepasse-solide"


def log_in(browser, live_server, email):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/equipe/connexion/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    return page


def states(order):
    moves = order.events.filter(type__in=STATE_EVENT_TYPES).order_by("at", "pk")
    return list(moves.values_list("to_state", flat=True))


def test_a_web_order_from_the_kitchen_display_to_the_customers_door(browser, live_server, shop):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    rider = factories.StaffMemberFactory(role=StaffMember.RIDER, pizzeria=shop.pizzeria).user

    kitchen = log_in(browser, live_server, pizzaiolo.email)
    expect(kitchen.get_by_role("heading", name="Cuisine — OC Pizza Bastille")).to_be_visible()
    kitchen.evaluate("window.stillTheSamePage = true")
    # Nothing changed yet: the poll costs a 304 and the board is left alone.
    with kitchen.expect_response(lambda r: "/cuisine/direct/" in r.url and r.status == 304):
        pass
    expect(kitchen.get_by_role("heading", name="Reçue (0)")).to_be_visible()

    order = place(shop, fulfilment=Fulfilment.DELIVERY, note="Sans olives")
    customer = browser.new_page()
    customer.set_default_timeout(20_000)
    customer.goto(f"{live_server.url}{order_tracking_url(number=order.number)}")
    customer_state = customer.locator("strong[data-state]")
    expect(customer_state).to_have_attribute("data-state", OrderState.RECEIVED)
    customer.evaluate("window.stillTheSamePage = true")
    card = kitchen.locator(f".column-received #order-{order.pk}")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Sans olives")
    expect(kitchen.locator("[data-new-alert]")).to_be_visible()
    expect(card).to_have_class("kitchen-card is-new")
    assert kitchen.evaluate("window.stillTheSamePage") is True

    card.get_by_role("button", name=f"Commencer {order.short_number}").click()
    expect(kitchen.locator(f".column-preparing #order-{order.pk}")).to_be_visible()
    order.refresh_from_db()
    assert order.state == OrderState.PREPARING
    expect(customer_state).to_have_attribute("data-state", OrderState.PREPARING)
    assert states(order) == [OrderState.RECEIVED, OrderState.PREPARING]

    kitchen.get_by_role("button", name=f"Prête {order.short_number}").click()
    expect(kitchen.locator(f".column-ready #order-{order.pk}")).to_be_visible()
    order.refresh_from_db()
    assert order.state == OrderState.READY
    expect(customer_state).to_have_attribute("data-state", OrderState.READY)
    assert kitchen.evaluate("window.stillTheSamePage") is True

    phone = log_in(browser, live_server, rider.email)
    phone.set_viewport_size({"width": 390, "height": 844})
    delivery = phone.locator(f"#order-{order.pk}")
    expect(delivery).to_contain_text("8 rue Keller")
    expect(delivery.get_by_role("link", name="Itinéraire")).to_have_attribute(
        "href", "https://www.google.com/maps/search/?api=1&query=8%20rue%20Keller%2C%2075001%20Paris"
    )
    delivery.get_by_role("button", name=f"Je prends {order.short_number}").click()
    expect(phone.get_by_role("button", name=f"Livrée et encaissée {order.short_number}")).to_be_visible()
    order.refresh_from_db()
    assert (order.state, order.rider_id) == (OrderState.OUT_FOR_DELIVERY, rider.pk)
    expect(customer_state).to_have_attribute("data-state", OrderState.OUT_FOR_DELIVERY)

    phone.get_by_role("button", name=f"Livrée et encaissée {order.short_number}").click()
    expect(phone.locator(f"#order-{order.pk}")).to_have_count(0)
    order.refresh_from_db()
    assert (order.state, order.payment_state) == (OrderState.COMPLETED, PaymentState.PAID)
    expect(customer_state).to_have_attribute("data-state", OrderState.COMPLETED)
    # Every step reached the customer's page without a reload.
    assert customer.evaluate("window.stillTheSamePage") is True
    assert states(order) == [
        OrderState.RECEIVED,
        OrderState.PREPARING,
        OrderState.READY,
        OrderState.OUT_FOR_DELIVERY,
        OrderState.COMPLETED,
    ]
    # The cash collected at the door is in the event of the move that collected it.
    assert order.events.order_by("at", "pk").last().params["payment"]["amount"] == str(order.total)
