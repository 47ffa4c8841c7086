"""What is sold and to whom: customers, their addresses, orders, their lines,
their history and their payments."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from production.models import VAT_RATES, Pizzeria, Product, ProductSize


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer")
    phone = models.CharField("téléphone", max_length=20, blank=True)
    # How the customer wants to hear about their orders. SMS needs a number and a consent,
    # dated; withdrawing the consent clears the date.
    notify_email = models.BooleanField("suivi par e-mail", default=True)
    sms_phone = PhoneNumberField("mobile pour les SMS", blank=True)
    sms_consent_at = models.DateTimeField("accord SMS donné le", null=True, blank=True)
    # News and offers by e-mail: never assumed (CNIL), given by ticking a box, withdrawn by unticking it.
    marketing_consent_at = models.DateTimeField("accord aux offres donné le", null=True, blank=True)

    class Meta:
        verbose_name = "client"

    def __str__(self):
        return str(self.user)


class ConsentPurpose(models.TextChoices):
    SMS = "sms", "suivi des commandes par SMS"
    MARKETING = "marketing", "offres et nouveautés par e-mail"


class ConsentRecord(models.Model):
    """One consent given or withdrawn, with when and where: the proof the GDPR asks for (art. 7.1).

    Rows are only ever added; the customer's current choice is on ``Customer``."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField("objet", max_length=20, choices=ConsentPurpose.choices)
    given = models.BooleanField("accordé")
    source = models.CharField("recueilli par", max_length=40)
    recorded_at = models.DateTimeField("le", auto_now_add=True)

    class Meta:
        verbose_name = "consentement"
        ordering = ["customer", "recorded_at", "pk"]

    def __str__(self):
        return f"{self.get_purpose_display()} : {'accordé' if self.given else 'retiré'}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Un consentement enregistré ne se modifie pas : on en ajoute un nouveau.")
        super().save(*args, **kwargs)


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField("nom", max_length=50, default="Maison")
    line1 = models.CharField("adresse", max_length=200)
    line2 = models.CharField("complément", max_length=200, blank=True)
    postcode = models.CharField("code postal", max_length=5)
    city = models.CharField("ville", max_length=100, default="Paris")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    instructions = models.CharField("instructions au livreur", max_length=200, blank=True)

    class Meta:
        verbose_name = "adresse"
        ordering = ["customer", "label"]

    def __str__(self):
        return f"{self.line1}, {self.postcode} {self.city}"


