"""Every staff screen, opened by a chain manager on a phone and on a desktop, has no axe-core violation.

The screens come from the resolver: every page of the staff area (``/equipe/``) plus the staff's pages kept
with the orders. A new staff page is walked without being listed here; one that needs an object it does not
know how to find fails the walk until it is taught one.
"""

from importlib import import_module

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import expect

from ocpizzapp.demo import DEMO_PASSWORD, MANAGER_EMAIL
from production.models import Allergen, Pizzeria, Product, PurchaseOrder, Stock, Supplier
from production.services import purchase_order_draft, purchase_order_send
from ventes.models import Order
from ventes.selectors import checkout_slots
from ventes.services import LineRequest, OrderRequest, order_place

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = ({"width": 390, "height": 844}, {"width": 1280, "height": 900})
# Staff pages that live beside the customer's: the counter's order taking, an order as staff see it.
STAFF_PAGES_ELSEWHERE = ("ventes:staff_order", "ventes:order_detail", "ventes:receipt", "ventes:order_refund")
# Answers that are no screen of their own, with the reason; walked by their own tests.
NOT_SCREENS = {
    "production:home": "sends each role to its own screen",
    "production:login": "walked before signing in",
    "production:logout": "leaves the staff area",
    "production:dashboard_board": "the dashboard's live fragment, inside the dashboard",
    "production:kitchen_board": "the kitchen's live fragment, inside the kitchen screen",
    "production:rider_board": "the riders' live fragment, inside their screen",
    "production:counter_board": "the counter's live fragment, inside its screen",
    "production:reports_export": "a CSV file",
    "production:purchase_order_csv": "a CSV file",
}


def staff_routes() -> dict[str, set[str]]:
    """Each staff page's URL name, with the parameters its URL takes."""
    routes = {}
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace in {"production", "ventes"}:
            for pattern in entry.url_patterns:
                name = f"{entry.namespace}:{pattern.name}"
                if isinstance(pattern, URLPattern) and (
                    name in STAFF_PAGES_ELSEWHERE or (entry.namespace == "production" and name not in NOT_SCREENS)
                ):
                    routes[name] = set(pattern.pattern.converters)
    assert set(STAFF_PAGES_ELSEWHERE) <= set(routes), "a staff page elsewhere was renamed"
    return routes


def an_order(pizzeria: Pizzeria) -> Order:
    """A web order for the first time it can be made (the demo's hours may have the pizzeria closed now)."""
    product = Product.objects.filter(pizzerias=pizzeria, category="pizza").order_by("pk").first()
    return order_place(
        request=OrderRequest(
            pizzeria=Pizzeria.objects.prefetch_related("opening_hours").get(pk=pizzeria.pk),
            lines=[LineRequest(product.pk, 1)],
            channel="web",
            fulfilment="pickup",
            payment_method="cash",
            customer_name="Camille Martin",
            customer_phone="06 12 34 56 78",
            customer_email="camille@example.com",
            requested_for=checkout_slots(pizzeria=pizzeria)[0].at,
        )
    )


def arguments(name: str, pattern_keys: set[str], *, pizzeria, order, draft, sent) -> dict:
    """What each URL names, taken from the demo chain's Bastille."""
    values: dict = {}
    if "slug" in pattern_keys:
        values["slug"] = pizzeria.slug
    if "number" in pattern_keys:
        values["number"] = order.number
    if "product_id" in pattern_keys:
        values["product_id"] = Product.objects.filter(pizzerias=pizzeria, category="pizza").order_by("pk")[0].pk
    if "supplier_id" in pattern_keys:
        values["supplier_id"] = draft.supplier_id
    if "pk" in pattern_keys:
        by_screen = {
            "production:stock_line": Stock.objects.filter(pizzeria=pizzeria).order_by("pk")[0].pk,
            "production:purchase_order": draft.pk,
            "production:order_ticket": order.pk,
        }
        values["pk"] = by_screen.get(name, sent.pk)
    return values


def test_every_staff_screen_has_no_axe_violation_on_a_phone_and_a_desktop(browser, live_server):
    for code, label in import_module("production.migrations.0003_eu_allergens").EU_ALLERGENS:
        Allergen.objects.get_or_create(code=code, defaults={"name": label})
    call_command("seed_demo", verbosity=0)
    bastille = Pizzeria.objects.get(slug="bastille")
    order = an_order(bastille)
    suppliers = Supplier.objects.filter(items__ingredient__stock_lines__pizzeria=bastille).distinct().order_by("pk")
    draft = purchase_order_draft(pizzeria=bastille, supplier=suppliers[0])
    sent = purchase_order_send(order=purchase_order_draft(pizzeria=bastille, supplier=suppliers[1]))

    page = browser.new_page(viewport=SIZES[0])
    page.goto(f"{live_server.url}/equipe/connexion/")
    violations = {("production:login", 390): _violations(page)}
    page.get_by_label("E-mail").fill(MANAGER_EMAIL)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion/" not in url)

    walked = ["production:login"]
    for name, keys in staff_routes().items():
        url = reverse(name, kwargs=arguments(name, keys, pizzeria=bastille, order=order, draft=draft, sent=sent))
        status = page.request.get(f"{live_server.url}{url}", max_redirects=0).status
        if status == 405:  # an action, posted from a screen walked here
            continue
        assert status == 200, (name, url, status)
        page.goto(f"{live_server.url}{url}")
        expect(page.locator("h1").first).to_be_visible()
        for viewport in SIZES:
            page.set_viewport_size(viewport)
            violations[(name, viewport["width"])] = _violations(page)
        page.set_viewport_size(SIZES[0])
        walked.append(name)

    assert {screen: found for screen, found in violations.items() if found} == {}
    # The walk reached the screens each role works on, not only the ones that happened to open.
    assert {"production:dashboard", "production:kitchen", "production:stock_line", "ventes:staff_order"} <= set(walked)
    assert PurchaseOrder.objects.filter(pk=sent.pk, status="sent").exists()


def _violations(page) -> list:
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in Axe().run(page).response["violations"]]
