"""A real gunicorn on PostgreSQL whose worker dies in the middle of a checkout."""

import contextlib
import os
import signal
import threading

import psycopg2
import pytest
import requests

from production.models import StockMovement
from tests.conftest import ledger_matches_levels
from tests.ops.servers import wait_until
from tests.security.conftest import checkout_token, database_url, fill_cart
from tests.ventes.helpers import GUEST
from ventes.models import Order, OrderLine


@pytest.fixture
def gunicorn(app_servers):
    (server,) = app_servers()
    return server.process, server.url


def _workers(master: int) -> list[int]:
    children = f"/proc/{master}/task/{master}/children"
    with open(children) as handle:
        return [int(pid) for pid in handle.read().split()]


def _waiting_on_a_lock(dsn: str) -> bool:
    probe = psycopg2.connect(dsn)
    try:
        with probe.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0
    finally:
        probe.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_checkout_leaves_all_or_nothing(shop, gunicorn):
    process, base = gunicorn
    browser = requests.Session()
    csrf = fill_cart(browser, base, shop, quantity=2)
    token = checkout_token(browser, base)

    dsn = database_url()
    holder = psycopg2.connect(dsn)
    try:
        # The checkout locks its pizzeria first: hold that row so the worker stops mid-checkout.
        holder.cursor().execute("SELECT id FROM production_pizzeria WHERE id = %s FOR UPDATE", [shop.pizzeria.pk])
        posting = threading.Thread(
            target=lambda: _post_quietly(browser, f"{base}/commander/", {**GUEST, "token": token}, csrf), daemon=True
        )
        posting.start()
        wait_until(lambda: _waiting_on_a_lock(dsn), what="the checkout waiting on the pizzeria lock")
        for worker in _workers(process.pid):
            os.kill(worker, signal.SIGKILL)
    finally:
        holder.rollback()
        holder.close()
    posting.join(30)

    # Whatever the server got to, the database holds all of the order or none of it.
    wait_until(lambda: not _waiting_on_a_lock(dsn), what="the killed worker's session to end")
    orders = list(Order.objects.all())
    if orders:
        assert len(orders) == 1 and OrderLine.objects.filter(order=orders[0]).count() == 1
        assert StockMovement.objects.filter(kind="reservation").exists()
    else:
        assert not OrderLine.objects.exists()
        assert not StockMovement.objects.filter(kind="reservation").exists()
    assert ledger_matches_levels()
    # And the server carries on with a new worker.
    wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200, what="a new worker")


def _post_quietly(session, url, data, headers):
    # The worker dies under this request: that is the point.
    with contextlib.suppress(requests.RequestException):
        session.post(url, data, headers=headers, timeout=30)
