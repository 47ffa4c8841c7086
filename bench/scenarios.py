"""What the benchmark measures, once Django is set up against the bench database."""

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Q, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from production.models import Pizzeria, RecipeLine, StaffMember, Stock
from production.services import stock_count_inventory
from ventes.journal import business_date
from ventes.models import Order, OrderEvent, OrderLine, OrderState
from ventes.selectors import stock_check_ledger
from ventes.tracking import order_tracking_url

from . import load
from .cpu import CpuMeter
from .dataset import Dataset, dataset_create
from .streams import CHANGES_PER_SECOND, KITCHEN_STREAMS, ORDER_STREAMS, streams_measure

# How many of the scarce pizza can be made when the order race starts: small
# enough that it sells out early in the race (the quick run places few orders).
SCARCE_PORTIONS = 20
SCARCE_PORTIONS_QUICK = 2


@dataclass
class Fixture:
    """The kitchen, menu and poll scenarios read ``pizzeria``; orders race at ``race_pizzeria``,
    so that the kitchen keeps its 50 open orders from one run to the next (--reuse-db)."""

    pizzeria: Pizzeria
    race_pizzeria: Pizzeria
    order_number: str
    tracking_path: str
    kitchen_path: str | None
    kitchen_cookie: str
    manager_cookie: str
    scarce_product_id: int
    scarce_portions: int
    plentiful_product_ids: list[int]
    # The kitchen's open orders, which the streams' scenario moves (and moves back).
    moving_order_ids: list[int] = field(default_factory=list)
    sizes: dict = field(default_factory=dict)


def _kitchen_path(pizzeria: Pizzeria) -> str | None:
    path = f"/equipe/{pizzeria.slug}/cuisine/direct/"
    try:
        resolve(path)
    except Resolver404:
        return None
    return path


def _scarce_setup(pizzeria: Pizzeria, portions: int) -> tuple[int, list[int]]:
    """A pizza whose first ingredient runs low, and the pizzas that do not use it."""
    menu = list(pizzeria.products.order_by("pk").values_list("pk", flat=True))
    scarce_product = menu[0]
    line = RecipeLine.objects.filter(product_id=scarce_product).order_by("pk")[0]
    stock = Stock.objects.get(pizzeria=pizzeria, ingredient_id=line.ingredient_id)
    # What orders still hold stays on the shelf: exactly ``portions`` more can be sold.
    counted = line.quantity * portions + stock.reserved
    stock_count_inventory(stock=stock, counted=counted, note="benchmark: last portions")
    using = set(RecipeLine.objects.filter(ingredient_id=line.ingredient_id).values_list("product_id", flat=True))
    return scarce_product, [pk for pk in menu if pk not in using]


