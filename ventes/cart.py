"""The customer's cart, kept in the session.

It holds only line keys (a product, its size and its options:
``production.selectors.line_key``) and quantities for one pizzeria: prices,
totals and VAT are computed by the server from the catalogue each time it is
shown (``ventes.selectors.cart_summary``). Django's login keeps the session's
data when it changes the session key, so the cart survives logging in.
"""

from production.selectors import parse_line_key

from .services import LineRequest

SESSION_KEY = "cart"


class Cart:
    def __init__(self, session):
        self.session = session
        data = session.get(SESSION_KEY) or {}
        self.pizzeria_id: int | None = data.get("pizzeria_id")
        self.lines: dict[str, int] = {
            str(key): quantity for key, quantity in data.get("lines", {}).items() if parse_line_key(str(key))
        }

    def __len__(self) -> int:
        return sum(self.lines.values())

    def __bool__(self) -> bool:
        return bool(self.lines)

    def save(self) -> None:
        self.session[SESSION_KEY] = {"pizzeria_id": self.pizzeria_id, "lines": dict(self.lines)}

    def belongs_elsewhere(self, pizzeria_id: int) -> bool:
        """True when adding from ``pizzeria_id`` would mix two pizzerias in one cart."""
        return bool(self.lines) and self.pizzeria_id != pizzeria_id

    def quantity_after_adding(self, key: str, quantity: int) -> int:
        return self.lines.get(key, 0) + quantity

    def add(self, *, pizzeria_id: int, key: str, quantity: int) -> None:
        if self.belongs_elsewhere(pizzeria_id):
            self.lines = {}
        self.pizzeria_id = pizzeria_id
        self.lines[key] = self.quantity_after_adding(key, quantity)
        self.save()

    def set_quantity(self, *, key: str, quantity: int) -> None:
        if key in self.lines:
            self.lines[key] = quantity
            self.save()

    def remove(self, *, key: str) -> None:
        self.lines.pop(key, None)
        self.save()

    def replace(self, *, pizzeria_id: int, lines: dict[str, int]) -> None:
        self.pizzeria_id = pizzeria_id
        self.lines = dict(lines)
        self.save()

    def clear(self) -> None:
        self.lines = {}
        self.save()

    def line_requests(self) -> list[LineRequest]:
        requests = []
        for key, quantity in self.lines.items():
            parsed = parse_line_key(key)
            if parsed is not None:
                product_id, size_id, option_ids, half_id = parsed
                requests.append(
                    LineRequest(product_id, quantity, size_id=size_id, option_ids=option_ids, half_id=half_id)
                )
        return requests
