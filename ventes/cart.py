"""The customer's cart, kept in the session.

It holds only line keys (a product, its size and its options:
``production.selectors.line_key``; a formula and its choices: ``formula_key``) and quantities for one pizzeria: prices,
totals and VAT are computed by the server from the catalogue each time it is
shown (``ventes.selectors.cart_summary``). Django's login keeps the session's
data when it changes the session key, so the cart survives logging in.
"""

from .services import AnyLineRequest, line_request_of

SESSION_KEY = "cart"


class Cart:
    def __init__(self, session):
        self.session = session
        data = session.get(SESSION_KEY) or {}
        self.pizzeria_id: int | None = data.get("pizzeria_id")
        self.lines: dict[str, int] = {
            str(key): quantity
            for key, quantity in data.get("lines", {}).items()
            if line_request_of(str(key), 1) is not None
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

    def line_requests(self) -> list[AnyLineRequest]:
        return [
            request for key, quantity in self.lines.items() if (request := line_request_of(key, quantity)) is not None
        ]