class OrderState(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "en attente de paiement"
    RECEIVED = "received", "reçue"
    PREPARING = "preparing", "en préparation"
    READY = "ready", "prête"
    OUT_FOR_DELIVERY = "out_for_delivery", "en livraison"
    COMPLETED = "completed", "terminée"
    CANCELLED = "cancelled", "annulée"


class Channel(models.TextChoices):
    WEB = "web", "en ligne"
    PHONE = "phone", "téléphone"
    COUNTER = "counter", "comptoir"


class Fulfilment(models.TextChoices):
    DELIVERY = "delivery", "livraison"
    PICKUP = "pickup", "à emporter"


class PaymentMethod(models.TextChoices):
    ONLINE_CARD = "online_card", "carte en ligne"
    CASH = "cash", "espèces"
    CARD = "card", "carte à la livraison / au comptoir"
    MEAL_VOUCHER = "meal_voucher", "titre-restaurant"


class PaymentState(models.TextChoices):
    PENDING = "pending", "à régler"
    PAID = "paid", "payée"
    REFUNDED = "refunded", "remboursée"
    FAILED = "failed", "échec"


class CancelReason(models.TextChoices):
    CUSTOMER = "customer", "à la demande du client"
    SOLD_OUT = "sold_out", "rupture de stock"
    TOO_BUSY = "too_busy", "pizzeria débordée"
    NO_SHOW = "no_show", "client absent"
    PAYMENT_EXPIRED = "payment_expired", "paiement non reçu"


# How the customer is told, after « annulée », by whom and why (his order's page, his messages): the staff's
# motive says « à la demande du client », and their own words stay theirs.
CANCELLED_WHY_TO_CUSTOMER: dict[str, str] = {
    CancelReason.CUSTOMER: "à votre demande",
    CancelReason.SOLD_OUT: "par la pizzeria : un produit est en rupture de stock. Toutes nos excuses",
    CancelReason.TOO_BUSY: "par la pizzeria, débordée. Toutes nos excuses",
    CancelReason.NO_SHOW: "faute d'avoir pu vous la remettre",
    CancelReason.PAYMENT_EXPIRED: "faute d'un paiement reçu à temps",
}


class Order(models.Model):
    number = models.CharField("numéro", max_length=20, unique=True)
    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.PROTECT, related_name="orders")
    business_date = models.DateField("jour")
    daily_sequence = models.PositiveIntegerField("n° du jour")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders")
    customer_name = models.CharField("nom du client", max_length=100)
    customer_phone = models.CharField("téléphone", max_length=20)
    customer_email = models.EmailField("e-mail", blank=True)
    channel = models.CharField("canal", max_length=10, choices=Channel.choices)
    fulfilment = models.CharField("mode", max_length=10, choices=Fulfilment.choices)
    delivery_address = models.CharField("adresse de livraison", max_length=300, blank=True)
    delivery_postcode = models.CharField("code postal", max_length=5, blank=True)
    delivery_city = models.CharField("ville", max_length=100, blank=True)
    delivery_instructions = models.CharField("instructions", max_length=200, blank=True)
    delivery_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    delivery_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    note = models.CharField("remarque", max_length=300, blank=True)
    requested_for = models.DateTimeField("souhaitée pour", null=True, blank=True, help_text="Vide : dès que possible.")
    # The quarter hour the order is promised in, and what it takes of the ovens then
    # (``ventes.capacity``); empty for the orders placed before capacity was counted.
    slot = models.DateTimeField("créneau", null=True, blank=True)
    oven_load = models.PositiveIntegerField("charge du four", default=0)
    # When the kitchen should start a scheduled order (``ventes.estimates.order_fire_at``); empty: at once.
    fire_at = models.DateTimeField("à lancer à", null=True, blank=True)
    state = models.CharField("état", max_length=20, choices=OrderState.choices, default=OrderState.RECEIVED)
    payment_method = models.CharField("paiement", max_length=15, choices=PaymentMethod.choices)
    payment_state = models.CharField(
        "état du paiement", max_length=10, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    subtotal = models.DecimalField("sous-total TTC", max_digits=8, decimal_places=2)
    vat_total = models.DecimalField("dont TVA", max_digits=8, decimal_places=2)
    delivery_fee = models.DecimalField("frais de livraison", max_digits=6, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField("total TTC", max_digits=8, decimal_places=2)
    estimated_ready_at = models.DateTimeField("prête vers", null=True, blank=True)
    # Kept when the order becomes ready, from its history (ventes.workflow): received to ready, and in the
    # oven (preparing to ready), so that the managers' dashboard averages the day without reading the events.
    kitchen_seconds = models.FloatField("en cuisine (s)", null=True, blank=True, editable=False)
    oven_seconds = models.FloatField("au four (s)", null=True, blank=True, editable=False)
    cancel_reason = models.CharField("motif d'annulation", max_length=20, choices=CancelReason.choices, blank=True)
    rider = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name="livreur",
    )
    # The one-use token of the form that placed it: a form sent twice at once, to two
    # servers, finds the order of the first one here instead of placing a second.
    idempotency_key = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)
    # The customer's choice at checkout: e-mail (to customer_email) and/or SMS (to sms_phone, only
    # with a consent given at that date).
    notify_email = models.BooleanField("suivi par e-mail", default=True)
    sms_phone = PhoneNumberField("mobile pour les SMS", blank=True)
    sms_consent_at = models.DateTimeField("accord SMS donné le", null=True, blank=True)
    created_at = models.DateTimeField("passée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "commande"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=OrderState.values), name="order_state_valid"),
            models.CheckConstraint(
                condition=Q(payment_method__in=PaymentMethod.values), name="order_payment_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(payment_state__in=PaymentState.values), name="order_payment_state_valid"
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="order_channel_valid"),
            models.CheckConstraint(condition=Q(fulfilment__in=Fulfilment.values), name="order_fulfilment_valid"),
            models.CheckConstraint(condition=Q(subtotal__gt=0), name="order_subtotal_gt_0"),
            models.CheckConstraint(condition=Q(total__gt=0), name="order_total_gt_0"),
            models.CheckConstraint(condition=Q(vat_total__gte=0), name="order_vat_gte_0"),
            models.CheckConstraint(condition=Q(delivery_fee__gte=0), name="order_fee_gte_0"),
            models.CheckConstraint(
                condition=Q(fulfilment="pickup") | ~Q(delivery_address=""), name="order_delivery_has_address"
            ),
            models.UniqueConstraint(
                fields=["pizzeria", "business_date", "daily_sequence"], name="order_unique_daily_sequence"
            ),
        ]
        indexes = [
            models.Index(fields=["pizzeria", "state", "created_at"], name="order_queue_idx"),
            models.Index(fields=["state", "created_at"], name="order_state_idx"),
            # The staff boards' fingerprint (ETag): a pizzeria's orders changed since yesterday,
            # without reading its whole history.
            models.Index(fields=["pizzeria", "updated_at"], name="order_pizzeria_updated_idx"),
            # The load already due in the next slots, read by every checkout.
            models.Index(fields=["pizzeria", "slot"], name="order_pizzeria_slot_idx"),
            # The whole chain's orders of one till day, summed live by the managers' reports (ventes.reports).
            models.Index(fields=["business_date"], name="order_business_date_idx"),
            # The managers' dashboard: the orders changed since yesterday, counted from the index alone.
            models.Index(fields=["updated_at"], name="order_updated_idx"),
            # And each pizzeria's day (orders by state, takings, kitchen and oven times) read from the index alone.
            models.Index(
                fields=["business_date", "pizzeria", "state"],
                include=["payment_state", "total", "kitchen_seconds", "oven_seconds"],
                name="order_day_board_idx",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def short_number(self) -> str:
        return f"{self.daily_sequence:03d}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    product_name = models.CharField("produit", max_length=100)
    quantity = models.PositiveIntegerField("quantité")
    unit_price = models.DecimalField("prix unitaire TTC", max_digits=6, decimal_places=2)
    vat_rate = models.DecimalField("taux de TVA", max_digits=4, decimal_places=2, choices=VAT_RATES)
    # The configuration as chosen, snapshotted like the price: size, options (ids, names, kinds,
    # prices), the words the cart, ticket and kitchen show, and the exact recipe of one unit
    # ({ingredient id: quantity}) that the stock reserves.
    size = models.ForeignKey(
        ProductSize, on_delete=models.SET_NULL, null=True, blank=True, related_name="order_lines", verbose_name="taille"
    )
    half_product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="half_order_lines",
        verbose_name="seconde moitié",
    )
    options = models.JSONField("options", default=list, blank=True)
    description = models.CharField("précisions", max_length=300, blank=True)
    recipe = models.JSONField("recette", default=dict, blank=True)
    # The allergens of what was made, kept as they were (a recipe may change later): the kitchen card,
    # the ticket, the delivery card, the receipt and the confirmation print them.
    allergens = models.JSONField("allergènes", default=list, blank=True)
    # A part of a formula: {"id", "name", "price" (the formula's set price), "group" (the rank of that formula
    # in the order: its parts are contiguous lines), "choice" (the FormulaChoice taken)}; empty otherwise.
    # The line's price is its share of the set price, at its own VAT rate.
    formula = models.JSONField("formule", default=dict, blank=True)

    class Meta:
        verbose_name = "ligne de commande"
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_gt_0"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="line_price_gt_0"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.label}"

    @property
    def label(self) -> str:
        label = f"{self.product_name} ({self.description})" if self.description else self.product_name
        return f"{self.formula['name']} : {label}" if self.formula else label

    @property
    def option_ids(self) -> list[int]:
        return [option["id"] for option in self.options]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderEventType(models.TextChoices):
    PLACED = "placed", "commande passée"
    LINES_EDITED = "lines_edited", "commande modifiée"
    STATE_MOVED = "state_moved", "changement d'état"
    PAYMENT_SUCCEEDED = "payment_succeeded", "paiement reçu"
    PAYMENT_FAILED = "payment_failed", "paiement échoué"
    REFUND_REQUESTED = "refund_requested", "remboursement demandé"
    REFUND_SUCCEEDED = "refund_succeeded", "remboursement effectué"
    REFUND_FAILED = "refund_failed", "remboursement échoué"
    DUPLICATE_PAYMENT_REFUNDED = "duplicate_payment_refunded", "paiement en double remboursé"
    CAPACITY_OVERRIDDEN = "capacity_overridden", "créneau complet forcé"


# The events that move an order from one state to another; the others leave both states blank.
STATE_EVENT_TYPES = (OrderEventType.PLACED, OrderEventType.STATE_MOVED)


class OrderEvent(models.Model):
    """One change of an order or of its payment, written by ``ventes.events.order_event_record`` only.

    ``params`` says what changed (lines before and after, amounts in euros as
    strings, reason, Stripe ids); ``from_state``/``to_state`` are filled for
    the events in ``STATE_EVENT_TYPES`` only.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField("type", max_length=30, choices=OrderEventType.choices)
    from_state = models.CharField("de", max_length=20, choices=OrderState.choices, blank=True)
    to_state = models.CharField("vers", max_length=20, choices=OrderState.choices, blank=True)
    params = models.JSONField("détails", default=dict, blank=True)
    at = models.DateTimeField("le", auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="par"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "événement"
        ordering = ["order", "at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=OrderEventType.values), name="order_event_type_valid"),
        ]

    def __str__(self):
        if self.type in STATE_EVENT_TYPES:
            return f"{self.order}: {self.from_state or '—'} → {self.to_state}"
        return f"{self.order}: {self.get_type_display()}"

    @property
    def moves_state(self) -> bool:
        return self.type in STATE_EVENT_TYPES

    @property
    def amount(self) -> Decimal | None:
        """The amount this event is about, when it is about money."""
        value = self.params.get("amount")
        return Decimal(value) if value is not None else None


class Notification(models.Model):
    """One message to the customer about one state of their order, on one channel.

    Unique per (order, state, channel): however many times a task asks for it (an undone
    kitchen tap, a task run again after a worker died), the customer gets it once.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "e-mail"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "à envoyer"
        SENDING = "sending", "en cours d'envoi"
        SENT = "sent", "envoyée"
        FAILED = "failed", "échec"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    state = models.CharField("état annoncé", max_length=20, choices=OrderState.choices)
    channel = models.CharField("canal", max_length=5, choices=Kind.choices)
    recipient = models.CharField("destinataire", max_length=254)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.CharField("dernière erreur", max_length=300, blank=True)
    # While SENDING, another task leaves it alone until then (a worker killed mid-send lets it lapse).
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField("prochain essai", null=True, blank=True)
    provider_id = models.CharField("référence du prestataire", max_length=100, blank=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)

    class Meta:
        verbose_name = "notification"
        ordering = ["order", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "state", "channel"], name="notification_once_per_state"),
            models.CheckConstraint(condition=Q(channel__in=["email", "sms"]), name="notification_channel_valid"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status_idx")]

    def __str__(self):
        return f"{self.order}: {self.state} ({self.channel})"

    @property
    def idempotency_key(self) -> str:
        return f"ocpizza-{self.order_id}-{self.state}-{self.channel}"


class Payment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "en attente"
        SUCCEEDED = "succeeded", "réussi"
        FAILED = "failed", "échoué"
        REFUNDED = "refunded", "remboursé"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField("moyen", max_length=15, choices=PaymentMethod.choices)
    amount = models.DecimalField("montant", max_digits=8, decimal_places=2)
    state = models.CharField("état", max_length=10, choices=State.choices, default=State.PENDING)
    provider = models.CharField("prestataire", max_length=20, blank=True)
    provider_reference = models.CharField("référence", max_length=255, blank=True, db_index=True)
    provider_payment_id = models.CharField("paiement prestataire", max_length=255, blank=True)
    refunded_amount = models.DecimalField("remboursé", max_digits=8, decimal_places=2, default=Decimal("0"))
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="encaissé par"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "paiement"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0), name="payment_refunded_gte_0"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")), name="payment_refund_le_amount"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "succeeded", "failed", "refunded"]), name="payment_state_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.amount} € ({self.get_state_display()})"


