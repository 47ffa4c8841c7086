"""Server-Sent Events for the live screens, served by the stream server (``ocpizzapp.asgi``).

Each stream says "something changed" and nothing else: its page fetches its live part again, as its
poll would (``hx-trigger="sse:changed"`` beside ``every 5s``), with that poll's own authorisation and
conditional GET. So a stream is authorised by its page's own gate and shows no more than its page.

Django's own async ``StreamingHttpResponse`` serves them: the streams carry no data to store or to
route, so django-eventstream (its own event storage, Pushpin or a channel of its own per client) and
Channels (a channel layer, Daphne) would bring machinery for what a page's gate, one LISTEN connection
per process and an async generator do here.

Fan-out: a change is NOTIFYed inside its transaction (``ocpizzapp.live``); each stream server process
holds one LISTEN connection (``Hub``) and hands each message to the streams following the topics it
names. A stream's version is its page's fingerprint, read once per process and change for all the
streams sharing it (every screen of one kitchen), and once for those opening together; an event goes out
when it moved.

Protocol: ``id:`` is the version; a stream opened again sends it back (``Last-Event-ID``, or
``lastEventId`` in the URL: the version its page was drawn at) and gets an event at once if the page has
changed since. A comment line every ``LIVE_HEARTBEAT_SECONDS`` keeps proxies from closing an idle stream;
a stream ends after ``LIVE_STREAM_MAX_SECONDS`` and the browser opens it again, authorised again.
"""

import asyncio
import logging
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg2
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.utils.cache import patch_vary_headers

from .live import CHANNEL

logger = logging.getLogger(__name__)

# The topic of the streams that follow every change (the managers' dashboard).
EVERYTHING = "*"
# How long a browser waits before opening a dropped stream again.
RETRY_MILLISECONDS = 2000
# Threads reading the pages' versions side by side, each with its database connection.
READERS = 4


@dataclass(frozen=True)
class Scope:
    """What one stream follows: its page's version, and the topics whose changes may move it.

    ``key`` names the version: the streams with the same key show the same thing and share one read
    per change. ``clock``: the page also changes with time (cards turning late, scheduled orders
    reaching the queue), so its version is read again at every heartbeat, which also catches anything
    no change announced.
    """

    key: Hashable
    topics: frozenset[str]
    version: Callable[[], str]
    clock: bool = False


class StreamsUnavailable(Exception):
    """This server cannot hear of changes: no PostgreSQL, or its LISTEN connection cannot be opened."""


class _Subscriber:
    """One open stream: the latest version offered to it, and a flag raised when one is."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.version = ""
        self.changed = asyncio.Event()
        self.closed = False

    def offer(self, version: str) -> None:
        self.version = version
        self.changed.set()

    def close(self) -> None:
        self.closed = True
        self.changed.set()


def _listen_connection() -> Any:
    """A connection of its own to the site's database, listening on ``CHANNEL``."""
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    # A server gone without a word (a network cut) shows within a couple of minutes.
    connection = psycopg2.connect(**params, keepalives=1, keepalives_idle=30, keepalives_interval=10)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {CHANNEL}")
    return connection


def _read(version: Callable[[], str]) -> str:
    close_old_connections()  # this thread's connection may have died since its last read
    return version()


