"""What each staff screen shows and does."""

import datetime
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from production.models import StockMovement
from tests import factories
from tests.conftest import ledger_matches_levels
from tests.ventes.helpers import place
from ventes.models import Fulfilment, Order, OrderEvent, OrderState, Payment, PaymentState
from ventes.workflow import order_transition

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, shop=None, **kwargs):
    if shop is not None:
        kwargs["slug"] = shop.pizzeria.slug
    return reverse(f"production:{name}", kwargs=kwargs)


# --- Login and landing -----------------------------------------------------------


def test_staff_log_in_with_their_email_and_land_on_their_screen(client, shop, team):
    response = client.post(
        url("login"), {"username": "pizzaiolo@ocpizza.fr", "password": "motdepasse-solide"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("kitchen", shop)
    assert "Cuisine — OC Pizza Bastille" in response.content.decode()


def test_the_staff_login_refuses_a_customer_in_french(client, team):
    response = client.post(url("login"), {"username": "client@example.com", "password": "motdepasse-solide"})
    assert response.status_code == 200
    assert "n'a pas accès à l'espace équipe" in unescape(response.content.decode())
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_refused_in_french(client, team):
    response = client.post(url("login"), {"username": "pizzaiolo@ocpizza.fr", "password": "faux"})
    assert "E-mail ou mot de passe incorrect." in response.content.decode()


def test_the_login_page_labels_its_inputs(client, db):
    html = client.get(url("login")).content.decode()
    assert '<label for="id_username">E-mail</label>' in html
    assert '<label for="id_password">Mot de passe</label>' in html


@pytest.mark.parametrize(
    ("role", "screen"),
    [("pizzaiolo", "kitchen"), ("rider", "rider"), ("counter", "counter"), ("manager", "dashboard")],
)
def test_the_landing_sends_each_role_to_its_screen(client, shop, team, role, screen):
    client.force_login(team.user(role))
    expected = url(screen) if screen == "dashboard" else url(screen, shop)
    assert client.get(url("home"))["Location"] == expected


def test_logout_is_a_post(client, team):
    client.force_login(team.pizzaiolo)
    assert client.get(url("logout")).status_code == 405
    assert client.post(url("logout"))["Location"] == url("login")
    assert "_auth_user_id" not in client.session


# --- Kitchen display -------------------------------------------------------------


def test_the_kitchen_card_shows_what_the_pizzaiolo_needs(client, shop, team):
    order = place(shop, fulfilment=Fulfilment.DELIVERY, note="Bien cuite")
    client.force_login(team.pizzaiolo)
    html = client.get(url("kitchen", shop)).content.decode()
    assert f'id="order-{order.pk}"' in html
    assert order.short_number in html
    assert "Livraison" in html
    assert "Bien cuite" in html
    assert url("recipe_detail", shop, product_id=shop.margherita.pk) in html
    assert f'datetime="{order.estimated_ready_at.isoformat()}"' in html
    assert f"Reçue à {timezone.localtime(order.created_at):%Hh%M}" in html  # the display's script counts the minutes
    assert url("kitchen_start", shop, pk=order.pk) in html


def test_late_cards_turn_amber_then_red(client, shop, team):
    soon, late, fine = place(shop), place(shop), place(shop)
    now = timezone.now()
    type(soon).objects.filter(pk=soon.pk).update(estimated_ready_at=now + datetime.timedelta(minutes=2))
    type(late).objects.filter(pk=late.pk).update(estimated_ready_at=now - datetime.timedelta(minutes=1))
    type(fine).objects.filter(pk=fine.pk).update(estimated_ready_at=now + datetime.timedelta(minutes=30))
    client.force_login(team.pizzaiolo)
    html = client.get(url("kitchen", shop)).content.decode()
    assert f'kitchen-card is-soon" id="order-{soon.pk}"' in html
    assert f'kitchen-card is-late" id="order-{late.pk}"' in html
    assert f'kitchen-card" id="order-{fine.pk}"' in html


def test_one_tap_starts_and_one_tap_finishes_through_the_workflow(client, shop, team):
    order = place(shop)
    client.force_login(team.pizzaiolo)
    response = client.post(url("kitchen_start", shop, pk=order.pk), **HTMX)
    assert response.status_code == 200
    assert "kitchen-board" in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.PREPARING
    client.post(url("kitchen_finish", shop, pk=order.pk), **HTMX)
    order.refresh_from_db()
    assert order.state == OrderState.READY
    events = list(order.events.values_list("to_state", "by_id"))
    assert events[-2:] == [(OrderState.PREPARING, team.pizzaiolo.pk), (OrderState.READY, team.pizzaiolo.pk)]


def test_the_last_tap_can_be_undone_within_a_minute(client, shop, team):
    order = place(shop)
    client.force_login(team.pizzaiolo)
    html = client.post(url("kitchen_start", shop, pk=order.pk), **HTMX).content.decode()
    assert url("kitchen_undo", shop, pk=order.pk) in html
    client.post(url("kitchen_undo", shop, pk=order.pk), **HTMX)
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED


def test_an_undo_after_a_minute_is_refused_in_french(client, shop, team):
    order = place(shop)
    client.force_login(team.pizzaiolo)
    client.post(url("kitchen_start", shop, pk=order.pk))
    OrderEvent.objects.filter(order=order).update(at=timezone.now() - datetime.timedelta(seconds=61))
    html = client.get(url("kitchen", shop)).content.decode()
    assert url("kitchen_undo", shop, pk=order.pk) not in html
    html = client.post(url("kitchen_undo", shop, pk=order.pk), **HTMX).content.decode()
    assert "Trop tard pour annuler ce geste." in html
    order.refresh_from_db()
    assert order.state == OrderState.PREPARING


def test_a_tap_on_an_order_that_moved_meanwhile_says_so(client, shop, team):
    order = place(shop)
    order_transition(order_id=order.pk, to_state=OrderState.CANCELLED, by=team.counter, cancel_reason="too_busy")
    client.force_login(team.pizzaiolo)
    response = client.post(url("kitchen_start", shop, pk=order.pk), follow=True)
    assert "Impossible : la commande" in response.content.decode()


def test_the_kitchen_refresh_costs_a_304_when_nothing_changed(client, shop, team):
    place(shop)
    client.force_login(team.pizzaiolo)
    first = client.get(url("kitchen_board", shop), **HTMX)
    assert first.status_code == 200
    etag = first["ETag"]
    assert "no-cache" in first["Cache-Control"]
    unchanged = client.get(url("kitchen_board", shop), HTTP_IF_NONE_MATCH=etag, **HTMX)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    new_order = place(shop)
    changed = client.get(url("kitchen_board", shop), HTTP_IF_NONE_MATCH=etag, **HTMX)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert f'id="order-{new_order.pk}"' in changed.content.decode()
    order_transition(order_id=new_order.pk, to_state=OrderState.PREPARING, by=team.pizzaiolo)
    assert client.get(url("kitchen_board", shop), HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 200


def test_another_pizzerias_new_order_does_not_wake_this_display(client, shop, team):
    client.force_login(team.pizzaiolo)
    etag = client.get(url("kitchen_board", shop))["ETag"]
    place(shop, pizzeria_id=shop.other_pizzeria.pk)
    assert client.get(url("kitchen_board", shop), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_every_tap_of_the_board_posts_the_pages_one_form_without_javascript(shop, team):
    first, second = place(shop), place(shop)
    tablet = Client(enforce_csrf_checks=True)
    tablet.force_login(team.pizzaiolo)
    html = tablet.get(url("kitchen", shop)).content.decode()
    taps = re.search(r'<form id="kitchen-taps" method="post" hidden>(.*?)</form>', html, re.S)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', taps.group(1)).group(1)
    # This form, the busy mode's and the logout's, whatever the orders.
    assert html.count('name="csrfmiddlewaretoken"') == 3
    for order in (first, second):
        assert f'form="kitchen-taps" formaction="{url("kitchen_start", shop, pk=order.pk)}"' in html
    response = tablet.post(url("kitchen_start", shop, pk=first.pk), {"csrfmiddlewaretoken": token})
    assert response["Location"] == url("kitchen", shop)
    done = f"Commande {first.short_number} : {OrderState.PREPARING.label}."
    assert tablet.get(response["Location"]).content.decode().count(done) == 1  # once, above the board
    header = re.search(r"""hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""", html).group(1)
    response = tablet.post(url("kitchen_start", shop, pk=second.pk), HTTP_X_CSRFTOKEN=header, **HTMX)
    assert response.status_code == 200
    # The board swapped in brings the message.
    assert f"Commande {second.short_number} : {OrderState.PREPARING.label}." in response.content.decode()
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)) == {"preparing"}


# --- Recipe memo and tickets ----------------------------------------------------


def test_the_recipe_memo_lists_ingredients_and_steps(client, shop, team):
    factories.RecipeStepFactory(product=shop.margherita, position=1, text="Étaler la pâte à la main.")
    factories.RecipeStepFactory(product=shop.margherita, position=2, text="Cuire 90 secondes.")
    client.force_login(team.pizzaiolo)
    html = client.get(url("recipe_detail", shop, product_id=shop.margherita.pk)).content.decode()
    assert "<td>cheese</td><td>100 g</td>" in html
    assert html.index("Étaler la pâte") < html.index("Cuire 90 secondes")
    assert "data-print" in html


def test_the_kitchen_ticket_lists_the_order(client, shop, team):
    order = place(shop, note="Sans basilic")
    client.force_login(team.counter)
    html = client.get(url("order_ticket", shop, pk=order.pk)).content.decode()
    assert order.number in html
    assert "1 ×" in html and "Margherita" in html
    assert "Sans basilic" in html


# --- Rider and counter ----------------------------------------------------------


def _ready(order, team):
    order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=team.pizzaiolo)
    return order_transition(order_id=order.pk, to_state=OrderState.READY, by=team.pizzaiolo)


def test_the_rider_takes_a_ready_delivery_and_delivers_it_collecting_the_cash(client, shop, team, delivery):
    pickup = _ready(place(shop), team)
    _ready(delivery, team)
    client.force_login(team.rider)
    html = client.get(url("rider", shop)).content.decode()
    assert f'id="order-{delivery.pk}"' in html
    assert f'id="order-{pickup.pk}"' not in html
    assert "https://www.google.com/maps/search/?api=1&amp;query=8%20rue%20Keller%2C%2075001%20Paris" in html
    assert 'href="tel:0612345678"' in html
    assert f"À encaisser : {delivery.total:.2f} €".replace(".", ",") in html

    client.post(url("rider_take", shop, pk=delivery.pk), **HTMX)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.rider_id) == (OrderState.OUT_FOR_DELIVERY, team.rider.pk)

    client.post(url("rider_deliver", shop, pk=delivery.pk), **HTMX)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.payment_state) == (OrderState.COMPLETED, PaymentState.PAID)
    payment = Payment.objects.get(order=delivery)
    assert (payment.amount, payment.collected_by_id) == (delivery.total, team.rider.pk)


