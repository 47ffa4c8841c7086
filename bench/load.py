"""The order-placing load: virtual customers, each with its own session, who
add a pizza to their cart and check out, racing for the same stock.

Runs in worker processes started with "spawn": no Django here, only
``http.client``, so that the load generator's CPU use stays small and its
processes do not inherit database connections.
"""

import http.client
import re
import secrets
import string
import time
import urllib.parse
from dataclasses import dataclass

TOKEN = re.compile(r'name="token" value="([^"]+)"')
ORDER_URL = re.compile(r"/commande/([^/?]+)/")
SOLD_OUT = ("épuisé", "plus que")


@dataclass(frozen=True)
class Plan:
    port: int
    pizzeria_id: int
    scarce_product_id: int
    plentiful_product_ids: tuple[int, ...]
    customers: int
    seconds: float
    # One order in this many asks for the scarce product.
    scarce_every: int = 4


def _csrf() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


class Customer:
    """One browser: its own cookies, on a kept-alive connection (reconnects when the server closes it)."""

    def __init__(self, connection: http.client.HTTPConnection):
        self.connection = connection
        self.csrf = _csrf()
        self.cookies = {"csrftoken": self.csrf}

    def request(self, method: str, path: str, fields: dict | None = None, htmx: bool = False):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            # The server closed a kept-alive connection: one retry on a new one.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location", ""), content


def order_once(customer: Customer, plan: Plan, product_id: int) -> tuple[str, str]:
    """One order from a fresh cart: ("ok", number), ("sold_out", "") or ("error", why)."""
    status, _, page = customer.request(
        "POST",
        "/panier/ajouter/",
        {"pizzeria": plan.pizzeria_id, "product": product_id, "quantity": 1},
        htmx=True,
    )
    if status != 200:
        return "error", f"add to cart: HTTP {status}"
    if "Stock insuffisant" in page:  # the cart refuses, when it is added, what the pizzeria can no longer make
        return "sold_out", ""
    status, _, page = customer.request("GET", "/commander/")
    token = TOKEN.search(page)
    if status != 200 or token is None:
        return "error", f"checkout form: HTTP {status}"
    fields = {
        "customer_name": "Client Bench",
        "customer_phone": "06 12 34 56 78",
        "customer_email": "client.bench@example.com",
        "fulfilment": "pickup",
        "when": "asap",
        "payment_method": "cash",
        "token": token.group(1),
    }
    status, location, page = customer.request("POST", "/commander/", fields)
    if status == 302 and (number := ORDER_URL.search(location)):
        return "ok", number.group(1)
    if status == 200 and any(word in page for word in SOLD_OUT):
        return "sold_out", ""
    return "error", f"checkout: HTTP {status}"


def customer_run(plan: Plan, index: int) -> list[tuple[float, str, str]]:
    """Orders one after another until the time is up; each order is a new customer."""
    results = []
    deadline = time.monotonic() + plan.seconds
    connection = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=30)
    count = 0
    while time.monotonic() < deadline:
        customer = Customer(connection)
        count += 1
        scarce = (count + index) % plan.scarce_every == 0
        products = plan.plentiful_product_ids
        product_id = plan.scarce_product_id if scarce else products[(count * 7 + index) % len(products)]
        started = time.monotonic()
        try:
            outcome, detail = order_once(customer, plan, product_id)
        except (OSError, http.client.HTTPException) as error:
            outcome, detail = "error", f"connection: {error!r}"
            connection.close()
        results.append((time.monotonic() - started, outcome, detail))
    connection.close()
    return results


def process_run(plan: Plan, first_index: int, count: int) -> list[tuple[float, str, str]]:
    """``count`` customers in threads of one worker process."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(customer_run, plan, first_index + i) for i in range(count)]
        return [result for future in futures for result in future.result()]


def orders_drive(plan: Plan, processes: int = 2) -> tuple[list[tuple[float, str, str]], float]:
    """All customers spread over ``processes`` worker processes; returns results and wall time."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    per_process = [plan.customers // processes + (1 if i < plan.customers % processes else 0) for i in range(processes)]
    starts = [sum(per_process[:i]) for i in range(processes)]
    with context.Pool(processes) as pool:
        started = time.monotonic()
        work = [(plan, starts[i], per_process[i]) for i in range(processes) if per_process[i]]
        chunks = pool.starmap(process_run, work)
        elapsed = time.monotonic() - started
    return [result for chunk in chunks for result in chunk], elapsed
