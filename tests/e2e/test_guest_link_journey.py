"""On a phone, a guest follows their order from the link they were sent, changes it with the steppers and the
menu's cards, then cancels it with one tap on a reason, and is offered an account; nobody signs in."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from production.models import Product
from tests.e2e.screens import looked_at_on_a_phone, save_screenshot
from tests.ventes.helpers import place
from ventes.models import Order, OrderEventType, OrderState
from ventes.services import LineRequest
from ventes.tracking import order_tracking_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def with_pictures(shop) -> None:
    for product, picture in ((shop.margherita, "margherita"), (shop.regina, "regina"), (shop.beer, "peroni")):
        Product.objects.filter(pk=product.pk).update(picture=picture)


def refused_by_csp(page) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    return refused


def test_a_guest_changes_then_cancels_their_order_from_the_link(browser, live_server, shop):
    with_pictures(shop)
    order = place(shop, [LineRequest(shop.margherita.pk, 1)], customer_name="Camille Martin")
    margherita = f"qty_{shop.margherita.pk}--"
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(30_000)
    refused = refused_by_csp(page)

    page.goto(f"{live_server.url}{order_tracking_url(number=order.number)}")
    expect(page.get_by_role("heading", name=f"Commande {order.number}")).to_be_visible()
    expect(page.get_by_role("heading", name="Gardez cette commande dans un compte")).to_be_visible()
    looked_at_on_a_phone(page, "guest-link-order")

    page.get_by_role("link", name="Modifier").click()
    expect(page.get_by_role("heading", name="Modifier ma commande")).to_be_visible()
    quantity = page.get_by_label("Quantité de Margherita")
    expect(quantity).to_have_value("1")
    expect(page.get_by_role("heading", name="Ajouter un produit")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("possibles")
    looked_at_on_a_phone(page, "guest-link-edit")

    page.get_by_role("button", name="Un de plus : Margherita").click()
    expect(quantity).to_have_value("2")  # the form drawn again by htmx, the tapped button still focused
    expect(page.locator(f"#plus-{margherita}")).to_be_focused()
    page.get_by_role("button", name="Ajouter Peroni").click()
    expect(page.get_by_label("Quantité de Peroni")).to_have_value("1")
    expect(page.locator(".edit-total")).to_contain_text("23,50 €")  # 2 × 9.50 + 4.50
    expect(page.locator("#edit-announce")).to_have_text("Total des articles : 23,50 €")  # said by screen readers
    looked_at_on_a_phone(page, "guest-link-edit-changed")
    assert Order.objects.get(pk=order.pk).lines.get().quantity == 1  # nothing written before « Enregistrer »

    page.get_by_role("button", name="Enregistrer les changements").click()
    expect(page.get_by_text(f"Commande {order.number} modifiée.")).to_be_visible()
    lines = Order.objects.get(pk=order.pk).lines.values_list("product_name", "quantity")
    assert sorted(lines) == [("Margherita", 2), ("Peroni", 1)]

    page.get_by_role("link", name="Annuler la commande").click()
    expect(page.get_by_role("button", name="Délai trop long")).to_be_visible()
    looked_at_on_a_phone(page, "guest-link-cancel")
    page.get_by_text("Autre raison").click()  # the one reason that may say more opens its few words
    expect(page.get_by_label("Précisez (facultatif)")).to_be_visible()
    looked_at_on_a_phone(page, "guest-link-cancel-other")
    page.get_by_role("button", name="Délai trop long").click()  # one tap cancels
    expect(page.get_by_text(f"Commande {order.number} annulée.")).to_be_visible()
    expect(page.get_by_role("link", name="Modifier")).to_have_count(0)
    looked_at_on_a_phone(page, "guest-link-cancelled")
    cancelled = Order.objects.get(pk=order.pk)
    assert cancelled.state == OrderState.CANCELLED
    assert cancelled.events.filter(type=OrderEventType.STATE_MOVED).get().note == "Délai trop long"
    assert refused == []


def test_the_edit_page_on_a_desktop_keeps_the_order_beside_the_cards(browser, live_server, shop):
    with_pictures(shop)
    order = place(shop, [LineRequest(shop.margherita.pk, 2), LineRequest(shop.beer.pk, 1)])
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(30_000)
    url = order_tracking_url(number=order.number).replace("/?t=", "/modifier/?t=")

    page.goto(f"{live_server.url}{url}")
    page.get_by_role("button", name="Ajouter Regina").click()
    expect(page.get_by_label("Quantité de Regina")).to_have_value("1")
    basket, cards = page.locator(".edit-basket").bounding_box(), page.locator(".edit-add").bounding_box()
    assert basket and cards and basket["x"] > cards["x"] + cards["width"] - 1  # the order on the right
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    if folder := os.environ.get("UI_SCREENSHOTS"):
        save_screenshot(page, Path(folder) / "guest-link-edit-desktop.png", caret="initial")
        page.goto(f"{live_server.url}{url.replace('/modifier/', '/annuler/')}")
        save_screenshot(page, Path(folder) / "guest-link-cancel-desktop.png", caret="initial")


def test_without_script_the_steppers_are_a_plain_form(browser, live_server, shop):
    order = place(shop, [LineRequest(shop.margherita.pk, 1)])
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}{order_tracking_url(number=order.number).replace('/?t=', '/modifier/?t=')}")

    page.get_by_role("button", name="Un de plus : Margherita").click()
    expect(page.get_by_label("Quantité de Margherita")).to_have_value("2")
    page.get_by_role("button", name="Ajouter Peroni").click()
    expect(page.get_by_label("Quantité de Peroni")).to_have_value("1")
    page.get_by_role("button", name="Retirer Margherita").click()
    expect(page.get_by_label("Quantité de Margherita")).to_have_count(0)
    page.get_by_role("button", name="Enregistrer les changements").click()

    expect(page.get_by_text(f"Commande {order.number} modifiée.")).to_be_visible()
    assert list(Order.objects.get(pk=order.pk).lines.values_list("product_name", "quantity")) == [("Peroni", 1)]