def prepare(*, large: bool, reuse: bool, quick: bool = False) -> Fixture:
    size = Dataset.large() if large else Dataset.small()
    call_command("migrate", verbosity=0, interactive=False)
    if not reuse:
        dataset_create(size=size)
    call_command("collectstatic", verbosity=0, interactive=False)
    pizzeria, race_pizzeria = Pizzeria.objects.order_by("pk")[:2]
    order = Order.objects.filter(pizzeria=pizzeria, state=OrderState.RECEIVED).order_by("pk")[0]
    # The htmx partial the order page polls, with the guest's signed link.
    signed = order_tracking_url(number=order.number).split("?", 1)[1]
    tracking = f"{reverse('ventes:order_status', kwargs={'number': order.number})}?{signed}"
    portions = SCARCE_PORTIONS_QUICK if quick else SCARCE_PORTIONS
    scarce, plentiful = _scarce_setup(race_pizzeria, portions)
    if reuse:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # the orders of earlier runs, which the planner has not counted yet
    pizzaiolo = StaffMember.objects.get(role=StaffMember.PIZZAIOLO, pizzeria=pizzeria).user
    client = Client()
    client.force_login(pizzaiolo)
    manager = Client()
    manager.force_login(StaffMember.objects.get(role=StaffMember.MANAGER, pizzeria=None).user)
    sizes = {
        "pizzerias": Pizzeria.objects.count(),
        "products_per_pizzeria": pizzeria.products.count(),
        "orders": Order.objects.count(),
        "order_events": OrderEvent.objects.count(),
        "open_orders_in_kitchen": Order.objects.filter(pizzeria=pizzeria, state=OrderState.RECEIVED).count(),
    }
    return Fixture(
        pizzeria=pizzeria,
        race_pizzeria=race_pizzeria,
        order_number=order.number,
        tracking_path=tracking,
        kitchen_path=_kitchen_path(pizzeria),
        kitchen_cookie=client.cookies[settings.SESSION_COOKIE_NAME].value,
        manager_cookie=manager.cookies[settings.SESSION_COOKIE_NAME].value,
        scarce_product_id=scarce,
        scarce_portions=portions,
        plentiful_product_ids=plentiful,
        moving_order_ids=list(
            Order.objects.filter(pizzeria=pizzeria, state=OrderState.RECEIVED)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        sizes=sizes,
    )


CHECKOUT_FIELDS = {
    "customer_name": "Client Bench",
    "customer_phone": "06 12 34 56 78",
    "customer_email": "client.bench@example.com",
    "fulfilment": "pickup",
    "when": "asap",
    "payment_method": "cash",
}


# The managers' reports of the whole chain: the last 30 days by day (the page as it opens, today summed live),
# and the last 12 months by month (a year of facts).
REPORTS_PATH = "/equipe/rapports/"
REPORTS_YEAR_PATH = "/equipe/rapports/?par=mois&du={since}&au={until}"


# Query counts, in-process with the test client against the same database.


def query_counts(fixture: Fixture) -> dict[str, int]:
    browser = Client(HTTP_HOST="127.0.0.1")
    kitchen = Client(HTTP_HOST="127.0.0.1")
    kitchen.cookies[settings.SESSION_COOKIE_NAME] = fixture.kitchen_cookie
    etag = browser.get(fixture.tracking_path).headers["ETag"]
    pages = {
        "baseline": lambda: browser.get("/healthz"),
        "menu": lambda: browser.get(fixture.pizzeria.get_absolute_url()),
        "poll_unchanged": lambda: browser.get(fixture.tracking_path, HTTP_IF_NONE_MATCH=etag),
        "poll_changed": lambda: browser.get(fixture.tracking_path),
        "add_to_cart": lambda: browser.post(
            "/panier/ajouter/",
            {"pizzeria": fixture.race_pizzeria.pk, "product": fixture.plentiful_product_ids[0], "quantity": 1},
            HTTP_HX_REQUEST="true",
        ),
        "checkout_form": lambda: browser.get("/commander/"),
    }
    manager = Client(HTTP_HOST="127.0.0.1")
    manager.cookies[settings.SESSION_COOKIE_NAME] = fixture.manager_cookie
    pages["reports"] = lambda: manager.get(REPORTS_PATH)
    pages["reports_year"] = lambda: manager.get(_reports_year_path())
    kitchen_path = fixture.kitchen_path
    if kitchen_path:
        pages["kitchen"] = lambda: kitchen.get(kitchen_path)
        kitchen_etag = kitchen.get(kitchen_path).headers.get("ETag", "")
        pages["kitchen_unchanged"] = lambda: kitchen.get(kitchen_path, HTTP_IF_NONE_MATCH=kitchen_etag)
    counts = {}
    for name, request in pages.items():
        request()  # warm: first-request work (sessions, caches) is not what a page costs
        with CaptureQueriesContext(connection) as queries:
            request()
        counts[name] = len(queries)
    for _ in range(2):  # the first order warms up, the second is counted
        pages["add_to_cart"]()
        token = _found(r'name="token" value="([^"]+)"', browser.get("/commander/").content.decode())
        with CaptureQueriesContext(connection) as queries:
            response = browser.post("/commander/", {**CHECKOUT_FIELDS, "token": token})
        assert response.status_code == 302, response.status_code
    counts["checkout"] = len(queries)
    return counts


# wrk

WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
UNIT_MS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}