class Hub:
    """One process's LISTEN connection, on one event loop, and the streams it feeds."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._by_topic: dict[str, set[_Subscriber]] = defaultdict(set)
        self._by_key: dict[Hashable, set[_Subscriber]] = defaultdict(set)
        # Versions being read, each with whether a change came during the read (read it again then).
        self._reading: dict[Hashable, bool] = {}
        self._connection: Any = None
        self._readers: ThreadPoolExecutor | None = None
        self._starting = asyncio.Lock()
        self._ticker: asyncio.Task | None = None

    @property
    def streams(self) -> int:
        return sum(len(subscribers) for subscribers in self._by_key.values())

    async def start(self) -> None:
        """Listen, unless already listening; ``StreamsUnavailable`` when the database cannot be reached."""
        async with self._starting:
            if self._connection is not None:
                return
            try:
                self._connection = await self.loop.run_in_executor(None, _listen_connection)
            except (psycopg2.Error, OSError) as error:
                raise StreamsUnavailable(" ".join(str(error).split())) from error
            self.loop.add_reader(self._connection.fileno(), self._on_readable)
            self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="live-version")
            if self._ticker is None:
                self._ticker = self.loop.create_task(self._tick())

    def stop(self) -> None:
        """Stop listening and end every stream: their browsers open them again, here or on another server."""
        if self._connection is not None:
            self.loop.remove_reader(self._connection.fileno())
            self._connection.close()
            self._connection = None
        if self._readers is not None:
            self._readers.shutdown(wait=False)
            self._readers = None
        for subscribers in self._by_key.values():
            for subscriber in subscribers:
                subscriber.close()

    async def read(self, version: Callable[[], str]) -> str:
        """A page's version, read by one of the hub's threads (so that reads run side by side)."""
        if self._readers is None:
            raise StreamsUnavailable("the stream server stopped listening")
        return await self.loop.run_in_executor(self._readers, _read, version)

    def subscribe(self, scope: Scope) -> _Subscriber:
        """A new stream, offered its page's version once read: the read under way for its key if there is one (it
        sees every change not announced yet; one announced during it has its key read again), else a new one. One
        read, not one a stream, when a key's streams open together: a restarted server's browsers all come back
        within seconds, the 1 000 screens of a kitchen among them."""
        subscriber = _Subscriber(scope)
        for topic in scope.topics:
            self._by_topic[topic].add(subscriber)
        self._by_key[scope.key].add(subscriber)
        self._refresh(scope.key, again=False)
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        for topic in subscriber.scope.topics:
            self._discard(self._by_topic, topic, subscriber)
        self._discard(self._by_key, subscriber.scope.key, subscriber)

    @staticmethod
    def _discard(index: dict[Any, set[_Subscriber]], name: Hashable, subscriber: _Subscriber) -> None:
        subscribers = index.get(name)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del index[name]

    def _on_readable(self) -> None:
        try:
            self._connection.poll()
        except psycopg2.Error as error:
            logger.warning("The stream server lost its LISTEN connection (%s): its streams end", error)
            self.stop()
            return
        if not self._connection.notifies:
            return
        topics = {EVERYTHING}
        for notification in self._connection.notifies:
            topics.update(notification.payload.split())
        self._connection.notifies.clear()
        keys = {subscriber.scope.key for topic in topics for subscriber in self._by_topic.get(topic, ())}
        for key in keys:
            self._refresh(key)

    def _refresh(self, key: Hashable, *, again: bool = True) -> None:
        if key in self._reading:
            self._reading[key] = self._reading[key] or again
            return
        self._reading[key] = False
        self.loop.create_task(self._read_and_offer(key))

    async def _read_and_offer(self, key: Hashable) -> None:
        try:
            while self._by_key.get(key):
                try:
                    version = await self.read(next(iter(self._by_key[key])).scope.version)
                except Exception:
                    logger.exception("A live screen's version could not be read")
                    # The streams still without a first version end: their browsers open them again.
                    for subscriber in list(self._by_key.get(key, ())):
                        if not subscriber.version:
                            subscriber.close()
                    return
                for subscriber in list(self._by_key.get(key, ())):
                    subscriber.offer(version)
                if not self._reading.get(key):
                    return
                self._reading[key] = False
        finally:
            self._reading.pop(key, None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(settings.LIVE_HEARTBEAT_SECONDS)
            for key, subscribers in list(self._by_key.items()):
                if any(subscriber.scope.clock for subscriber in subscribers):
                    self._refresh(key)


_hub: Hub | None = None


def hub() -> Hub:
    """The process's hub, on the running event loop (a stream server runs one; a new one replaces the last)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        if _hub is not None:
            _hub.stop()
        _hub = Hub(loop)
    return _hub


def _event(version: str) -> str:
    return f"id: {version}\nevent: changed\ndata: {version}\n\n"