def test_a_rider_sees_only_his_own_deliveries_on_the_road(client, shop, team, delivery):
    _ready(delivery, team)
    other_rider = factories.StaffMemberFactory(role="rider", pizzeria=shop.pizzeria).user
    order_transition(order_id=delivery.pk, to_state=OrderState.OUT_FOR_DELIVERY, by=other_rider)
    client.force_login(team.rider)
    assert f'id="order-{delivery.pk}"' not in client.get(url("rider", shop)).content.decode()
    response = client.post(url("rider_deliver", shop, pk=delivery.pk), follow=True)
    assert "prise par un autre livreur" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.state == OrderState.OUT_FOR_DELIVERY


def test_the_counter_hands_over_a_pickup_and_takes_payment(client, shop, team, delivery):
    pickup = _ready(place(shop), team)
    _ready(delivery, team)
    client.force_login(team.counter)
    html = client.get(url("counter", shop)).content.decode()
    assert f'id="order-{pickup.pk}"' in html
    assert f'id="order-{delivery.pk}"' not in html
    client.post(url("counter_handover", shop, pk=pickup.pk), **HTMX)
    pickup.refresh_from_db()
    assert (pickup.state, pickup.payment_state) == (OrderState.COMPLETED, PaymentState.PAID)
    assert Payment.objects.get(order=pickup).collected_by_id == team.counter.pk