def _reports_year_path() -> str:
    today = business_date(timezone.now())
    since = (today.replace(day=1) - datetime.timedelta(days=334)).replace(day=1)
    return REPORTS_YEAR_PATH.format(since=since.isoformat(), until=today.isoformat())


def _found(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text``; a missing figure stops the run and shows the text."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"{pattern!r} not found in:\n{text}")
    return match.group(1)


def wrk(url: str, *, seconds: float, connections: int, headers: dict[str, str]) -> dict:
    threads = min(2, connections)
    duration = f"-d{max(1, round(seconds))}s"
    command = ["wrk", f"-t{threads}", f"-c{connections}", duration, "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    latency = {p: float(v) * UNIT_MS[u] for p, v, u in WRK_LATENCY.findall(output)}
    requests = int(_found(r"(\d+) requests in", output))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in socket.groups()) if socket else 0)
    return {
        "requests": requests,
        "throughput": float(_found(r"Requests/sec:\s+([\d.]+)", output)),
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "errors": errors,
    }


def _status_of(base: str, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
    import http.client

    connection_ = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=10)
    connection_.request("GET", path, headers=headers)
    response = connection_.getresponse()
    response.read()
    connection_.close()
    return response.status, response.getheader("ETag")


# The order race


def _orders_warm_up(base: str, fixture: Fixture, *, customers: int) -> None:
    """A second of orders of the plentiful pizzas before the race: each worker process loads the order flow's
    templates and caches once, which is not what an order costs."""
    plan = load.Plan(
        port=int(base.rsplit(":", 1)[1]),
        pizzeria_id=fixture.race_pizzeria.pk,
        scarce_product_id=fixture.scarce_product_id,
        plentiful_product_ids=tuple(fixture.plentiful_product_ids),
        customers=customers,
        seconds=1,
        scarce_every=10**9,  # never the scarce pizza: its portions are the race's
    )
    load.orders_drive(plan)


def orders_race(base: str, fixture: Fixture, *, seconds: float, customers: int) -> dict:
    pizzeria = fixture.race_pizzeria
    before = set(Order.objects.filter(pizzeria=pizzeria).values_list("number", flat=True))
    plan = load.Plan(
        port=int(base.rsplit(":", 1)[1]),
        pizzeria_id=pizzeria.pk,
        scarce_product_id=fixture.scarce_product_id,
        plentiful_product_ids=tuple(fixture.plentiful_product_ids),
        customers=customers,
        seconds=seconds,
    )
    results, elapsed = load.orders_drive(plan)
    placed = [detail for _, outcome, detail in results if outcome == "ok"]
    errors = [detail for _, outcome, detail in results if outcome == "error"]
    latencies = sorted(seconds_ * 1000 for seconds_, outcome, _ in results if outcome != "error")
    new = set(Order.objects.filter(pizzeria=pizzeria).values_list("number", flat=True)) - before
    scarce_sold = (
        OrderLine.objects.filter(order__number__in=new, product_id=fixture.scarce_product_id).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )
    checks = {
        "negative_stock_lines": Stock.objects.filter(Q(reserved__lt=0) | Q(on_hand__lt=F("reserved"))).count(),
        "placed_orders_missing": len(set(placed) - new),
        "orders_not_reported": len(new - set(placed)),
        "ledger_matches_levels": _ledger_matches_levels(),
        "scarce_sold": scarce_sold,
        "scarce_oversold": max(0, scarce_sold - fixture.scarce_portions),
    }
    return {
        "requests": len(results),
        "orders_placed": len(placed),
        "sold_out_answers": sum(1 for _, outcome, _ in results if outcome == "sold_out"),
        "throughput": len(placed) / elapsed,
        "attempts_per_second": len(results) / elapsed,
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "checks": checks,
    }


