"""The live screens' streams on PostgreSQL: a committed change reaches the streams that show it, and only those.

Each stream is opened as the stream server serves it (ASGI, the ``AsyncClient``); the changes are made by the
real services in their own committed transactions, and heard through PostgreSQL's LISTEN/NOTIFY.
"""

import asyncio
import datetime
import os
import socket
import subprocess
import time
import urllib.request

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, transaction
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from production.models import StaffMember
from production.services import pizzeria_set_busy
from tests import factories
from tests.ventes.helpers import place
from ventes.models import OrderState
from ventes.selectors import order_live_version
from ventes.tracking import order_tracking_token
from ventes.workflow import order_transition

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEARTBEAT = 0.5


@pytest.fixture(autouse=True)
def _quick_heartbeat(settings):
    settings.LIVE_HEARTBEAT_SECONDS = HEARTBEAT


@pytest.fixture
def kitchen(shop):
    pizzaiolo = factories.UserFactory(email="pizzaiolo@ocpizza.fr")
    factories.StaffMemberFactory(user=pizzaiolo, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    return pizzaiolo


class Stream:
    """An open stream, read message by message (a message ends with a blank line)."""

    def __init__(self, response):
        assert response.status_code == 200, response.status_code
        assert response["Content-Type"] == "text/event-stream"
        self.chunks = aiter(response.streaming_content)

    async def next(self, timeout: float = 5.0) -> str:
        return (await asyncio.wait_for(anext(self.chunks), timeout)).decode()

    async def next_event(self, timeout: float = 5.0) -> dict[str, str]:
        """The next event, heartbeats skipped."""
        while True:
            message = await self.next(timeout)
            if message.startswith("id:"):
                return dict(line.split(": ", 1) for line in message.strip().splitlines())


def _guest_stream_url(order) -> str:
    return f"{reverse('flux:order', args=[order.number])}?t={order_tracking_token(number=order.number)}"


def test_a_kitchen_tap_reaches_the_order_stream_once_committed(shop, kitchen):
    order = place(shop)
    placed = order_live_version(order_id=order.pk)

    async def scenario():
        stream = Stream(await AsyncClient().get(_guest_stream_url(order)))
        assert await stream.next() == "retry: 2000\n\n"
        # Opened without a version: the page's version at once, so that nothing made before it is missed.
        first = await stream.next_event()
        assert first == {"id": placed, "event": "changed", "data": placed}
        await sync_to_async(order_transition)(order_id=order.pk, to_state=OrderState.PREPARING, by=kitchen)
        moved = await stream.next_event()
        assert moved["event"] == "changed"
        assert moved["id"] == await sync_to_async(order_live_version)(order_id=order.pk) != first["id"]

    async_to_sync(scenario)()


def test_a_stream_resumes_from_the_last_event_it_sent(shop, kitchen):
    order = place(shop)
    current = order_live_version(order_id=order.pk)

    async def scenario():
        client = AsyncClient()
        # Up to date: heartbeats only, until something changes.
        stream = Stream(await client.get(_guest_stream_url(order), headers={"Last-Event-ID": current}))
        assert await stream.next() == "retry: 2000\n\n"
        assert await stream.next() == ": ping\n\n"
        # The version the page was drawn at, in the URL (a fresh page), is the same as the header.
        fresh = Stream(await client.get(f"{_guest_stream_url(order)}&lastEventId={current}"))
        assert await fresh.next() == "retry: 2000\n\n"
        assert await fresh.next() == ": ping\n\n"
        # Behind: the missed change at once.
        stale = Stream(await client.get(_guest_stream_url(order), headers={"Last-Event-ID": "older"}))
        assert (await stale.next_event(timeout=HEARTBEAT / 2))["id"] == current

    async_to_sync(scenario)()


def test_a_stream_carries_only_what_its_page_shows(shop, kitchen):
    mine, elsewhere, another = place(shop), place(shop, pizzeria_id=shop.other_pizzeria.pk), place(shop)
    other_cook = factories.UserFactory(email="pizzaiolo-mon@ocpizza.fr")
    factories.StaffMemberFactory(user=other_cook, role=StaffMember.PIZZAIOLO, pizzeria=shop.other_pizzeria)

    async def scenario():
        cook = AsyncClient()
        await sync_to_async(cook.force_login)(kitchen)
        board = Stream(await cook.get(reverse("flux:kitchen", args=[shop.pizzeria.slug])))
        guest = Stream(await AsyncClient().get(_guest_stream_url(mine)))
        for stream in (board, guest):
            await stream.next()  # retry
            await stream.next_event()  # the version they opened at
        # Another pizzeria's kitchen: neither hears of it.
        await sync_to_async(order_transition)(order_id=elsewhere.pk, to_state=OrderState.PREPARING, by=other_cook)
        assert await board.next() == ": ping\n\n"
        assert await guest.next() == ": ping\n\n"
        # Another order of this kitchen: its board hears of it, the guest following his own order does not.
        await sync_to_async(order_transition)(order_id=another.pk, to_state=OrderState.PREPARING, by=kitchen)
        assert (await board.next_event())["event"] == "changed"
        assert await guest.next() == ": ping\n\n"

    async_to_sync(scenario)()


def test_a_change_rolled_back_is_never_announced(shop, kitchen):
    order = place(shop)

    def tap_then_roll_back():
        with transaction.atomic():
            order_transition(order_id=order.pk, to_state=OrderState.PREPARING, by=kitchen)
            transaction.set_rollback(True)

    async def scenario():
        stream = Stream(await AsyncClient().get(_guest_stream_url(order)))
        await stream.next()
        await stream.next_event()
        await sync_to_async(tap_then_roll_back)()
        assert await stream.next() == ": ping\n\n"

    async_to_sync(scenario)()


def test_busy_mode_reaches_the_kitchen_stream(shop, kitchen, settings):
    """Not an order's change: busy mode lowers the capacity the kitchen's board shows. Heard at once, not at the
    next heartbeat (when the kitchen's version is read again anyway: its cards turn late with time)."""
    settings.LIVE_HEARTBEAT_SECONDS = 60

    async def scenario():
        cook = AsyncClient()
        await sync_to_async(cook.force_login)(kitchen)
        board = Stream(await cook.get(reverse("flux:kitchen", args=[shop.pizzeria.slug])))
        await board.next()
        first = await board.next_event()
        until = timezone.now() + datetime.timedelta(hours=1)
        await sync_to_async(pizzeria_set_busy)(pizzeria=shop.pizzeria, minutes=10, until=until, by=kitchen)
        moved = await board.next_event()
        assert moved["id"] != first["id"]
        assert "busy10" in moved["id"]

    async_to_sync(scenario)()


def _sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _server_stop(server: subprocess.Popen, sessions: int) -> None:
    """Stopped, and its database sessions ended with it: the test database is dropped right after the last test."""
    from tests.ops.servers import stop, wait_until

    stop(server)
    wait_until(lambda: _sessions() <= sessions, what="the stream server's sessions ending")


def test_verify_deployment_asks_the_stream_server_whether_it_listens(settings, tmp_path):
    """Not there: named, with where it was looked for. There: it listens to the database, and says so."""
    from ocpizzapp.ops.streamserver import stream_server_command
    from ocpizzapp.ops.verify import check_stream_server
    from tests.ops.servers import ROOT, free_port, wait_until
    from tests.security.conftest import database_url

    port = free_port()
    settings.LIVE_STREAM_SERVER = f"http://127.0.0.1:{port}"
    missing = check_stream_server()
    assert not missing.ok and f"injoignable à http://127.0.0.1:{port}" in missing.detail

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "DATABASE_URL": database_url()}
    env.pop("ENV_MODE", None)
    with open(tmp_path / "streams.log", "wb") as log:
        sessions = _sessions()
        server = subprocess.Popen(stream_server_command(port=port), cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            result = wait_until(lambda: (found := check_stream_server()).ok and found, what="the stream server")
        finally:
            _server_stop(server, sessions)
    assert result.detail == f"http://127.0.0.1:{port}, 0 flux ouvert(s) dans le processus qui a répondu"


def test_the_streams_opening_together_share_their_first_read():
    """A restarted server's browsers all open their streams again within seconds: one read of a kitchen's version
    for all its screens, not one a screen."""
    from ocpizzapp.streams import Hub, Scope

    reads = []

    def version() -> str:
        reads.append(1)
        time.sleep(0.05)  # a read under way while the others open
        return "v1"

    async def scenario():
        live = Hub(asyncio.get_running_loop())
        await live.start()
        try:
            scope = Scope(key=("kitchen", 0), topics=frozenset({"pizzeria:0"}), version=version)
            screens = [live.subscribe(scope) for _ in range(50)]
            for screen in screens:
                await asyncio.wait_for(screen.changed.wait(), 5)
            assert {screen.version for screen in screens} == {"v1"}
        finally:
            live.stop()

    async_to_sync(scenario)()
    assert len(reads) == 1


def _threads(pid: int) -> int:
    """The threads of a process and of its children (the stream server's workers)."""
    with open(f"/proc/{pid}/status") as status:
        threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return threads + sum(_threads(int(child)) for child in children.read().split())


def test_an_open_stream_holds_no_thread_of_the_stream_server(shop, tmp_path):
    """Django gives a request a thread of its own until the request ends: a stream kept it as long as it stayed open,
    one idle thread per stream (11 000 threads for 11 000 streams). The real stream server, with many streams open,
    runs on a few threads (a dozen in each process); each stream is still let in or refused by its page's gate."""
    from ocpizzapp.ops.streamserver import stream_server_command
    from tests.ops.servers import ROOT, free_port, wait_until
    from tests.security.conftest import database_url

    order = place(shop)
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "DATABASE_URL": database_url()}
    env.pop("ENV_MODE", None)
    opened = 100

    def ask(path: str) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
        return sock

    def first_event(sock: socket.socket) -> bytes:
        """The answer up to its first event: the stream's head and its page's version."""
        received = b""
        while b"event: changed" not in received:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
        return received

    with open(tmp_path / "streams.log", "wb") as log:
        sessions = _sessions()
        server = subprocess.Popen(stream_server_command(port=port), cwd=ROOT, env=env, stdout=log, stderr=log)
        streams = []
        try:
            wait_until(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/flux/sante").status == 200,
                what="the stream server",
            )
            refused = ask(reverse("flux:order", args=[order.number]))
            assert refused.recv(4096).startswith(b"HTTP/1.1 404 "), "no signed link: the order page's own 404"
            refused.close()
            streams = [ask(_guest_stream_url(order)) for _ in range(opened)]
            for sock in streams:
                assert first_event(sock).startswith(b"HTTP/1.1 200 ")
            # Each request's thread ends once its answer is made, as it is sent on: a readiness wait.
            wait_until(lambda: _threads(server.pid) < opened / 2, what=f"{opened} streams on a few threads", limit=10)
        finally:
            for sock in streams:
                sock.close()
            _server_stop(server, sessions)