# --- Stock ----------------------------------------------------------------------


def test_the_stock_screen_highlights_low_lines_and_what_they_block(client, shop, team):
    stock = shop.stock["ham"]
    type(stock).objects.filter(pk=stock.pk).update(on_hand=10, low_threshold=50)
    client.force_login(team.pizzaiolo)
    html = client.get(url("stock", shop)).content.decode()
    assert f'<tr class="is-low" id="stock-{stock.pk}">' in html
    assert "Bloque : Regina" in html
    assert f'<tr class="is-soldout" id="product-{shop.regina.pk}">' in html
    assert f'<tr class="" id="product-{shop.margherita.pk}">' in html


def test_a_restock_writes_the_ledger(client, shop, team):
    client.force_login(team.pizzaiolo)
    stock = shop.stock["cheese"]
    response = client.post(
        url("stock_restock", shop, pk=stock.pk), {"restock-quantity": "500", "restock-note": "livraison Metro"}
    )
    assert response.status_code == 302
    assert shop.level("cheese") == 1700
    movement = StockMovement.objects.filter(stock=stock).first()
    assert (movement.kind, movement.on_hand_delta, movement.by_id, movement.note) == (
        "restock",
        500,
        team.pizzaiolo.pk,
        "livraison Metro",
    )
    assert ledger_matches_levels()