class RefundReason(models.TextChoices):
    ORDER_CANCELLED = "order_cancelled", "commande annulée"
    DUPLICATE_PAYMENT = "duplicate_payment", "paiement en double"
    MISSING_ITEM = "missing_item", "produit manquant"
    WRONG_ITEM = "wrong_item", "erreur dans la commande"
    QUALITY = "quality", "qualité insuffisante"
    LATE = "late", "livraison en retard"
    GOODWILL = "goodwill", "geste commercial"


# The reasons a manager picks from; the others are the platform's own.
STAFF_REFUND_REASONS = [
    RefundReason.MISSING_ITEM,
    RefundReason.WRONG_ITEM,
    RefundReason.QUALITY,
    RefundReason.LATE,
    RefundReason.GOODWILL,
    RefundReason.ORDER_CANCELLED,
]


class Refund(models.Model):
    """Money given back for one payment: through Stripe (retried until it is made) or by hand at the pizzeria."""

    class State(models.TextChoices):
        PENDING = "pending", "en cours"
        SUCCEEDED = "succeeded", "effectué"
        FAILED = "failed", "refusé par la banque"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField("montant", max_digits=8, decimal_places=2)
    method = models.CharField("moyen", max_length=15, choices=PaymentMethod.choices)
    reason = models.CharField("motif", max_length=20, choices=RefundReason.choices)
    note = models.CharField("remarque", max_length=300, blank=True)
    state = models.CharField("état", max_length=10, choices=State.choices, default=State.PENDING)
    # Stripe answers a retry with the same key by the refund it already made: never two refunds for one row.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider_refund_id = models.CharField("remboursement prestataire", max_length=255, blank=True, db_index=True)
    attempts = models.PositiveIntegerField("tentatives", default=0)
    next_attempt_at = models.DateTimeField("prochaine tentative", null=True, blank=True)
    last_error = models.CharField("dernière erreur", max_length=300, blank=True)
    managers_alerted_at = models.DateTimeField("responsables prévenus le", null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refunds_given",
        verbose_name="par",
    )
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "remboursement"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "succeeded", "failed"]), name="refund_state_valid"
            ),
            models.CheckConstraint(condition=Q(reason__in=RefundReason.values), name="refund_reason_valid"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="refund_due_idx")]

    def __str__(self):
        return f"{self.order} : {self.amount} € ({self.get_state_display()})"

    @property
    def idempotency_key(self) -> str:
        return f"ocpizza-refund-{self.key}"