def _ledger_matches_levels() -> bool:
    return not stock_check_ledger()


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


# The whole run


def _baseline(base: str, seconds: float, connections: int) -> float:
    """The baseline measured again just before a scenario: a shared virtual machine's speed drifts
    during a run, and a ratio to a figure taken minutes earlier would measure the drift too."""
    return wrk(base + "/healthz", seconds=seconds, connections=connections, headers={})["throughput"]


@dataclass(frozen=True)
class StreamLoad:
    """The streams' scenario: how many streams of each kind are held open, and the rate of order changes."""

    order_streams: int = ORDER_STREAMS
    kitchen_streams: int = KITCHEN_STREAMS
    changes_per_second: float = CHANGES_PER_SECOND


def _streams_run(fixture: Fixture, *, seconds: float, streams: StreamLoad, problems: list[str]) -> dict:
    """The streams' scenario (``bench/streams.py``), its problems added to ``problems``."""
    print(
        f"  streams: opening {streams.order_streams} order + {streams.kitchen_streams} kitchen streams, "
        f"then {streams.changes_per_second:g} changes/s",
        flush=True,
    )
    live = streams_measure(
        fixture=fixture,
        seconds=seconds,
        order_streams=streams.order_streams,
        kitchen_streams=streams.kitchen_streams,
        changes_per_second=streams.changes_per_second,
    )
    print(f"  streams: {live['summary']}", flush=True)
    if live["errors"]:
        problems.append(f"streams: {live['errors']} errors {live['error_samples']}")
    if live["missed"] or live["kitchen_missed"]:
        problems.append(f"streams: {live['missed']} order and {live['kitchen_missed']} kitchen events missed")
    return live


