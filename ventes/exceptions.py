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


class SlotFull(InvalidOrder):
    """The ovens of the chosen slot cannot take this order's pizzas on top of those already due then."""

    code = "slot_full"
    default_message = "Ce créneau est complet : choisissez-en un autre."


class TooManyLinkAttempts(OrderError):
    """This client tried too many order links that were not valid: someone guessing, not a customer."""

    code = "too_many_link_attempts"
    status = HTTPStatus.TOO_MANY_REQUESTS
    default_message = "Trop de liens de suivi non valables ont été essayés : réessayez dans une heure."


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


class PaymentError(BusinessError):
    """Money could not move as asked; nothing was recorded that says otherwise."""

    code = "payment_error"
    default_message = "Le paiement en ligne a échoué."


class OnlinePaymentDisabled(PaymentError):
    code = "online_payment_disabled"
    default_message = "Le paiement en ligne n'est pas proposé : vous réglerez à la livraison ou au comptoir."


class PaymentProviderUnavailable(PaymentError):
    """Stripe could not be reached or could not answer now: the same request may work later."""

    code = "payment_provider_unavailable"
    default_message = (
        "Le paiement en ligne est indisponible pour le moment : votre commande est annulée et rien n'a été débité. "
        "Réessayez dans quelques minutes ou choisissez de régler à la livraison ou au comptoir."
    )


class PaymentDeclined(PaymentError):
    """Stripe refused the request as it was made."""

    code = "payment_declined"
    default_message = (
        "Le paiement en ligne a été refusé pour cette commande : elle est annulée et rien n'a été débité. "
        "Choisissez de régler à la livraison ou au comptoir."
    )


class PaymentNotExpected(PaymentError):
    code = "payment_not_expected"
    default_message = "Cette commande n'attend pas de paiement en ligne."


class RefundFailed(PaymentError):
    """Stripe did not make a refund; the refund stays owed and the retry job tries it again."""

    code = "refund_failed"
    default_message = "Le remboursement n'a pas pu être fait : il sera retenté automatiquement."


class RefundNotAllowed(PaymentError):
    """A refund asked by the staff that cannot be made as asked (too much, nothing paid, bad amount)."""

    code = "refund_not_allowed"
    default_message = "Ce remboursement n'est pas possible."

    def __init__(self, message: str | None = None, *, field: str | None = None, **details: object) -> None:
        self.field = field
        super().__init__(message, field=field, **details)


class WebhookRefused(PaymentError):
    """A webhook whose signature, age or shape is not right: refused with 400, nothing read from it."""

    code = "webhook_refused"
    default_message = "Événement refusé."


class ReceiptNotIssued(OrderError):
    """A duplicate asked of an order that has no receipt yet: it is issued when the order is completed."""

    code = "receipt_not_issued"
    status = HTTPStatus.CONFLICT
    default_message = "Le ticket de caisse est émis quand la commande est terminée : pas de duplicata avant."