# The refunds the managers were told about: still failing after several tries, or refused by the card's bank.
REFUND_NEEDS_MANAGER = Q(state=Refund.State.PENDING, managers_alerted_at__isnull=False) | Q(state=Refund.State.FAILED)


class StripeEvent(models.Model):
    """A Stripe webhook event already handled: Stripe delivers at least once, this makes it at most once."""

    event_id = models.CharField("événement Stripe", max_length=255, unique=True)
    type = models.CharField("type", max_length=100)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="stripe_events", verbose_name="commande"
    )
    received_at = models.DateTimeField("reçu le", auto_now_add=True)

    class Meta:
        verbose_name = "événement Stripe"
        verbose_name_plural = "événements Stripe"
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.event_id}"


GENESIS_HASH = "0" * 64


class JournalImmutable(Exception):
    """Raised on any attempt to change or remove a row of the sales journal or a closing (programming error)."""

    def __init__(self, message: str = "Le journal des ventes ne se modifie ni ne s'efface.") -> None:
        super().__init__(message)


class JournalQuerySet(models.QuerySet):
    """Journal rows are written once: a bulk update or delete is refused before it reaches the database."""

    def update(self, **kwargs):
        raise JournalImmutable()

    def delete(self):
        raise JournalImmutable()


class JournalKind(models.TextChoices):
    SALE = "sale", "vente (commande terminée)"
    PAYMENT = "payment", "encaissement"
    REFUND = "refund", "remboursement"
    CANCELLATION = "cancellation", "annulation après paiement"
    DUPLICATE = "duplicate", "duplicata de reçu"