def run_all(
    *, base: str, fixture: Fixture, seconds: float, connections: int, server_group: int, streams: StreamLoad
) -> dict:
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={fixture.kitchen_cookie}"}
    status, etag = _status_of(base, fixture.tracking_path, {})
    etag_headers = {"If-None-Match": etag or ""}
    gets = [
        ("baseline", "/healthz", {}, 200),
        ("menu", fixture.pizzeria.get_absolute_url(), {}, 200),
        ("poll_unchanged", fixture.tracking_path, {**etag_headers, "HX-Request": "true"}, 304),
        ("poll_changed", fixture.tracking_path, {"HX-Request": "true"}, 200),
    ]
    manager = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={fixture.manager_cookie}"}
    gets += [("reports", REPORTS_PATH, manager, 200), ("reports_year", _reports_year_path(), manager, 200)]
    if fixture.kitchen_path:
        gets.append(("kitchen", fixture.kitchen_path, {**cookie, "HX-Request": "true"}, 200))
        # The display polls with the ETag of what it shows: unchanged queue, 304. The ETag is read
        # just before the scenario, as the board also changes with the clock (a card turning late).
        gets.append(("kitchen_unchanged", fixture.kitchen_path, {**cookie, "HX-Request": "true"}, 304))
    problems = [] if status == 200 else [f"order page answered {status}"]
    scenarios = {}
    for name, path, headers, expected in gets:
        if expected == 304 and "If-None-Match" not in headers:
            headers = {**headers, "If-None-Match": _status_of(base, path, headers)[1] or ""}
        got, _ = _status_of(base, path, headers)
        if got != expected:
            problems.append(f"{name}: {path} answered {got}, expected {expected}")
            continue
        # Warm-up: each worker process loads its templates and opens its database connection.
        wrk(base + path, seconds=1, connections=connections, headers=headers)
        beside = {} if name == "baseline" else {"baseline_beside": _baseline(base, seconds, connections)}
        scenarios[name] = {
            "path": path,
            **wrk(base + path, seconds=seconds, connections=connections, headers=headers),
            **beside,
        }
        print(f"  {name}: {scenarios[name]['throughput']:.0f} req/s", flush=True)
    notes = []
    if not fixture.kitchen_path:
        notes.append("kitchen display not measured: /equipe/<slug>/cuisine/direct/ does not exist in this build")
    # The order flow's CPU, against three requests of the baseline measured just before it the same way.
    _orders_warm_up(base, fixture, customers=connections)
    meter = CpuMeter(server_group).start()
    beside = wrk(base + "/healthz", seconds=seconds, connections=connections, headers={})
    baseline_cpu = meter.stop()
    meter = CpuMeter(server_group).start()
    race = orders_race(base, fixture, seconds=seconds, customers=connections)
    race_cpu = meter.stop()
    scenarios["orders"] = {
        "path": "/panier/ajouter/ + /commander/ (GET, POST)",
        **race,
        "baseline_beside": beside["throughput"],
        "cpu": _cpu_per_order(race_cpu, race["orders_placed"], baseline_cpu, beside["requests"]),
    }
    print(f"  orders: {race['throughput']:.0f} orders/s", flush=True)
    checks = race["checks"]
    if checks["negative_stock_lines"] or checks["scarce_oversold"]:
        problems.append(f"oversold stock: {checks}")
    if checks["placed_orders_missing"] or checks["orders_not_reported"] or not checks["ledger_matches_levels"]:
        problems.append(f"order/stock mismatch: {checks}")
    for name, figures in scenarios.items():
        if figures["errors"]:
            problems.append(f"{name}: {figures['errors']} errors {figures.get('error_samples', '')}")
    for name, figures in scenarios.items():
        # The order flow is three requests per order: its request rate is what compares with the baseline.
        rate = figures["attempts_per_second"] * 3 if name == "orders" else figures["throughput"]
        baseline = figures.get("baseline_beside") or figures["throughput"]
        figures["ratio_to_baseline"] = rate / baseline if baseline else None
    live = None
    # --order-streams 0 --kitchen-streams 0: the GET pages and the orders alone, no stream server started.
    if streams.order_streams or streams.kitchen_streams:
        live = _streams_run(fixture, seconds=seconds, streams=streams, problems=problems)
    report = {
        "scenarios": scenarios,
        "queries_per_page": query_counts(fixture),
        "dashboard_queries": dashboard_query_times(fixture),
        "streams": live,
        "sizes": fixture.sizes,
        "problems": problems,
        "notes": notes,
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    report["targets"] = targets(report)
    return report


def _cpu_per_order(race: dict[str, float], placed: int, baseline: dict[str, float], requests: float) -> dict:
    """CPU milliseconds per order placed (the answers « épuisé » included in its cost), and the gunicorn CPU
    of three baseline requests (an order is three requests) measured just before."""
    per_order = {name: seconds * 1000 / placed if placed else None for name, seconds in race.items()}
    three_baseline = baseline["server_s"] * 1000 / requests * 3 if requests else None
    ratio = per_order["server_s"] / three_baseline if per_order["server_s"] and three_baseline else None
    return {
        "server_ms_per_order": per_order["server_s"],
        "database_ms_per_order": per_order["database_s"],
        "server_ms_per_three_baseline_requests": three_baseline,
        "server_ratio_to_three_baseline_requests": ratio,
    }


# The managers' dashboard: each statement its live board runs, timed on the bench database.

DASHBOARD_PATH = "/equipe/tableau-de-bord/direct/"
DASHBOARD_RUNS = 7


def dashboard_query_times(fixture: Fixture) -> list[dict]:
    """Each statement of the dashboard's live board as a manager polls it, with the time PostgreSQL takes to
    plan and run it (``EXPLAIN ANALYZE``), median of ``DASHBOARD_RUNS``, in milliseconds: on a shared
    machine the round trip measures the other processes' load as much as the query."""
    manager = Client(HTTP_HOST="127.0.0.1")
    manager.cookies[settings.SESSION_COOKIE_NAME] = fixture.manager_cookie
    manager.get(DASHBOARD_PATH)  # warm: first-request work is not what a poll costs
    with CaptureQueriesContext(connection) as queries:
        response = manager.get(DASHBOARD_PATH)
    assert response.status_code == 200, response.status_code
    statements = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            times = []
            for _ in range(DASHBOARD_RUNS):
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                (plan,) = cursor.fetchone()
                plan = plan if isinstance(plan, list) else json.loads(plan)
                times.append(plan[0]["Planning Time"] + plan[0]["Execution Time"])
            statements.append({"sql": " ".join(sql.split())[:120], "median_ms": statistics.median(times)})
    return statements


# The targets of issue 21, and where this run stands.


def targets(report: dict) -> list[dict]:
    scenarios, rows = report["scenarios"], []

    def ratio(name: str, at_least: float, label: str) -> None:
        figure = scenarios.get(name, {}).get("ratio_to_baseline")
        rows.append(
            {"target": label, "figure": _fmt(figure, "{:.0%}"), "met": figure is not None and figure >= at_least}
        )

    orders = scenarios.get("orders", {})
    cpu = orders.get("cpu", {})
    cpu_ratio = cpu.get("server_ratio_to_three_baseline_requests")
    rows.append(
        {
            "target": "order flow: gunicorn CPU per order ≤ 5 × three /healthz requests",
            "figure": f"{_fmt(cpu.get('server_ms_per_order'), '{:.1f}')} ms = {_fmt(cpu_ratio, '{:.1f}')} × "
            f"({_fmt(cpu.get('server_ms_per_three_baseline_requests'), '{:.1f}')} ms); "
            f"PostgreSQL {_fmt(cpu.get('database_ms_per_order'), '{:.1f}')} ms",
            "met": cpu_ratio is not None and cpu_ratio <= 5,
        }
    )
    rows.append(
        {
            "target": "order flow: ≥ 60 orders/s, p99 < 400 ms",
            "figure": f"{_fmt(orders.get('throughput'))}/s, p99 {_fmt(orders.get('p99_ms'))} ms",
            "met": (orders.get("throughput") or 0) >= 60 and (orders.get("p99_ms") or 1e9) < 400,
        }
    )
    ratio("poll_unchanged", 0.90, "unchanged order poll (304) ≥ 90 % of the baseline")
    ratio("kitchen_unchanged", 0.80, "unchanged kitchen poll (304) ≥ 80 %")
    ratio("kitchen", 0.50, "kitchen render ≥ 50 %")
    ratio("menu", 0.85, "menu ≥ 85 %")
    slowest = max((statement["median_ms"] for statement in report["dashboard_queries"]), default=None)
    rows.append(
        {
            "target": "dashboard: each query ≤ 2 ms",
            "figure": f"slowest {_fmt(slowest, '{:.2f}')} ms of {len(report['dashboard_queries'])}",
            "met": slowest is not None and slowest <= 2,
        }
    )
    streams = report.get("streams")
    rows.append(
        {
            "target": f"streams: {_thousands(ORDER_STREAMS)} order + {_thousands(KITCHEN_STREAMS)} kitchen streams "
            f"held, RSS measured, {CHANGES_PER_SECOND:g} changes/s, p99 commit → event < 1 s, none missed",
            "figure": "not measured" if streams is None else streams["summary"],
            "met": bool(streams and streams.get("met")),
        }
    )
    return rows


def machine() -> dict:
    gunicorn = {}
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS"):
        if name in os.environ:
            gunicorn[name] = os.environ[name]
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": _server_version(),
        "wrk": shutil.which("wrk"),
        "gunicorn_overrides": gunicorn,
    }


