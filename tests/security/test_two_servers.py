"""Two app servers on one database: whatever one of them does, the other sees.

nginx (or Heroku's router) may send any request to any server, so sessions,
orders, stock, the kitchen board and the maintenance switch must not live in
a server's memory. Scheduled jobs, the last shared piece, take an advisory
lock: tests/ops/test_jobs.py::test_two_servers_running_a_job_at_once_do_the_work_once.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import redis
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command

from production.models import StaffMember
from production.services import stock_count_inventory
from tests import factories
from tests.conftest import TEST_REDIS_URL, ledger_matches_levels
from tests.ops.servers import wait_until
from tests.security.conftest import checkout_token, fill_cart
from tests.ventes.helpers import GUEST
from ventes.models import Order, OrderState
from ventes.selectors import stock_check_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PASSWORD = "four-a-bois-2026"


@pytest.fixture
def two_servers(app_servers):
    return app_servers(2)


@pytest.fixture
def shared_redis():
    database = redis.Redis.from_url(TEST_REDIS_URL)
    database.flushdb()
    yield TEST_REDIS_URL
    database.flushdb()


def _post(browser: requests.Session, url: str, data: dict, csrf: dict[str, str]) -> requests.Response:
    return browser.post(url, data, headers=csrf, allow_redirects=False, timeout=60)


def _check_out(browser: requests.Session, url: str, token: str, csrf: dict[str, str]) -> requests.Response:
    return _post(browser, f"{url}/commander/", {**GUEST, "token": token}, csrf)


def _same_browser(browser: requests.Session) -> requests.Session:
    """A second connection with the same cookies, as a double click opens one."""
    twin = requests.Session()
    twin.cookies.update(browser.cookies)
    return twin


def _state_on(url: str, tracking_link: str) -> str:
    """The order's state as its signed tracking link's live partial shows it on that server."""
    link = urlsplit(tracking_link)
    partial = requests.get(f"{url}{link.path}suivi/?{link.query}", timeout=30)
    assert partial.status_code == 200
    return re.search(r'data-state="([a-z_]+)"', partial.text).group(1)


def _margherita_card(url: str, shop) -> str:
    page = requests.get(f"{url}/pizzeria/{shop.pizzeria.slug}/", timeout=30).text
    return re.search(rf'id="produit-{shop.margherita.pk}".*?</li>', page, re.DOTALL).group(0)


def test_a_cart_filled_on_one_server_is_checked_out_on_the_other_once(shop, two_servers):
    a, b = two_servers
    browser = requests.Session()
    csrf = fill_cart(browser, a.url, shop, quantity=2)
    token = checkout_token(browser, b.url)

    placed = _check_out(browser, b.url, token, csrf)
    assert placed.status_code == 302
    # The same form sent again, to the other server: back to the same order, nothing placed.
    again = _check_out(browser, a.url, token, csrf)
    assert again.status_code == 302
    assert urlsplit(again.headers["Location"]).path == urlsplit(placed.headers["Location"]).path

    order = Order.objects.get()
    assert list(order.lines.values_list("product", "quantity")) == [(shop.margherita.pk, 2)]
    assert shop.level("dough") == 8


def test_the_same_checkout_sent_to_both_servers_at_once_places_one_order(shop, two_servers):
    a, b = two_servers
    browser = requests.Session()
    csrf = fill_cart(browser, a.url, shop)
    token = checkout_token(browser, a.url)
    both_clicks = threading.Barrier(2)

    def click(url):
        twin = _same_browser(browser)
        both_clicks.wait()
        return _check_out(twin, url, token, csrf)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(click, [a.url, b.url]))

    assert Order.objects.count() == 1
    assert [answer.status_code for answer in answers] == [302, 302]
    assert len({urlsplit(answer.headers["Location"]).path for answer in answers}) == 1
    assert shop.level("dough") == 9
    assert ledger_matches_levels()


def _pizzaiolo_of(shop) -> StaffMember:
    member = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    # The servers check passwords with the production hashers, not with the tests' fast one.
    hasher = PBKDF2PasswordHasher()
    member.user.password = hasher.encode(PASSWORD, hasher.salt())
    member.user.save(update_fields=["password"])
    return member


def _log_in_on(url: str, email: str) -> requests.Session:
    """Through the staff login page, as the pizzaiolo's tablet does (axes sees a real request)."""
    tablet = requests.Session()
    tablet.get(f"{url}/equipe/connexion/", timeout=30)
    logged_in = _post(
        tablet,
        f"{url}/equipe/connexion/",
        {"username": email, "password": PASSWORD},
        {"X-CSRFToken": tablet.cookies["csrftoken"]},
    )
    assert logged_in.status_code == 302, "the login page refused the pizzaiolo"
    return tablet