class JournalEntry(models.Model):
    """One row of a pizzeria's sales journal (NF525 principles): written once, chained by SHA-256.

    ``hash`` is the SHA-256 of the row's canonical content with ``previous_hash``
    (``ventes.journal.entry_content``); ``sequence`` counts a pizzeria's rows from 1, without a gap.
    Amounts are signed: a refund is negative. The row names its order by number only: no personal data.
    """

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.PROTECT, related_name="journal_entries")
    sequence = models.PositiveIntegerField("n°")
    kind = models.CharField("nature", max_length=15, choices=JournalKind.choices)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="journal_entries")
    order_number = models.CharField("commande", max_length=20)
    at = models.DateTimeField("le")
    business_date = models.DateField("journée")
    amount = models.DecimalField("montant TTC", max_digits=9, decimal_places=2)
    payment_method = models.CharField("moyen", max_length=15, choices=PaymentMethod.choices, blank=True)
    # Sales only: [{"rate": "10.00", "incl": "19.00", "vat": "1.73"}, ...], per VAT rate.
    vat = models.JSONField("TVA", default=list, blank=True)
    # Sales only: the receipt's number, from 1 per pizzeria without a gap (a duplicate names the one it copies).
    receipt_number = models.PositiveIntegerField("n° de ticket", null=True, blank=True)
    # Who made the change, by user number (never a name: the journal outlives an erased account); blank: the platform.
    operator = models.CharField("opérateur", max_length=20, blank=True)
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)

    objects = JournalQuerySet.as_manager()

    class Meta:
        verbose_name = "écriture du journal des ventes"
        verbose_name_plural = "journal des ventes"
        ordering = ["pizzeria", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["pizzeria", "sequence"], name="journal_unique_sequence"),
            models.CheckConstraint(condition=Q(kind__in=JournalKind.values), name="journal_kind_valid"),
        ]
        indexes = [models.Index(fields=["pizzeria", "business_date"], name="journal_day_idx")]

    def __str__(self):
        return f"{self.pizzeria_id} n° {self.sequence} {self.kind} {self.order_number}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise JournalImmutable()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise JournalImmutable()


