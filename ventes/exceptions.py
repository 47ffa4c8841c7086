from http import HTTPStatus

from ocpizzapp.exceptions import BusinessError


class OrderError(BusinessError):
    code = "order_error"


class InvalidOrder(OrderError):
    """The order as asked cannot be taken (bad line, bad slot, missing field)."""

    code = "invalid_order"
    default_message = "Cette commande n'est pas valable."

    def __init__(self, message: str | None = None, *, field: str | None = None, **details):
        self.field = field
        super().__init__(message, field=field, **details)


class CartLimitReached(InvalidOrder):
    """One more product, or more of one, would take the cart past the limits of one order."""

    code = "cart_limit_reached"
    default_message = "Votre panier a atteint le nombre maximum de produits."


class PizzeriaUnavailable(OrderError):
    code = "pizzeria_unavailable"
    status = HTTPStatus.CONFLICT
    default_message = "Cette pizzeria ne prend pas de commandes pour le moment."


class IllegalTransition(OrderError):
    """The order is not in a state from which this move exists (it may just have moved)."""

    code = "illegal_transition"
    status = HTTPStatus.CONFLICT
    default_message = "Cette action n'est plus possible pour cette commande."


class TransitionForbidden(OrderError):
    """The move exists, but not for this person.

    Answered as not found: who may not act on an order is not told that it exists.
    """

    code = "transition_forbidden"
    status = HTTPStatus.NOT_FOUND
    default_message = "Vous n'avez pas le droit de faire cette action sur cette commande."


class OrderNotEditable(IllegalTransition):
    """The kitchen has started the order: no more edits, no cancel by its customer or the counter."""

    code = "order_not_editable"
    default_message = "La cuisine a commencé votre commande : elle ne peut plus être modifiée ni annulée."


class CustomerError(BusinessError):
    code = "customer_error"


class UnknownAddress(CustomerError):
    """The address does not exist or belongs to another customer: both look the same from outside."""

    code = "unknown_address"
    status = HTTPStatus.NOT_FOUND
    default_message = "Adresse inconnue."
