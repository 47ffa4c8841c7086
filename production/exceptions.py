from dataclasses import dataclass
from http import HTTPStatus

from ocpizzapp.exceptions import BusinessError


class InvalidPace(BusinessError):
    """A pause or a busy mode that cannot be set as asked (unknown step, an end already past)."""

    code = "invalid_pace"
    default_message = "Réglage impossible."

    def __init__(self, message: str | None = None, *, field: str | None = None, **details):
        self.field = field
        super().__init__(message, field=field, **details)


class StockError(BusinessError):
    code = "stock_error"


class InvalidStockQuantity(StockError):
    code = "invalid_stock_quantity"
    default_message = "La quantité doit être un nombre entier positif."


class NotEnoughStock(StockError):
    code = "not_enough_stock"
    status = HTTPStatus.CONFLICT
    default_message = "Stock insuffisant."


class StockOverrideForbidden(StockError):
    """Only a manager may throw away stock that orders hold."""

    code = "stock_override_forbidden"
    default_message = "Seul un responsable peut forcer une perte sur du stock réservé par des commandes."


class InvalidCost(BusinessError):
    code = "invalid_cost"
    default_message = "Le prix doit être un montant positif, par exemple 12,50."


class InvalidMenuOverride(BusinessError):
    code = "invalid_menu_override"
    default_message = "Ce prix ou ce retrait n'est pas possible."

    def __init__(self, message: str | None = None, *, field: str | None = None, **details):
        super().__init__(message, field=field, **details)


class InvalidTransfer(StockError):
    code = "invalid_transfer"
    default_message = "Ce transfert n'est pas possible."


class TransferForbidden(StockError):
    code = "transfer_forbidden"
    status = HTTPStatus.FORBIDDEN
    default_message = "Seul un responsable peut transférer du stock d'une pizzeria à une autre."


class InvalidPurchaseOrder(StockError):
    """A purchase order that cannot be drafted, changed, sent or received as asked."""

    code = "invalid_purchase_order"
    default_message = "Opération impossible sur ce bon de commande."

    def __init__(self, message: str | None = None, *, field: str | None = None, **details):
        self.field = field
        super().__init__(message, field=field, **details)


class InvalidParLevel(StockError):
    code = "invalid_par_level"
    default_message = "Le niveau cible doit être un nombre entier positif ou nul, ou rester vide."

    def __init__(self, message: str | None = None, *, field: str | None = None, **details):
        self.field = field
        super().__init__(message, field=field, **details)


@dataclass(frozen=True)
class Shortage:
    """A product the order wants more of than the stock allows."""

    product_id: int
    product_name: str
    requested: int
    available: int


class SoldOut(StockError):
    """Some products of an order cannot be made in the asked quantities."""

    code = "sold_out"
    status = HTTPStatus.CONFLICT

    def __init__(self, shortages: list[Shortage]):
        self.shortages = shortages
        parts = [
            f"{s.product_name} : plus que {s.available}" if s.available else f"{s.product_name} : épuisé"
            for s in shortages
        ]
        super().__init__("Stock insuffisant — " + " ; ".join(parts) + ".", shortages=shortages)


class InvalidConfiguration(BusinessError):
    """A line asks for a size or options its product does not offer here, or too many or too few choices."""

    code = "invalid_configuration"
    default_message = "Cette pizza n'est pas proposée ainsi."