def _server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def _thousands(count: int) -> str:
    return f"{count:,}".replace(",", " ")


def _fmt(value, pattern="{:.0f}") -> str:
    return "—" if value is None else pattern.format(value)


def markdown(report: dict) -> str:
    rows = [
        f"Data set: **{report['dataset']}** ({report['sizes']}), {report['machine']['cpus']} CPUs, "
        f"{report['settings']['seconds']:g} s per scenario, {report['settings']['connections']} connections.",
        "",
        "| scenario | throughput (/s) | p50 (ms) | p99 (ms) | errors | baseline just before (/s) "
        "| ratio to baseline | queries |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    queries = report["queries_per_page"]
    for name, figures in report["scenarios"].items():
        count = (
            f"{queries['add_to_cart']} + {queries['checkout_form']} + {queries['checkout']}"
            if name == "orders"
            else str(queries.get(name, "—"))
        )
        rows.append(
            f"| {name} | {_fmt(figures['throughput'])} | {_fmt(figures['p50_ms'], '{:.1f}')} "
            f"| {_fmt(figures['p99_ms'], '{:.1f}')} | {figures['errors']} "
            f"| {_fmt(figures.get('baseline_beside'))} | {_fmt(figures['ratio_to_baseline'], '{:.0%}')} | {count} |"
        )
    orders = report["scenarios"].get("orders")
    if orders:
        rows += [
            "",
            f"Orders: {orders['orders_placed']} placed, {orders['sold_out_answers']} answered « épuisé », "
            f"latency per order (add to cart + checkout form + checkout); checks: {orders['checks']}.",
        ]
    cpu = (orders or {}).get("cpu")
    if cpu:
        rows += [
            "",
            f"CPU per order placed: gunicorn {_fmt(cpu['server_ms_per_order'], '{:.1f}')} ms, PostgreSQL "
            f"{_fmt(cpu['database_ms_per_order'], '{:.1f}')} ms; three baseline requests just before: "
            f"{_fmt(cpu['server_ms_per_three_baseline_requests'], '{:.1f}')} ms of gunicorn "
            f"({_fmt(cpu['server_ratio_to_three_baseline_requests'], '{:.1f}')} ×).",
        ]
    live = report.get("streams")
    if live:
        rows += [
            "",
            "| streams (order + kitchen) | held | opened in (s) | RSS idle → open (MB) | per stream (kB) "
            "| changes | p50 / p95 / p99 (ms) | kitchen p50 / p99 (ms) | missed | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {live['order_streams']} + {live['kitchen_streams']} | {live['held']} | {live['opening_s']:.0f} "
            f"| {live['rss_idle_mb']:.0f} → {live['rss_mb']:.0f} | {_fmt(live['rss_kb_per_stream'], '{:.1f}')} "
            f"| {live['changes']} at {live['changes_per_second']:g}/s "
            f"| {_fmt(live['p50_ms'])} / {_fmt(live['p95_ms'])} / {_fmt(live['p99_ms'])} "
            f"| {_fmt(live['kitchen_p50_ms'])} / {_fmt(live['kitchen_p99_ms'])} "
            f"| {live['missed']} + {live['kitchen_missed']} | {live['errors']} |",
        ]
    rows += ["", "Dashboard's live board, each statement (PostgreSQL's planning + execution, median of 7, ms):", ""]
    rows += [f"- {statement['median_ms']:.2f} ms `{statement['sql']}`" for statement in report["dashboard_queries"]]
    rows += ["", "| target (issue 21) | this run | met |", "|---|---|---|"]
    rows += [
        f"| {row['target']} | {row['figure']} | {'yes' if row['met'] else '**no**'} |" for row in report["targets"]
    ]
    if report["notes"]:
        rows += ["", "Notes:", *(f"- {note}" for note in report["notes"])]
    if report["problems"]:
        rows += ["", "Problems:", *(f"- {problem}" for problem in report["problems"])]
    return "\n".join(rows) + "\n"
