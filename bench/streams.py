"""The live streams' scenario (issue 21): many idle tracking and kitchen streams held open at once, orders
changing at a steady rate, and how long each change takes from its commit to the event a client receives.

- the real stream server (uvicorn on ``ocpizzapp.asgi``, ``stream_server_command``) runs against the bench
  database with the bench's settings and SECRET_KEY, on a free loopback port;
- ``order_streams`` guests' streams (``/flux/commande/<n>/?t=<signed link>``), spread over the data set's
  orders (several streams on one order when there are fewer orders than streams), and ``kitchen_streams`` on
  the first pizzeria's kitchen (a pizzaiolo's session cookie), are opened by client processes on plain
  non-blocking sockets (``asyncio``): no HTTP library between the socket and the clock;
- with every stream open, the stream server's resident memory is read (``/proc/<pid>/status``, VmRSS, its
  workers' added up), and the streams it holds (``/flux/sante``, asked until each worker has answered);
- this process then moves ``changes_per_second`` orders of that kitchen through the workflow for ``seconds``
  (a pizzaiolo's tap, « en préparation », and its undo, so that the kitchen ends as it started), noting the
  time just after each commit and the version the change gave the order;
- each change must reach every stream that follows its order as an event with that version: its latency is
  from the commit to the client reading the event; a stream still without it ``GRACE_SECONDS`` after the last
  change has missed it. A kitchen stream follows all the changes at once: its events are coalesced (one read
  for every screen of the kitchen, again when changes came during it), so each change is timed to the first
  event each kitchen stream receives after its commit, and a kitchen stream with no event after the last
  change has missed it.
"""

import asyncio
import gc
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from queue import Empty

ORDER_STREAMS = 10_000
KITCHEN_STREAMS = 1_000
CHANGES_PER_SECOND = 20.0
# How long after the last change an event may still arrive before it counts as missed.
GRACE_SECONDS = 5.0
# Client processes, and the connections each opens at once.
CLIENT_PROCESSES = 2
OPENING_AT_ONCE = 100
TARGET_P99_MS = 1000.0


@dataclass(frozen=True)
class Stream:
    path: str
    cookie: str = ""


def _open_files_raise(needed: int) -> None:
    """Room for ``needed`` sockets, within the hard limit; the stream server started afterwards inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed + 256 if hard == resource.RLIM_INFINITY else min(hard, needed + 256)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# The clients: one process holds its share of the streams and notes each event's id and arrival time.


async def _stream_open(port: int, stream: Stream) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
    cookie = f"Cookie: {stream.cookie}\r\n" if stream.cookie else ""
    writer.write(f"GET {stream.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{cookie}\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        writer.close()
        raise ConnectionError(f"HTTP {status.decode()} on {stream.path.split('?')[0]}")
    return reader, writer


async def _stream_follow(reader: asyncio.StreamReader, index: int, events: list) -> None:
    """Each ``id:`` line with the time it was read (chunk sizes between events are lines of their own)."""
    rest = b""
    while data := await reader.read(65536):
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        now = time.monotonic()
        for line in lines:
            if line.startswith(b"id: "):
                events.append((index, line[4:].strip().decode(), now))


async def _clients(port: int, streams: list[tuple[int, Stream]], ready, stop) -> tuple[list, list[str]]:
    events: list = []
    errors: list[str] = []
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    writers = []

    async def one(index: int, stream: Stream) -> asyncio.StreamReader | None:
        async with gate:
            try:
                reader, writer = await _stream_open(port, stream)
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as error:
                errors.append(f"{type(error).__name__}: {error}")
                return None
        writers.append(writer)
        return reader

    readers = await asyncio.gather(*(one(index, stream) for index, stream in streams))
    followers = [
        asyncio.create_task(_stream_follow(reader, index, events))
        for reader, (index, _) in zip(readers, streams, strict=True)
        if reader is not None
    ]
    # The connections' objects, set apart from the garbage collector once all are open: going through them, 5 500 a
    # process, it held up this client's reads for up to half a second, a latency of the client's own, not the server's.
    gc.freeze()
    ready.put((len(followers), errors[:5], len(errors)))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stop.wait)
    ended = sum(1 for follower in followers if follower.done())
    for follower in followers:
        follower.cancel()
    for writer in writers:
        writer.close()
    if ended:
        errors.append(f"{ended} streams ended by the server before the end")
    return events, errors


def client_run(port: int, streams: list[tuple[int, Stream]], ready, stop, results) -> None:
    _open_files_raise(len(streams))
    events, errors = asyncio.run(_clients(port, streams, ready, stop))
    results.put((events, errors))


# The stream server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_tree(pid: int) -> list[int]:
    """The stream server's process and its children (its workers)."""
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [pid] + [tree for child in children.read().split() for tree in _process_tree(int(child))]


