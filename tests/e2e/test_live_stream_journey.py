"""A customer's open tracking page follows the kitchen through the stream, and by polling when the stream is gone.

The real stream server (uvicorn on ``ocpizzapp.asgi``, its own process) listens to the test's PostgreSQL; the
pages come from the test's server and open their stream on the stream server's own origin, as in development.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass

import pytest
import requests
from playwright.sync_api import expect

from ocpizzapp.ops.streamserver import stream_server_command
from production.models import StaffMember
from tests import factories
from tests.ops.servers import ROOT, free_port, stop, wait_until
from tests.security.conftest import database_url
from tests.ventes.helpers import place
from ventes.models import OrderState
from ventes.tracking import order_tracking_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PASSWORD = "motdepasse-solide"


@dataclass
class StreamServer:
    process: subprocess.Popen
    url: str


@pytest.fixture
def stream_server(live_server, settings, tmp_path):
    port = free_port()
    # "localhost" like the pages' server: the same site, so the staff's session cookie goes with their stream.
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings",
        "DATABASE_URL": database_url(),
        "SITE_URL": live_server.url,
        "LIVE_STREAM_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("ENV_MODE", None)
    log = open(tmp_path / "streams.log", "wb")  # noqa: SIM115
    # A group of its own: killed below, its workers (uvicorn's children) go with it, as systemd's stop does.
    process = subprocess.Popen(
        stream_server_command(port=port),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: requests.get(f"{url}/flux/sante", timeout=2).status_code == 200, what="stream server")
        settings.LIVE_STREAM_URL = url
        policy = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**policy, "connect-src": [*policy["connect-src"], url]}}
        yield StreamServer(process, url)
    finally:
        stop(process)
        log.close()


def log_in(browser, live_server, email):
    page = browser.new_page()
    page.goto(f"{live_server.url}/equipe/connexion/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Cuisine — OC Pizza Bastille")).to_be_visible()
    return page


def state_shown(page) -> str | None:
    return page.locator("strong[data-state]").get_attribute("data-state")


def seconds_until_shown(page, state: str, *, limit: float) -> float:
    """How long the page took to show ``state``, polled from here (the page's CSP refuses a string to evaluate)."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < limit:
        if state_shown(page) == state:
            return elapsed
        time.sleep(0.02)
    raise AssertionError(f"the page still shows {state_shown(page)!r} after {limit} s, not {state!r}")


def tap(kitchen, order, button: str) -> None:
    """A pizzaiolo's tap, back from the server: its change is committed."""
    with kitchen.expect_response(lambda r: f"/cuisine/{order.pk}/" in r.url and r.request.method == "POST"):
        kitchen.get_by_role("button", name=f"{button} {order.short_number}").click()


def test_a_kitchen_tap_reaches_the_customers_page_through_the_stream_then_by_polling(
    browser, live_server, shop, stream_server, settings
):
    pizzaiolo = factories.StaffMemberFactory(role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria).user
    order = place(shop)
    kitchen = log_in(browser, live_server, pizzaiolo.email)
    expect(kitchen.locator("#board[data-stream-open]")).to_be_attached()

    # Polling off: only the stream can bring the change.
    settings.LIVE_POLL = False
    customer = browser.new_page()
    polls = []
    customer.on("request", lambda request: "/suivi/" in request.url and polls.append(request.url))
    customer.goto(f"{live_server.url}{order_tracking_url(number=order.number)}")
    assert state_shown(customer) == OrderState.RECEIVED
    expect(customer.locator("[data-stream-open]")).to_be_attached()
    customer.evaluate("window.stillTheSamePage = true")

    tap(kitchen, order, "Commencer")
    assert seconds_until_shown(customer, OrderState.PREPARING, limit=5) < 1.0
    # One fetch of the live part, asked by the stream; no poll.
    assert len(polls) == 1
    assert customer.evaluate("window.stillTheSamePage") is True

    # Polling on, as pages are; the stream server stops: the page goes back to polling by itself.
    settings.LIVE_POLL = True
    customer.reload()
    expect(customer.locator("[data-stream-open]")).to_be_attached()
    customer.evaluate("window.stillTheSamePage = true")
    os.killpg(stream_server.process.pid, signal.SIGKILL)
    stream_server.process.wait()
    expect(customer.locator("[data-stream]:not([data-stream-open])")).to_be_attached()

    tap(kitchen, order, "Prête")
    seconds_until_shown(customer, OrderState.READY, limit=30)
    assert customer.evaluate("window.stillTheSamePage") is True
