"""A business error answered to an htmx action is shown to the person in the browser, not lost as a 4xx."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.urls_business_errors")]


def test_an_htmx_action_refused_shows_its_message_in_the_alert_region(live_server, shop, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/pizzeria/{shop.pizzeria.slug}/")
    menu = page.locator("#contenu").inner_html()

    # An htmx action aimed at the menu that the server refuses with a 409.
    page.evaluate("htmx.ajax('POST', '/conflit/', {target: '#contenu', swap: 'innerHTML'})")

    alert = page.locator("#htmx-errors [role=alert]")
    expect(alert).to_have_text("Cette commande vient de changer d'état.")
    assert page.locator("#contenu").inner_html() == menu  # the page it was aimed at is left as it was
