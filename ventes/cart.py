"""The customer's cart, kept in the session.

It holds only product ids and quantities for one pizzeria: prices, totals and
VAT are computed by the server from the catalogue each time it is shown
(``ventes.selectors.cart_summary``). Django's login keeps the session's data
when it changes the session key, so the cart survives logging in.
"""

from .services import LineRequest

SESSION_KEY = "cart"


class Cart:
    def __init__(self, session):
        self.session = session
        data = session.get(SESSION_KEY) or {}
        self.pizzeria_id: int | None = data.get("pizzeria_id")
        self.lines: dict[int, int] = {
            int(product_id): quantity for product_id, quantity in data.get("lines", {}).items()
        }

    def __len__(self) -> int:
        return sum(self.lines.values())

    def __bool__(self) -> bool:
        return bool(self.lines)

    def save(self) -> None:
        self.session[SESSION_KEY] = {
            "pizzeria_id": self.pizzeria_id,
            "lines": {str(product_id): quantity for product_id, quantity in self.lines.items()},
        }

    def belongs_elsewhere(self, pizzeria_id: int) -> bool:
        """True when adding from ``pizzeria_id`` would mix two pizzerias in one cart."""
        return bool(self.lines) and self.pizzeria_id != pizzeria_id

    def quantity_after_adding(self, product_id: int, quantity: int) -> int:
        return self.lines.get(product_id, 0) + quantity

    def add(self, *, pizzeria_id: int, product_id: int, quantity: int) -> None:
        if self.belongs_elsewhere(pizzeria_id):
            self.lines = {}
        self.pizzeria_id = pizzeria_id
        self.lines[product_id] = self.quantity_after_adding(product_id, quantity)
        self.save()

    def set_quantity(self, *, product_id: int, quantity: int) -> None:
        if product_id in self.lines:
            self.lines[product_id] = quantity
            self.save()

    def remove(self, *, product_id: int) -> None:
        self.lines.pop(product_id, None)
        self.save()

    def replace(self, *, pizzeria_id: int, lines: dict[int, int]) -> None:
        self.pizzeria_id = pizzeria_id
        self.lines = dict(lines)
        self.save()

    def clear(self) -> None:
        self.lines = {}
        self.save()

    def line_requests(self) -> list[LineRequest]:
        return [LineRequest(product_id, quantity) for product_id, quantity in self.lines.items()]