def _rss_mb(pid: int) -> float:
    """The resident memory of the stream server, its workers included."""
    total = 0.0
    for process in _process_tree(pid):
        with open(f"/proc/{process}/status") as status:
            total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0) / 1024
    return total


def _health(port: int) -> dict | None:
    import json

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/flux/sante", timeout=5) as answer:
            return json.loads(answer.read())
    except OSError:
        return None


def _server_workers() -> int:
    from ocpizzapp.ops.streamserver import OPTIONS

    return int(OPTIONS[OPTIONS.index("--workers") + 1]) if "--workers" in OPTIONS else 1


def _held(port: int, workers: int) -> int | None:
    """The streams the server holds: /flux/sante counts those of the process it reaches, so it is asked until each
    worker has answered. None until they all have."""
    streams: dict[int, int] = {}
    for _ in range(50 * workers):
        answer = _health(port)
        if answer:
            streams[answer.get("process", 0)] = answer.get("streams", 0)
        if len(streams) == workers:
            return sum(streams.values())
    return None


def _server_start(port: int, log_path: str) -> subprocess.Popen:
    from ocpizzapp.ops.streamserver import stream_server_command

    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until it stops
    # A group of its own: its workers, children of uvicorn's process, are stopped with it even when it is killed.
    process = subprocess.Popen(
        stream_server_command(port=port),
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stream server exited: see {log_path}")
        if _held(port, _server_workers()) is not None:
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the stream server's workers did not all answer /flux/sante in 60 s: see {log_path}")


def _server_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# What is followed, and the changes


def _streams(fixture, order_streams: int, kitchen_streams: int) -> tuple[list[Stream], dict[int, list[int]], int]:
    """The streams to open, which of them follow each order (by index), and where the kitchen's begin."""
    from django.conf import settings
    from django.urls import reverse

    from ventes.models import Order
    from ventes.tracking import order_tracking_token

    moving = list(fixture.moving_order_ids)
    others = list(Order.objects.exclude(pk__in=moving).order_by("-pk").values_list("pk", flat=True)[:order_streams])
    numbers = dict(Order.objects.filter(pk__in=moving + others).values_list("pk", "number"))
    followed = (moving + others)[: max(order_streams, 1)]
    streams: list[Stream] = []
    following: dict[int, list[int]] = {}
    for index in range(order_streams):
        order_id = followed[index % len(followed)]
        number = numbers[order_id]
        path = f"{reverse('flux:order', kwargs={'number': number})}?t={order_tracking_token(number=number)}"
        streams.append(Stream(path))
        following.setdefault(order_id, []).append(index)
    kitchen = reverse("flux:kitchen", kwargs={"slug": fixture.pizzeria.slug})
    cookie = f"{settings.SESSION_COOKIE_NAME}={fixture.kitchen_cookie}"
    streams += [Stream(kitchen, cookie)] * kitchen_streams
    return streams, following, order_streams


def _changes_drive(fixture, *, seconds: float, per_second: float) -> list[tuple[int, str, float]]:
    """Kitchen taps at a steady rate, each on the next open order in turn: « en préparation », or its undo
    when the order already is. Returns each change's order, the version it gave it and its commit time."""
    from production.models import StaffMember
    from ventes.models import Order, OrderState
    from ventes.selectors import order_live_version
    from ventes.workflow import order_transition

    pizzaiolo = StaffMember.objects.get(role=StaffMember.PIZZAIOLO, pizzeria=fixture.pizzeria).user
    orders = list(fixture.moving_order_ids)
    changes = []
    count = max(1, round(seconds * per_second))
    started = time.monotonic()
    for number in range(count):
        delay = started + number / per_second - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        order_id = orders[number % len(orders)]
        state = Order.objects.filter(pk=order_id).values_list("state", flat=True).get()
        target = OrderState.PREPARING if state == OrderState.RECEIVED else OrderState.RECEIVED
        order_transition(order_id=order_id, to_state=target, by=pizzaiolo)
        committed = time.monotonic()
        changes.append((order_id, order_live_version(order_id=order_id), committed))
    # The kitchen as it was: every order moved an odd number of times goes back to the queue.
    for order_id in Order.objects.filter(pk__in=orders, state=OrderState.PREPARING).values_list("pk", flat=True):
        order_transition(order_id=order_id, to_state=OrderState.RECEIVED, by=pizzaiolo)
    return changes


def _percentile(values: list[float], percent: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _from(queue, clients, timeout: float = 900):
    """The next answer of the clients; a client that died says so at once rather than after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=1)
        except Empty:
            if dead := [client.exitcode for client in clients if client.exitcode not in (None, 0)]:
                raise RuntimeError(f"a stream client process exited with {dead}") from None
    raise RuntimeError(f"the stream clients gave no answer in {timeout:g} s")


def _latencies(changes, events, following, first_kitchen: int, kitchen_streams: int) -> dict:
    arrivals: dict[tuple[int, str], float] = {}
    kitchen_times: dict[int, list[float]] = {}
    for index, version, at in events:
        if index < first_kitchen:
            arrivals.setdefault((index, version), at)
        else:
            kitchen_times.setdefault(index, []).append(at)
    order_ms, missed = [], 0
    for order_id, version, committed in changes:
        for index in following.get(order_id, ()):
            at = arrivals.get((index, version))
            if at is None:
                missed += 1
            else:
                order_ms.append((at - committed) * 1000)
    kitchen_ms, kitchen_missed = [], 0
    last_commit = changes[-1][2] if changes else 0.0
    for index in range(first_kitchen, first_kitchen + kitchen_streams):
        times = sorted(kitchen_times.get(index, []))
        if not times or times[-1] < last_commit:
            kitchen_missed += 1
        for _, _, committed in changes:
            later = next((at for at in times if at >= committed), None)
            if later is not None:
                kitchen_ms.append((later - committed) * 1000)
    return {
        "events_expected": sum(len(following.get(order_id, ())) for order_id, _, _ in changes),
        "missed": missed,
        "p50_ms": _percentile(order_ms, 50),
        "p95_ms": _percentile(order_ms, 95),
        "p99_ms": _percentile(order_ms, 99),
        "kitchen_missed": kitchen_missed,
        "kitchen_p50_ms": _percentile(kitchen_ms, 50),
        "kitchen_p99_ms": _percentile(kitchen_ms, 99),
    }


def streams_measure(
    *,
    fixture,
    seconds: float,
    order_streams: int = ORDER_STREAMS,
    kitchen_streams: int = KITCHEN_STREAMS,
    changes_per_second: float = CHANGES_PER_SECOND,
) -> dict:
    """The figures above; "met" is the target: 10 000 order and 1 000 kitchen streams held, 20 changes a second,
    none missed and the p99 from commit to event under 1 s."""
    total = order_streams + kitchen_streams
    _open_files_raise(total)
    streams, following, first_kitchen = _streams(fixture, order_streams, kitchen_streams)
    port = _free_port()
    server = _server_start(port, os.path.join(tempfile.gettempdir(), f"ocpizza-bench-streams-{os.getpid()}.log"))
    context = multiprocessing.get_context("spawn")
    ready, results, stop = context.Queue(), context.Queue(), context.Event()
    clients = []
    try:
        rss_idle = _rss_mb(server.pid)
        indexed = list(enumerate(streams))
        started = time.monotonic()
        for share in range(CLIENT_PROCESSES):
            part = indexed[share::CLIENT_PROCESSES]
            client = context.Process(target=client_run, args=(port, part, ready, stop, results))
            client.start()
            clients.append(client)
        opened, failed = 0, 0
        samples: list[str] = []
        for _ in clients:
            count, sample, errors = _from(ready, clients)
            opened, failed, samples = opened + count, failed + errors, samples + sample
        opening_s = time.monotonic() - started
        time.sleep(1)  # the first events (each stream's version as it opens) are out
        held = _held(port, _server_workers()) or 0
        rss_open = _rss_mb(server.pid)
        changes = _changes_drive(fixture, seconds=seconds, per_second=changes_per_second)
        time.sleep(GRACE_SECONDS)
        rss_end = _rss_mb(server.pid)
        stop.set()
        events, errors = [], samples
        for _ in clients:
            got, more = _from(results, clients)
            events += got
            errors += more
            failed += len(more)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
            if client.is_alive():
                client.kill()
        _server_stop(server)
    figures = _latencies(changes, events, following, first_kitchen, kitchen_streams)
    per_stream_kb = (rss_open - rss_idle) * 1024 / opened if opened else None
    met = (
        order_streams >= ORDER_STREAMS
        and kitchen_streams >= KITCHEN_STREAMS
        and changes_per_second >= CHANGES_PER_SECOND
        and held >= total
        and not failed
        and not figures["missed"]
        and not figures["kitchen_missed"]
        and figures["p99_ms"] is not None
        and figures["p99_ms"] < TARGET_P99_MS
    )
    p99 = figures["p99_ms"]
    summary = (
        f"{held} of {total} streams ({order_streams} order + {kitchen_streams} kitchen) held, RSS {rss_open:.0f} MB "
        f"({rss_idle:.0f} MB idle); {len(changes)} changes at {changes_per_second:g}/s: p99 "
        f"{'—' if p99 is None else f'{p99:.0f}'} ms, {figures['missed'] + figures['kitchen_missed']} missed"
    )
    return {
        "summary": summary,
        "met": met,
        "order_streams": order_streams,
        "kitchen_streams": kitchen_streams,
        "held": held,
        "opening_s": opening_s,
        "rss_mb": rss_open,
        "rss_idle_mb": rss_idle,
        "rss_end_mb": rss_end,
        "rss_kb_per_stream": per_stream_kb,
        "changes": len(changes),
        "changes_per_second": changes_per_second,
        **figures,
        "errors": failed,
        "error_samples": errors[:5],
    }