class JournalChain(models.Model):
    """The head of a pizzeria's chains: the row locked while one appends, so that a chain never forks.

    It only repeats the last row's number and hash (checked by ``journal_verify``): the journal is the record.
    """

    pizzeria = models.OneToOneField(Pizzeria, on_delete=models.PROTECT, related_name="journal_chain")
    last_sequence = models.PositiveIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    last_receipt_number = models.PositiveIntegerField(default=0)
    # The closings' own chain, appended behind the same lock.
    last_closing_sequence = models.PositiveIntegerField(default=0)
    last_closing_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = "tête de chaîne du journal"

    def __str__(self):
        return f"{self.pizzeria_id} n° {self.last_sequence}"


class ClosingKind(models.TextChoices):
    DAY = "day", "clôture journalière (Z)"
    MONTH = "month", "clôture mensuelle"
    YEAR = "year", "clôture annuelle"


class Closing(models.Model):
    """A period of a pizzeria's sales journal, totalled and sealed (NF525 principles): never changed.

    A day sums its journal rows; a month sums its days, a year its months. ``grand_total`` is the
    perpetual grand total: every sale of the pizzeria up to the period's end. Closings form a chain
    of their own per pizzeria (``sequence``, ``previous_hash``, ``hash``), and each names the hash
    of the last journal row it covers (``journal_hash``), which ties it to the journal.
    """

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.PROTECT, related_name="closings")
    sequence = models.PositiveIntegerField("n°")
    kind = models.CharField("nature", max_length=5, choices=ClosingKind.choices)
    period_start = models.DateField("du")
    period_end = models.DateField("au")
    closed_at = models.DateTimeField("clôturée le")
    first_entry = models.PositiveIntegerField("première écriture", null=True, blank=True)
    last_entry = models.PositiveIntegerField("dernière écriture", null=True, blank=True)
    entries = models.PositiveIntegerField("écritures")
    sales_count = models.PositiveIntegerField("ventes")
    sales_total = models.DecimalField("ventes TTC", max_digits=12, decimal_places=2)
    refunds_total = models.DecimalField("remboursements", max_digits=12, decimal_places=2)
    # {"cash": "123.40", "card": ...}: collected less given back, per payment method.
    payments = models.JSONField("encaissements par moyen", default=dict, blank=True)
    # [{"rate": "10.00", "incl": "...", "vat": "..."}]: the sales per VAT rate.
    vat = models.JSONField("TVA par taux", default=list, blank=True)
    cancellations = models.PositiveIntegerField("annulations après paiement")
    duplicates = models.PositiveIntegerField("duplicatas")
    grand_total = models.DecimalField("grand total perpétuel", max_digits=14, decimal_places=2)
    journal_hash = models.CharField("empreinte de la dernière écriture", max_length=64)
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)

    objects = JournalQuerySet.as_manager()

    class Meta:
        verbose_name = "clôture"
        ordering = ["pizzeria", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["pizzeria", "sequence"], name="closing_unique_sequence"),
            models.UniqueConstraint(fields=["pizzeria", "kind", "period_start"], name="closing_unique_period"),
            models.CheckConstraint(condition=Q(kind__in=ClosingKind.values), name="closing_kind_valid"),
        ]

    def __str__(self):
        return f"{self.pizzeria_id} {self.kind} {self.period_start}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise JournalImmutable("Une clôture ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise JournalImmutable("Une clôture ne s'efface pas.")

    @property
    def collected_total(self) -> Decimal:
        return sum((Decimal(amount) for amount in self.payments.values()), Decimal("0"))

    @property
    def payment_rows(self) -> list[tuple[str, Decimal]]:
        """(label, net amount) per payment method, as the screen shows them."""
        return [(PaymentMethod(method).label, Decimal(amount)) for method, amount in self.payments.items()]