def test_an_inventory_count_may_be_zero(client, shop, team):
    client.force_login(team.manager)
    client.post(url("stock_inventory", shop, pk=shop.stock["ham"].pk), {"inventory-quantity": "0"})
    assert shop.level("ham") == 0
    assert ledger_matches_levels()


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("stock_restock", {"restock-quantity": "0"}, "supérieure ou égale à 1"),
        ("stock_restock", {"restock-quantity": "beaucoup"}, "Saisissez un nombre entier."),
        ("stock_restock", {}, "Ce champ est obligatoire."),
        ("stock_inventory", {"inventory-quantity": "-3"}, "supérieure ou égale à 0"),
        ("stock_waste", {"waste-quantity": "5000"}, "Impossible de jeter 5000 g : il n'y en a que 1200 g en stock."),
    ],
)
def test_bad_stock_input_writes_nothing_and_says_why_beside_the_field(client, shop, team, action, data, message):
    client.force_login(team.pizzaiolo)
    stock = shop.stock["cheese"]
    before = StockMovement.objects.count()
    response = client.post(url(action, shop, pk=stock.pk), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in unescape(html)
    prefix = action.removeprefix("stock_")
    assert f'aria-describedby="id_{prefix}-quantity_error"' in html
    assert f'id="id_{prefix}-quantity_error"' in html
    assert StockMovement.objects.count() == before
    assert shop.level("cheese") == 1200


def test_the_ledger_is_paginated(client, shop, team):
    for _ in range(60):
        client.force_login(team.pizzaiolo)
        client.post(url("stock_restock", shop, pk=shop.stock["beer"].pk), {"restock-quantity": "1"})
    html = client.get(url("stock_ledger", shop)).content.decode()
    assert "Page 1 sur 2" in html
    assert "Page suivante" in html
    assert "Page 2 sur 2" in client.get(url("stock_ledger", shop) + "?page=2").content.decode()


# --- Dashboard ------------------------------------------------------------------


def test_the_dashboard_sums_up_every_pizzeria(client, shop, team):
    done = _ready(place(shop), team)
    order_transition(order_id=done.pk, to_state=OrderState.COMPLETED, by=team.counter)
    late = place(shop)
    type(late).objects.filter(pk=late.pk).update(estimated_ready_at=timezone.now() - datetime.timedelta(minutes=3))
    place(shop, pizzeria_id=shop.other_pizzeria.pk)
    type(shop.stock["ham"]).objects.filter(pk=shop.stock["ham"].pk).update(on_hand=1, low_threshold=50)
    client.force_login(team.manager)
    response = client.get(url("dashboard"))
    summaries = {s.pizzeria.pk: s for s in response.context["summaries"]}
    here, there = summaries[shop.pizzeria.pk], summaries[shop.other_pizzeria.pk]
    assert here.by_state == {"completed": 1, "received": 1}
    assert there.by_state == {"received": 1}
    assert [o.pk for o in here.late] == [late.pk]
    assert (here.today_count, here.today_takings) == (2, done.total)
    assert here.oven_minutes is not None and here.kitchen_minutes is not None
    assert [line.ingredient.name for line in here.low_stock] == ["ham"]
    html = response.content.decode()
    assert "OC Pizza Montmartre" in html and "Mettre en pause" in html


def test_the_dashboard_averages_the_times_the_orders_kept_when_ready(client, shop, team):
    """The day's kitchen and oven times come from the orders (ventes.workflow keeps them), not from their events."""
    for kitchen, oven in ((600.0, 300.0), (1500.0, 900.0)):
        order = _ready(place(shop), team)
        type(order).objects.filter(pk=order.pk).update(kitchen_seconds=kitchen, oven_seconds=oven)
    elsewhere = place(shop, pizzeria_id=shop.other_pizzeria.pk)
    for state in (OrderState.PREPARING, OrderState.READY):
        order_transition(order_id=elsewhere.pk, to_state=state, by=team.manager)
    cancelled = place(shop)
    order_transition(order_id=cancelled.pk, to_state=OrderState.CANCELLED, by=team.manager, cancel_reason="customer")
    client.force_login(team.manager)
    summaries = {s.pizzeria.pk: s for s in client.get(url("dashboard")).context["summaries"]}
    here, there = summaries[shop.pizzeria.pk], summaries[shop.other_pizzeria.pk]
    assert (here.kitchen_minutes, here.oven_minutes) == (17.5, 10.0)
    assert (there.kitchen_minutes, there.oven_minutes) == (0.0, 0.0)
    assert (here.today_count, here.by_state) == (2, {"ready": 2, "cancelled": 1})


def test_a_manager_pauses_and_resumes_a_pizzeria(client, shop, team):
    client.force_login(team.manager)
    client.post(url("pizzeria_pause", shop), {"accepting": "0"}, **HTMX)
    shop.pizzeria.refresh_from_db()
    assert not shop.pizzeria.accepting_orders
    html = client.post(url("pizzeria_pause", shop), {"accepting": "1"}, **HTMX).content.decode()
    shop.pizzeria.refresh_from_db()
    assert shop.pizzeria.accepting_orders
    assert "commandes reprises" in html


def test_a_bad_pause_request_changes_nothing(client, shop, team):
    client.force_login(team.manager)
    assert client.post(url("pizzeria_pause", shop), {"accepting": "peut-être"}).status_code == 400
    shop.pizzeria.refresh_from_db()
    assert shop.pizzeria.accepting_orders


def test_the_dashboard_refresh_costs_a_304_when_nothing_changed(client, shop, team):
    client.force_login(team.manager)
    etag = client.get(url("dashboard_board"))["ETag"]
    assert client.get(url("dashboard_board"), HTTP_IF_NONE_MATCH=etag).status_code == 304
    client.post(url("stock_waste", shop, pk=shop.stock["cheese"].pk), {"waste-quantity": "1"})
    assert client.get(url("dashboard_board"), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_late_order_wakes_the_dashboard(client, shop, team):
    order = place(shop)
    client.force_login(team.manager)
    etag = client.get(url("dashboard_board"))["ETag"]
    # The order turns late with the clock alone, without being saved.
    type(order).objects.filter(pk=order.pk).update(
        estimated_ready_at=timezone.now() - datetime.timedelta(minutes=1), updated_at=order.updated_at
    )
    assert client.get(url("dashboard_board"), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_live_panel_whose_session_ran_out_sends_the_page_to_the_login(client, shop):
    response = client.get(url("kitchen_board", shop), **HTMX)
    assert response["HX-Redirect"] == url("login")