def test_an_order_placed_on_one_server_is_followed_and_cooked_on_the_other(shop, two_servers):
    a, b = two_servers
    pizzaiolo = _pizzaiolo_of(shop)
    customer = requests.Session()
    csrf = fill_cart(customer, a.url, shop)
    tracking_link = _check_out(customer, a.url, checkout_token(customer, a.url), csrf).headers["Location"]
    order = Order.objects.get()
    assert _state_on(b.url, tracking_link) == OrderState.RECEIVED

    tablet = _log_in_on(a.url, pizzaiolo.user.email)
    kitchen = f"{b.url}/equipe/{shop.pizzeria.slug}/cuisine"
    board = tablet.get(f"{kitchen}/direct/", timeout=30)
    assert board.status_code == 200
    assert f'id="order-{order.pk}"' in board.text

    started = _post(tablet, f"{kitchen}/{order.pk}/commencer/", {}, {"X-CSRFToken": tablet.cookies["csrftoken"]})
    assert started.status_code == 302
    assert _state_on(a.url, tracking_link) == OrderState.PREPARING


@pytest.mark.redis
def test_with_a_shared_cache_the_other_servers_menu_shows_the_stock_an_order_took_at_once(
    shop, app_servers, shared_redis
):
    # Cached menus outlive the test: only the shared stock version can tell B that its copy is old.
    a, b = app_servers(2, REDIS_URL=shared_redis, MENU_CACHE_SECONDS="3600")
    assert "plus que" not in _margherita_card(b.url, shop)

    customer = requests.Session()
    csrf = fill_cart(customer, a.url, shop, quantity=6)
    assert _check_out(customer, a.url, checkout_token(customer, a.url), csrf).status_code == 302

    assert "plus que 4" in _margherita_card(b.url, shop)


def test_with_a_cache_per_server_the_other_servers_menu_catches_up_with_the_stock(shop, two_servers):
    a, b = two_servers
    assert "plus que" not in _margherita_card(b.url, shop)  # and now in B's own cache

    customer = requests.Session()
    csrf = fill_cart(customer, a.url, shop, quantity=6)
    assert _check_out(customer, a.url, checkout_token(customer, a.url), csrf).status_code == 302

    # B's copy expires after MENU_CACHE_SECONDS; the wait allows for a loaded machine.
    wait_until(
        lambda: "plus que 4" in _margherita_card(b.url, shop),
        what="the new availability on the other server's menu",
        limit=settings.OCPIZZA["MENU_CACHE_SECONDS"] + 30,
    )


def test_two_servers_racing_for_the_last_portions_never_oversell(shop, two_servers):
    portions, customers = 3, 8
    stock_count_inventory(stock=shop.stock["dough"], counted=portions)
    carts = []
    for number in range(customers):
        url = two_servers[number % 2].url
        browser = requests.Session()
        csrf = fill_cart(browser, url, shop)
        carts.append((browser, url, checkout_token(browser, url), csrf))
    all_at_once = threading.Barrier(customers)

    def check_out(cart):
        all_at_once.wait()
        return _check_out(*cart)

    with ThreadPoolExecutor(customers) as pool:
        answers = list(pool.map(check_out, carts))

    placed = [answer for answer in answers if answer.status_code == 302]
    assert len(placed) == Order.objects.count() == portions
    refused = [answer for answer in answers if answer.status_code != 302]
    assert all(answer.status_code == 200 and "Stock insuffisant" in answer.text for answer in refused)
    assert shop.level("dough") == 0
    assert not stock_check_ledger()
    assert ledger_matches_levels()


def test_maintenance_switched_on_reaches_both_servers_and_off_again(two_servers):
    def every_server_answers(status):
        return all(requests.get(f"{server.url}/", timeout=30).status_code == status for server in two_servers)

    call_command("maintenance", "on")
    try:
        # Each server reads the switch again after MAINTENANCE_STATE_TTL.
        wait_until(lambda: every_server_answers(503), what="maintenance on every server", limit=60)
        for server in two_servers:
            page = requests.get(f"{server.url}/", timeout=30)
            assert '<html lang="fr">' in page.text and "maintenance" in page.text
    finally:
        call_command("maintenance", "off")
    # Both servers have just read "on": switching off still reaches them at once.
    assert every_server_answers(200)