class SalesFact(models.Model):
    """One pizzeria's figures for one till day, summed from its orders by ``ventes.reports.facts_refresh``.

    The managers' reports read these rows (and their ``SalesFactCount`` rows), never the orders of a past day:
    a year of a chain of 500 pizzerias is 180 000 rows instead of a million orders and their lines and events.
    """

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="sales_facts")
    day = models.DateField("jour")
    orders = models.PositiveIntegerField("commandes passées", default=0)
    sold = models.PositiveIntegerField("commandes vendues", default=0)
    cancelled = models.PositiveIntegerField("annulations", default=0)
    takings = models.DecimalField("ventes TTC", max_digits=12, decimal_places=2, default=Decimal("0"))
    items = models.PositiveIntegerField("articles vendus", default=0)
    paused_seconds = models.PositiveIntegerField("en pause (s)", default=0)
    busy_seconds = models.PositiveIntegerField("en coup de feu (s)", default=0)
    refreshed_at = models.DateTimeField("calculé le", auto_now=True)

    class Meta:
        verbose_name = "chiffres du jour"
        verbose_name_plural = "chiffres des jours"
        ordering = ["-day", "pizzeria"]
        constraints = [models.UniqueConstraint(fields=["pizzeria", "day"], name="sales_fact_unique_day")]
        # The chain's report reads every pizzeria's days of a period.
        indexes = [models.Index(fields=["day"], name="sales_fact_day_idx")]

    def __str__(self):
        return f"{self.pizzeria} — {self.day:%d/%m/%Y}"


class SalesFactCount(models.Model):
    """How many orders (or pizzas, for a product) of one pizzeria's till day fall under one key of a breakdown,
    and for how much: a channel, a fulfilment, a cancellation reason, a product, a band of minutes."""

    CHANNEL, FULFILMENT, CANCEL_REASON, PRODUCT = "channel", "fulfilment", "cancel_reason", "product"
    KITCHEN, OVEN, LATENESS = "kitchen", "oven", "lateness"
    DIMENSIONS = [
        (CHANNEL, "canal"),
        (FULFILMENT, "mode"),
        (CANCEL_REASON, "motif d'annulation"),
        (PRODUCT, "produit"),
        (KITCHEN, "temps en cuisine"),
        (OVEN, "temps au four"),
        (LATENESS, "retard"),
    ]
    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="sales_fact_counts")
    day = models.DateField("jour")
    dimension = models.CharField("axe", max_length=20, choices=DIMENSIONS)
    key = models.CharField("valeur", max_length=100)
    count = models.PositiveIntegerField("nombre", default=0)
    amount = models.DecimalField("montant TTC", max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = "décompte du jour"
        verbose_name_plural = "décomptes des jours"
        ordering = ["-day", "pizzeria", "dimension", "key"]
        constraints = [
            models.UniqueConstraint(fields=["pizzeria", "day", "dimension", "key"], name="sales_fact_count_unique"),
            models.CheckConstraint(
                condition=Q(
                    dimension__in=["channel", "fulfilment", "cancel_reason", "product", "kitchen", "oven", "lateness"]
                ),
                name="sales_fact_count_dimension_valid",
            ),
        ]
        indexes = [models.Index(fields=["day", "dimension"], name="sales_fact_count_day_idx")]

    def __str__(self):
        return f"{self.pizzeria} — {self.day:%d/%m/%Y} — {self.dimension} {self.key}"