async def _events(live: Hub, scope: Scope, since: str) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.LIVE_STREAM_MAX_SECONDS
    subscriber = live.subscribe(scope)  # then its version is read: no change can slip between the two
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        sent, version = since, ""
        while True:
            if version and version != sent:
                yield _event(version)
                sent = version
            remaining = deadline - loop.time()
            if remaining <= 0 or subscriber.closed:
                return
            try:
                # Not asyncio.wait_for, which (before Python 3.12) wraps each wait in a task of its own: a task more
                # to create, schedule and wake for every event and every heartbeat of every stream.
                async with asyncio.timeout(min(settings.LIVE_HEARTBEAT_SECONDS, remaining)):
                    await subscriber.changed.wait()
            except TimeoutError:
                yield ": ping\n\n"
                version = ""
                continue
            subscriber.changed.clear()
            version = subscriber.version
    finally:
        live.unsubscribe(subscriber)


def _gate_pass(gate: Callable[..., Any], request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
    """The page's gate, on a thread of a shared pool with its kept database connection. Not on the request's own
    thread (Django's default under ASGI): that thread lives as long as its request, here the stream, minutes
    on end, and would hold its database connection all that time, one for each open stream: PostgreSQL
    refuses clients after its first hundred."""
    close_old_connections()  # this thread's connection may have died since its last gate
    return gate(request, *args, **kwargs)


def _unavailable(reason: str) -> HttpResponse:
    response = HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "30"
    return response


def _site_origin() -> str:
    site = urlsplit(settings.SITE_URL)
    return f"{site.scheme}://{site.netloc}"


async def stream_response(
    request: HttpRequest, gate: Callable[..., Any], *args: Any, **kwargs: Any
) -> HttpResponseBase:
    """The stream of the page whose gate is ``gate``: a sync function taking the page's arguments, answering
    the page's own refusal (an exception, or a response such as the login redirect) or the ``Scope``."""
    if not isinstance(request, ASGIRequest):
        # Under WSGI a stream would hold a worker for as long as it stays open.
        return _unavailable("Les flux en direct sont servis par le serveur de flux (ocpizzapp.asgi).")
    scope = await sync_to_async(_gate_pass, thread_sensitive=False)(gate, request, *args, **kwargs)
    if isinstance(scope, HttpResponseBase):
        return scope
    if not settings.LIVE_STREAMS:
        return _unavailable("Flux en direct désactivés : la page se met à jour seule, toutes les quelques secondes.")
    live = hub()
    try:
        await live.start()
    except StreamsUnavailable as error:
        logger.warning("Streams unavailable: %s", error)
        return _unavailable("Flux en direct indisponible : la page se met à jour seule, toutes les quelques secondes.")
    since = request.headers.get("Last-Event-ID") or request.GET.get("lastEventId", "")
    response = StreamingHttpResponse(_events(live, scope, since), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    # Passed through as it comes, whatever the proxy's own buffering.
    response["X-Accel-Buffering"] = "no"
    if settings.LIVE_STREAM_URL and request.headers.get("Origin") == _site_origin():
        # The stream server on an origin of its own (development): the site's pages may open it, cookies included.
        response["Access-Control-Allow-Origin"] = _site_origin()
        response["Access-Control-Allow-Credentials"] = "true"
    patch_vary_headers(response, ["Cookie", "Origin"])
    return response


async def health(request: HttpRequest) -> JsonResponse:
    """The stream server's own health (verify_deployment): 200 while it listens to the database, with the streams of
    the process that answers (each of the server's processes holds its own)."""
    if not isinstance(request, ASGIRequest):
        return JsonResponse({"status": "error", "detail": "servi par gunicorn, pas par le serveur de flux"}, status=503)
    if not settings.LIVE_STREAMS:
        return JsonResponse({"status": "off"}, status=503)
    live = hub()
    try:
        await live.start()
    except StreamsUnavailable as error:
        return JsonResponse({"status": "error", "detail": str(error)}, status=503)
    return JsonResponse({"status": "ok", "streams": live.streams, "process": os.getpid()})
