"""What is made and where: pizzerias, ingredients, stock and its ledger,
products and their recipes, and the staff who work there."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone

VAT_RATES = [
    (Decimal("5.50"), "5,5 %"),
    (Decimal("10.00"), "10 %"),
    (Decimal("20.00"), "20 %"),
]
POSITIVE_MONEY = [MinValueValidator(Decimal("0.01"))]
# A busy kitchen adds this much to its quotes (« coup de feu »), 0 when it is not busy.
BUSY_STEPS = [0, 10, 20, 30]


class Pizzeria(models.Model):
    name = models.CharField("nom", max_length=100)
    slug = models.SlugField(unique=True)
    code = models.CharField("code", max_length=4, unique=True, help_text="Préfixe des numéros de commande, ex. BAS.")
    address = models.CharField("adresse", max_length=200)
    postcode = models.CharField("code postal", max_length=5)
    city = models.CharField("ville", max_length=100, default="Paris")
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    phone = models.CharField("téléphone", max_length=20)
    email = models.EmailField("e-mail", blank=True)
    delivery_radius_km = models.DecimalField(
        "rayon de livraison (km)", max_digits=4, decimal_places=1, default=Decimal("3.0")
    )
    served_postcodes = models.CharField(
        "codes postaux livrés",
        max_length=200,
        blank=True,
        help_text="Séparés par des virgules ; utilisés quand la géolocalisation est indisponible.",
    )
    delivery_fee = models.DecimalField("frais de livraison", max_digits=5, decimal_places=2, default=Decimal("2.50"))
    free_delivery_from = models.DecimalField(
        "livraison offerte dès", max_digits=6, decimal_places=2, null=True, blank=True
    )
    ovens = models.PositiveSmallIntegerField("fours", default=2)
    pizzas_per_oven = models.PositiveSmallIntegerField(
        "pizzas par four et par quart d'heure",
        default=6,
        help_text="Avec le nombre de fours, la charge qu'un créneau de 15 minutes peut prendre.",
    )
    delivery_minutes = models.PositiveSmallIntegerField("durée de livraison (min)", default=20)
    is_active = models.BooleanField("active", default=True)
    opens_on_public_holidays = models.BooleanField(
        "ouverte les jours fériés", default=True, help_text="Décocher pour fermer les jours fériés français."
    )
    accepting_orders = models.BooleanField(
        "prend les commandes", default=True, help_text="Décocher pour mettre en pause (coup de feu)."
    )
    paused_until = models.DateTimeField(
        "pause jusqu'à", null=True, blank=True, help_text="Vide : la pause dure jusqu'à la reprise à la main."
    )
    busy_minutes = models.PositiveSmallIntegerField(
        "coup de feu (minutes ajoutées)", default=0, choices=[(step, f"+{step} min") for step in BUSY_STEPS]
    )
    busy_until = models.DateTimeField("coup de feu jusqu'à", null=True, blank=True)
    # Why busy mode started by itself (kitchen lateness, ventes/pace.py); empty when someone chose it.
    busy_reason = models.CharField("coup de feu automatique", max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(delivery_radius_km__gte=0), name="pizzeria_radius_gte_0"),
            models.CheckConstraint(condition=Q(delivery_fee__gte=0), name="pizzeria_fee_gte_0"),
            models.CheckConstraint(condition=Q(ovens__gte=1), name="pizzeria_ovens_gte_1"),
            models.CheckConstraint(condition=Q(pizzas_per_oven__gte=1), name="pizzeria_pizzas_per_oven_gte_1"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("ventes:menu", kwargs={"slug": self.slug})

    @property
    def served_postcode_list(self) -> list[str]:
        return [code.strip() for code in self.served_postcodes.split(",") if code.strip()]

    # A timed pause or busy mode ends by itself: both are read against the clock, nothing switches them off.
    def is_paused_at(self, at: datetime.datetime) -> bool:
        return not self.accepting_orders and (self.paused_until is None or at < self.paused_until)

    @property
    def is_paused(self) -> bool:
        return self.is_paused_at(timezone.now())

    def busy_minutes_at(self, at: datetime.datetime) -> int:
        return self.busy_minutes if self.busy_until is not None and at < self.busy_until else 0

    @property
    def busy_now(self) -> int:
        return self.busy_minutes_at(timezone.now())


class CatalogueRevision(models.Model):
    """One row, counting the changes of the chain's catalogue (products, recipes, options, prices, formulas,
    opening hours, pauses): moved in the transaction of each change (``production.cache.catalogue_changed``),
    so that any server can tell, in the query that reads the pizzeria, whether the catalogue it keeps in
    memory is still the catalogue an order must be checked against."""

    ONLY = 1

    number = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "révision du catalogue"

    def __str__(self):
        return f"catalogue, révision {self.number}"


class OpeningHours(models.Model):
    MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
    WEEKDAYS = [
        (MONDAY, "lundi"),
        (TUESDAY, "mardi"),
        (WEDNESDAY, "mercredi"),
        (THURSDAY, "jeudi"),
        (FRIDAY, "vendredi"),
        (SATURDAY, "samedi"),
        (SUNDAY, "dimanche"),
    ]
    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField("jour", choices=WEEKDAYS)
    opens = models.TimeField("ouverture")
    closes = models.TimeField("fermeture")

    class Meta:
        verbose_name = "horaire d'ouverture"
        verbose_name_plural = "horaires d'ouverture"
        ordering = ["pizzeria", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="hours_weekday_valid"),
            # A closing time at or before the opening one is the next day's (Friday 18:00–01:00); never equal.
            models.CheckConstraint(condition=~Q(closes=models.F("opens")), name="hours_closes_differs"),
            models.UniqueConstraint(fields=["pizzeria", "weekday", "opens"], name="hours_unique_range"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class OpeningException(models.Model):
    """A dated change of a pizzeria's hours: closed all day, or special hours instead of the week's.

    Written by ``production.services.opening_exception_set``: a chain-wide one is
    a row for each pizzeria (``chain_wide``), which a pizzeria's own may replace.
    """

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="opening_exceptions")
    day = models.DateField("jour")
    closed = models.BooleanField("fermée toute la journée", default=False)
    opens = models.TimeField("ouverture", null=True, blank=True)
    closes = models.TimeField("fermeture", null=True, blank=True, help_text="Avant l'ouverture : le lendemain.")
    label = models.CharField("motif", max_length=100, blank=True)
    chain_wide = models.BooleanField("pour toute la chaîne", default=False)

    class Meta:
        verbose_name = "exception d'horaires"
        verbose_name_plural = "exceptions d'horaires"
        ordering = ["day", "pizzeria"]
        constraints = [
            models.UniqueConstraint(fields=["pizzeria", "day"], name="exception_unique_pizzeria_day"),
            models.CheckConstraint(
                condition=Q(closed=True, opens__isnull=True, closes__isnull=True)
                | (Q(closed=False, opens__isnull=False, closes__isnull=False) & ~Q(closes=F("opens"))),
                name="exception_closed_or_hours",
            ),
        ]

    def __str__(self):
        return f"{self.pizzeria} — {self.day:%d/%m/%Y}"


class PizzeriaEvent(models.Model):
    """One change of how a pizzeria takes orders (pause, busy mode), written by ``production.services`` only."""

    PAUSED, RESUMED, BUSY, CALM = "paused", "resumed", "busy", "calm"
    KINDS = [(PAUSED, "pause"), (RESUMED, "reprise"), (BUSY, "coup de feu"), (CALM, "fin du coup de feu")]
    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("type", max_length=10, choices=KINDS)
    until = models.DateTimeField("jusqu'à", null=True, blank=True)
    minutes = models.PositiveSmallIntegerField("minutes ajoutées", default=0)
    note = models.CharField("motif", max_length=120, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="par"
    )
    at = models.DateTimeField("le", auto_now_add=True)

    class Meta:
        verbose_name = "changement de rythme"
        verbose_name_plural = "changements de rythme"
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["paused", "resumed", "busy", "calm"]), name="pizzeria_event_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.pizzeria} — {self.get_kind_display()}"


class Allergen(models.Model):
    """The fourteen allergens that EU regulation 1169/2011 requires to be declared."""

    code = models.SlugField(unique=True)
    name = models.CharField("nom", max_length=60)

    class Meta:
        verbose_name = "allergène"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Ingredient(models.Model):
    GRAM, MILLILITRE, PIECE = "g", "ml", "piece"
    UNITS = [(GRAM, "g"), (MILLILITRE, "ml"), (PIECE, "pièce")]

    # Prices are quoted per kilo, per litre or per piece: (that unit's name, how many of ours it holds).
    PRICE_UNITS = {GRAM: ("kg", 1000), MILLILITRE: ("L", 1000), PIECE: ("pièce", 1)}

    name = models.CharField("nom", max_length=100, unique=True)
    unit = models.CharField("unité", max_length=5, choices=UNITS, default=GRAM)
    allergens = models.ManyToManyField(Allergen, blank=True, verbose_name="allergènes")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class IngredientCost(models.Model):
    """What an ingredient costs, excluding VAT, from a day on: each figure holds until the next one."""

    ingredient = models.ForeignKey(Ingredient, on_delete=models.CASCADE, related_name="costs")
    # Euros per unit of the ingredient (per gram, millilitre or piece): prices per kilo are divided on entry.
    unit_cost = models.DecimalField("coût unitaire HT", max_digits=12, decimal_places=6)
    valid_from = models.DateField("à partir du")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField("saisi le", auto_now_add=True)

    class Meta:
        verbose_name = "coût d'ingrédient"
        verbose_name_plural = "coûts des ingrédients"
        ordering = ["ingredient", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="ingredient_cost_not_negative"),
            models.UniqueConstraint(fields=["ingredient", "valid_from"], name="ingredient_cost_one_per_day"),
        ]

    def __str__(self):
        return f"{self.ingredient} : {self.unit_cost} €/{self.ingredient.get_unit_display()} dès le {self.valid_from}"


class Stock(models.Model):
    """One pizzeria's stock of one ingredient, in the ingredient's unit, in two figures.

    ``on_hand`` is what is physically on the shelf; ``reserved`` the part of it
    held by orders not yet in the oven; what can still be sold is ``available``,
    their difference, never below zero. Both figures only change through
    ``production.services``, which writes the matching ``StockMovement``: the
    ledger of a line always sums to them (see that module's docstring).
    """

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="stock_lines")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="stock_lines")
    on_hand = models.IntegerField("en stock", default=0, validators=[MinValueValidator(0)])
    reserved = models.IntegerField("réservé", default=0, editable=False)
    low_threshold = models.PositiveIntegerField("seuil bas", default=0)
    par_level = models.PositiveIntegerField(
        "niveau cible",
        null=True,
        blank=True,
        help_text="Ce qu'il faut avoir en stock après une livraison ; quand il est fixé, "
        "l'alerte se déclenche à une part de ce niveau (PAR_ALERT_PERCENT) au lieu du seuil bas.",
    )

    class Meta:
        verbose_name = "ligne de stock"
        verbose_name_plural = "stocks"
        ordering = ["pizzeria", "ingredient__name"]
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_gte_0"),
            # Orders can only hold what is on the shelf: available (on hand - reserved) never goes below zero.
            models.CheckConstraint(condition=Q(on_hand__gte=F("reserved")), name="stock_available_gte_0"),
            models.UniqueConstraint(fields=["pizzeria", "ingredient"], name="stock_unique_pizzeria_ingredient"),
        ]
        # The lines under their alert, found without reading every line of the chain (``stock_low``): how far
        # a line stands above its low threshold, and what share of its par level it holds (in whole percents,
        # rounded down, so that the share compared with PAR_ALERT_PERCENT, whatever it is set to, finds every
        # line under it and only a few more, which the exact comparison then drops).
        indexes = [
            models.Index(
                F("on_hand") - F("reserved") - F("low_threshold"),
                condition=Q(par_level__isnull=True),
                name="stock_above_threshold_idx",
            ),
            models.Index(
                (F("on_hand") - F("reserved")) * 100 / Greatest(F("par_level"), 1),
                condition=Q(par_level__isnull=False),
                name="stock_par_share_idx",
            ),
        ]

    def __str__(self):
        return f"{self.ingredient} @ {self.pizzeria}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)

    @property
    def alert_threshold(self) -> int:
        """The available quantity at or under which the line is low: a share of its par level when it has one."""
        if self.par_level is None:
            return self.low_threshold
        return self.par_level * settings.OCPIZZA["PAR_ALERT_PERCENT"] // 100

    @property
    def is_low(self) -> bool:
        return self.available <= self.alert_threshold


class StockTransfer(models.Model):
    """Goods sent by one pizzeria to another: one row, and a ledger row on each side."""

    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="transfers")
    source = models.ForeignKey(Pizzeria, on_delete=models.PROTECT, related_name="transfers_out", verbose_name="de")
    destination = models.ForeignKey(
        Pizzeria, on_delete=models.PROTECT, related_name="transfers_in", verbose_name="vers"
    )
    quantity = models.PositiveIntegerField("quantité")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name="par")
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField("le", auto_now_add=True)

    class Meta:
        verbose_name = "transfert de stock"
        verbose_name_plural = "transferts de stock"
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_between_two_pizzerias"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} {self.ingredient} : {self.source} → {self.destination}"


class StockMovement(models.Model):
    """One change of a stock line: how much it moved its on-hand and its reserved figures."""

    RESERVATION, RELEASE, CONSUMPTION, UNCONSUMED = "reservation", "release", "consumption", "unconsumed"
    RESTOCK, INVENTORY, WASTE = "restock", "inventory", "waste"
    TRANSFER_OUT, TRANSFER_IN = "transfer_out", "transfer_in"
    RECEIPT = "receipt"
    KINDS = [
        (RESERVATION, "réservation"),
        (RELEASE, "libération"),
        (CONSUMPTION, "consommation"),
        (UNCONSUMED, "consommation annulée"),
        (RESTOCK, "réapprovisionnement"),
        (INVENTORY, "inventaire"),
        (WASTE, "perte"),
        (TRANSFER_OUT, "transfert sortant"),
        (TRANSFER_IN, "transfert entrant"),
        (RECEIPT, "réception fournisseur"),
    ]
    ORDER_KINDS = [RESERVATION, RELEASE, CONSUMPTION, UNCONSUMED]
    SHELF_KINDS = [RESTOCK, INVENTORY, WASTE, TRANSFER_OUT, TRANSFER_IN, RECEIPT]
    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField("type", max_length=12, choices=KINDS)
    on_hand_delta = models.IntegerField("en stock", default=0, help_text="Signé : négatif quand l'étagère se vide.")
    reserved_delta = models.IntegerField("réservé", default=0, help_text="Signé : négatif quand une commande rend.")
    order = models.ForeignKey(
        "ventes.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="stock_movements"
    )
    transfer = models.ForeignKey(
        StockTransfer, on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    purchase_order = models.ForeignKey(
        "PurchaseOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        verbose_name="bon de commande",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="par"
    )
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField("le", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "mouvement de stock"
        verbose_name_plural = "mouvements de stock"
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["reservation", "release", "consumption", "unconsumed"], order__isnull=False)
                | Q(
                    kind__in=["restock", "inventory", "waste", "transfer_out", "transfer_in", "receipt"],
                    reserved_delta=0,
                ),
                name="movement_kind_valid",
            ),
            # A supplier's delivery names its purchase order; no other row does.
            models.CheckConstraint(
                condition=Q(kind="receipt", purchase_order__isnull=False)
                | (~Q(kind="receipt") & Q(purchase_order__isnull=True)),
                name="movement_receipt_named",
            ),
            # A transfer's two rows name it; no other row does.
            models.CheckConstraint(
                condition=Q(kind__in=["transfer_out", "transfer_in"], transfer__isnull=False)
                | (~Q(kind__in=["transfer_out", "transfer_in"]) & Q(transfer__isnull=True)),
                name="movement_transfer_named",
            ),
            models.CheckConstraint(condition=~Q(on_hand_delta=0, reserved_delta=0), name="movement_moves_something"),
            # Reserving and releasing leave the shelf as it is; consuming takes from the shelf what was held.
            models.CheckConstraint(
                condition=~Q(kind__in=["reservation", "release"]) | Q(on_hand_delta=0),
                name="movement_reservation_off_shelf",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["consumption", "unconsumed"]) | Q(on_hand_delta=F("reserved_delta")),
                name="movement_consumption_both",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.on_hand_delta:+d}/{self.reserved_delta:+d} {self.stock}"


class Product(models.Model):
    PIZZA, DRINK, DESSERT = "pizza", "drink", "dessert"
    CATEGORIES = [(PIZZA, "Pizzas"), (DRINK, "Boissons"), (DESSERT, "Desserts")]

    name = models.CharField("nom", max_length=100, unique=True)
    slug = models.SlugField(unique=True)
    category = models.CharField("catégorie", max_length=10, choices=CATEGORIES, default=PIZZA)
    description = models.TextField(blank=True)
    price = models.DecimalField("prix TTC", max_digits=6, decimal_places=2, validators=POSITIVE_MONEY)
    vat_rate = models.DecimalField("taux de TVA", max_digits=4, decimal_places=2, choices=VAT_RATES)
    contains_alcohol = models.BooleanField(
        "contient de l'alcool", default=False, help_text="Les titres-restaurant ne paient pas l'alcool."
    )
    oven_load = models.PositiveSmallIntegerField(
        "charge du four",
        default=1,
        help_text="Places de four par exemplaire : 1 pour une pizza, 0 pour une boisson, plus pour un calzone.",
    )
    image = models.ImageField(upload_to="products/", blank=True)
    # A picture drawn for the menu (``manage.py draw_pictures``): static/img/produits/<picture>-<width>.webp, in
    # every width of ocpizzapp.pictures.WIDTHS. An uploaded ``image`` comes first.
    picture = models.CharField("image dessinée", max_length=60, blank=True)
    is_active = models.BooleanField("en vente", default=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)
    pizzerias = models.ManyToManyField(Pizzeria, related_name="products", blank=True, verbose_name="à la carte de")

    class Meta:
        verbose_name = "produit"
        ordering = ["category", "position", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_gt_0"),
            models.CheckConstraint(condition=Q(vat_rate__in=[r for r, _ in VAT_RATES]), name="product_vat_valid"),
            models.CheckConstraint(
                condition=Q(category__in=["pizza", "drink", "dessert"]), name="product_category_valid"
            ),
        ]

    def __str__(self):
        return self.name


class RecipeLine(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="recipe_lines")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="recipe_lines")
    quantity = models.PositiveIntegerField("quantité")

    class Meta:
        verbose_name = "ligne de recette"
        verbose_name_plural = "recette"
        ordering = ["product", "ingredient__name"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="recipe_quantity_gt_0"),
            models.UniqueConstraint(fields=["product", "ingredient"], name="recipe_unique_product_ingredient"),
        ]

    def __str__(self):
        return f"{self.quantity} {self.ingredient.get_unit_display()} {self.ingredient}"


class ProductSize(models.Model):
    """A size a product is sold in (26, 33, 40 cm): its own price, and its recipe scaled by ``recipe_factor``."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sizes")
    name = models.CharField("taille", max_length=40)
    detail = models.CharField("précision", max_length=40, blank=True, help_text="Ex. 33 cm.")
    price = models.DecimalField("prix TTC", max_digits=6, decimal_places=2, validators=POSITIVE_MONEY)
    recipe_factor = models.DecimalField(
        "facteur de recette",
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Quantités de la recette multipliées par ce facteur (arrondies à l'unité supérieure).",
    )
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "taille"
        ordering = ["product", "position", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="size_price_gt_0"),
            models.CheckConstraint(condition=Q(recipe_factor__gt=0), name="size_factor_gt_0"),
            models.UniqueConstraint(fields=["product", "name"], name="size_unique_name"),
        ]

    def __str__(self):
        return f"{self.product} — {self.name} {self.detail}".strip()


class OptionGroup(models.Model):
    """Choices offered on a product: extra toppings, toppings that may be removed, or a base to pick."""

    EXTRA, REMOVE, CHOICE = "extra", "remove", "choice"
    KINDS = [(EXTRA, "suppléments"), (REMOVE, "ingrédients à retirer"), (CHOICE, "choix (base, pâte)")]

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="option_groups")
    name = models.CharField("nom", max_length=60)
    kind = models.CharField("type", max_length=10, choices=KINDS)
    min_choices = models.PositiveSmallIntegerField("choix minimum", default=0)
    max_choices = models.PositiveSmallIntegerField("choix maximum", default=1)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "groupe d'options"
        verbose_name_plural = "groupes d'options"
        ordering = ["product", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["extra", "remove", "choice"]), name="option_group_kind"),
            models.CheckConstraint(condition=Q(max_choices__gte=1), name="option_group_max_gte_1"),
            models.CheckConstraint(condition=Q(max_choices__gte=F("min_choices")), name="option_group_max_gte_min"),
        ]

    def __str__(self):
        return f"{self.product} — {self.name}"


class Option(models.Model):
    """One choice of a group.

    An extra (or a choice) adds ``quantity`` of its ingredient, scaled like the
    recipe by the size's factor; a removal takes its ingredient out of the
    recipe altogether, and its allergens with it.
    """

    group = models.ForeignKey(OptionGroup, on_delete=models.CASCADE, related_name="options")
    name = models.CharField("nom", max_length=60)
    price = models.DecimalField("prix TTC", max_digits=5, decimal_places=2, default=Decimal("0"))
    ingredient = models.ForeignKey(
        Ingredient, on_delete=models.PROTECT, null=True, blank=True, related_name="options", verbose_name="ingrédient"
    )
    quantity = models.PositiveIntegerField("quantité ajoutée", default=0, help_text="Pour la taille de facteur 1.")
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "option"
        ordering = ["group", "position", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="option_price_gte_0"),
            models.UniqueConstraint(fields=["group", "name"], name="option_unique_name"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        kind = self.group.kind if self.group_id else None
        if kind == OptionGroup.REMOVE and self.ingredient_id is None:
            raise ValidationError({"ingredient": "Indiquez l'ingrédient retiré."})
        if kind != OptionGroup.REMOVE and self.ingredient_id is not None and not self.quantity:
            raise ValidationError({"quantity": "Indiquez la quantité ajoutée de l'ingrédient."})


class MenuOverride(models.Model):
    """One pizzeria's own price for a product, a size or an option, or its withdrawal there.

    Names the product, and the size or the option when it is about one of
    them. A product's own price only counts for a product sold without sizes.
    """

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="menu_overrides")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="overrides", verbose_name="produit")
    size = models.ForeignKey(
        ProductSize, on_delete=models.CASCADE, null=True, blank=True, related_name="overrides", verbose_name="taille"
    )
    option = models.ForeignKey(
        Option, on_delete=models.CASCADE, null=True, blank=True, related_name="overrides", verbose_name="option"
    )
    price = models.DecimalField(
        "prix TTC ici", max_digits=6, decimal_places=2, null=True, blank=True, help_text="Vide : le prix de la chaîne."
    )
    withdrawn = models.BooleanField("retiré de la carte ici", default=False)

    class Meta:
        verbose_name = "prix ou retrait en pizzeria"
        verbose_name_plural = "prix et retraits par pizzeria"
        ordering = ["pizzeria", "product", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(size__isnull=True) | Q(option__isnull=True), name="override_one_target"),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gte=0), name="override_price_gte_0"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0) | Q(option__isnull=False),
                name="override_product_price_gt_0",
            ),
            models.UniqueConstraint(
                fields=["pizzeria", "product"],
                condition=Q(size__isnull=True, option__isnull=True),
                name="override_unique_product",
            ),
            models.UniqueConstraint(fields=["pizzeria", "size"], name="override_unique_size"),
            models.UniqueConstraint(fields=["pizzeria", "option"], name="override_unique_option"),
        ]

    def __str__(self):
        target = self.size or self.option or self.product
        return f"{target} @ {self.pizzeria}"

    def clean(self):
        if self.size is not None and self.size.product_id != self.product_id:
            raise ValidationError({"size": "Cette taille est celle d'un autre produit."})
        if self.option is not None and self.option.group.product_id != self.product_id:
            raise ValidationError({"option": "Cette option est celle d'un autre produit."})
        if self.price is None and not self.withdrawn:
            raise ValidationError("Indiquez un prix ou cochez « retiré de la carte ici ».")


class Formula(models.Model):
    """A set meal (« Formule midi »): one product chosen in each of its slots, at a set price, in its hours.

    Sold in the pizzerias it names, only during its windows (the pizzeria's local time); a choice
    withdrawn at a pizzeria (its product or size, ``MenuOverride``) is not offered there.
    """

    name = models.CharField("nom", max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    price = models.DecimalField("prix TTC", max_digits=6, decimal_places=2, validators=POSITIVE_MONEY)
    is_active = models.BooleanField("en vente", default=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)
    pizzerias = models.ManyToManyField(Pizzeria, related_name="formulas", blank=True, verbose_name="à la carte de")

    class Meta:
        verbose_name = "formule"
        ordering = ["position", "name"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="formula_price_gt_0")]

    def __str__(self):
        return self.name


class FormulaWindow(models.Model):
    """A time a formula is served: one weekday, from ``starts`` to ``ends`` (same day)."""

    formula = models.ForeignKey(Formula, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField("jour", choices=OpeningHours.WEEKDAYS)
    starts = models.TimeField("de")
    ends = models.TimeField("à")

    class Meta:
        verbose_name = "horaire de la formule"
        verbose_name_plural = "horaires de la formule"
        ordering = ["formula", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="formula_window_weekday"),
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="formula_window_ends_after"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class FormulaSlot(models.Model):
    """One part of a formula (« Pizza », « Boisson », « Dessert »): exactly one of its choices is taken."""

    formula = models.ForeignKey(Formula, on_delete=models.CASCADE, related_name="slots")
    name = models.CharField("nom", max_length=40)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "élément de formule"
        verbose_name_plural = "éléments de formule"
        ordering = ["formula", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["formula", "name"], name="formula_slot_unique_name")]

    def __str__(self):
        return f"{self.formula} — {self.name}"


class FormulaChoice(models.Model):
    """A product a slot may be filled with, in one size when ``size`` is set (else its first size there)."""

    slot = models.ForeignKey(FormulaSlot, on_delete=models.CASCADE, related_name="choices")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="formula_choices")
    size = models.ForeignKey(
        ProductSize, on_delete=models.CASCADE, null=True, blank=True, related_name="formula_choices"
    )
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "choix de formule"
        verbose_name_plural = "choix de formule"
        ordering = ["slot", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "product", "size"], name="formula_choice_unique"),
        ]

    def __str__(self):
        return f"{self.product} {self.size.name}" if self.size else str(self.product)

    def clean(self):
        if self.size is not None and self.size.product_id != self.product_id:
            raise ValidationError({"size": "Cette taille est celle d'un autre produit."})


class RecipeStep(models.Model):
    """One step of the pizzaiolo's memo for a product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="recipe_steps")
    position = models.PositiveSmallIntegerField("ordre")
    text = models.CharField("étape", max_length=300)

    class Meta:
        verbose_name = "étape du mémo"
        verbose_name_plural = "mémo de préparation"
        ordering = ["product", "position"]
        constraints = [
            models.UniqueConstraint(fields=["product", "position"], name="step_unique_position"),
        ]

    def __str__(self):
        return f"{self.position}. {self.text}"


class StaffMemberManager(models.Manager["StaffMember"]):
    def of_user(self, user) -> "StaffMember | None":
        """The membership of ``user``, or None: the one read along with the user when the
        sign-in backend did (``accounts.backends``), else one query."""
        if StaffMember.user.field.remote_field.is_cached(user):
            return getattr(user, "staff_member", None)
        try:
            # One member per user: ``get`` spares the ordering (by pizzeria, a join) that ``first`` would add.
            return self.select_related("pizzeria").get(user_id=user.pk)
        except StaffMember.DoesNotExist:
            return None


class StaffMember(models.Model):
    PIZZAIOLO, RIDER, COUNTER, MANAGER = "pizzaiolo", "rider", "counter", "manager"
    ROLES = [(PIZZAIOLO, "pizzaiolo"), (RIDER, "livreur"), (COUNTER, "comptoir / téléphone"), (MANAGER, "manager")]

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_member")
    role = models.CharField("rôle", max_length=10, choices=ROLES)
    pizzeria = models.ForeignKey(
        Pizzeria,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text="Vide pour un manager qui couvre toutes les pizzerias.",
    )

    objects = StaffMemberManager()

    class Meta:
        verbose_name = "membre du personnel"
        verbose_name_plural = "personnel"
        ordering = ["pizzeria", "role"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["pizzaiolo", "rider", "counter", "manager"]), name="staff_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(role="manager") | Q(pizzeria__isnull=False), name="staff_pizzeria_unless_manager"
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    def covers(self, pizzeria_id: int) -> bool:
        return self.pizzeria_id is None or self.pizzeria_id == pizzeria_id


class DailyReport(models.Model):
    """Yesterday's figures of one pizzeria, written by the daily update (``update_ocpizza``)."""

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.CASCADE, related_name="daily_reports")
    day = models.DateField("jour")
    orders = models.PositiveIntegerField("commandes", default=0)
    takings = models.DecimalField("chiffre d'affaires TTC", max_digits=10, decimal_places=2, default=Decimal("0"))
    cancellations = models.PositiveIntegerField("annulations", default=0)
    average_preparation_minutes = models.DecimalField(
        "préparation moyenne (min)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    best_sellers = models.JSONField("meilleures ventes", default=list, blank=True)
    low_stock = models.JSONField("stocks bas", default=list, blank=True)
    low_stock_alert_sent_at = models.DateTimeField("alerte stock envoyée le", null=True, blank=True)
    updated_at = models.DateTimeField("calculé le", auto_now=True)

    class Meta:
        verbose_name = "rapport journalier"
        verbose_name_plural = "rapports journaliers"
        ordering = ["-day", "pizzeria"]
        constraints = [
            models.UniqueConstraint(fields=["pizzeria", "day"], name="report_unique_pizzeria_day"),
        ]

    def __str__(self):
        return f"{self.pizzeria} — {self.day:%d/%m/%Y}"


# --- Purchasing -------------------------------------------------------------------


class Supplier(models.Model):
    """Who the chain buys ingredients from, and how long a delivery takes once ordered."""

    name = models.CharField("nom", max_length=100, unique=True)
    email = models.EmailField("e-mail des commandes")
    phone = models.CharField("téléphone", max_length=20, blank=True)
    lead_time_days = models.PositiveSmallIntegerField(
        "délai de livraison (jours)", default=2, help_text="Jours entre l'envoi d'une commande et sa livraison."
    )
    is_active = models.BooleanField("actif", default=True)

    class Meta:
        verbose_name = "fournisseur"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(lead_time_days__gte=1), name="supplier_lead_time_gte_1"),
        ]

    def __str__(self):
        return self.name


class SupplierItem(models.Model):
    """An ingredient a supplier sells, by the pack (a 2.5 kg bag holds 2500 g), at a price per pack."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="items", verbose_name="fournisseur")
    ingredient = models.ForeignKey(
        Ingredient, on_delete=models.PROTECT, related_name="supplier_items", verbose_name="ingrédient"
    )
    reference = models.CharField("référence fournisseur", max_length=40, blank=True)
    pack_label = models.CharField("conditionnement", max_length=60, help_text="Ex. sac de 2,5 kg.")
    pack_size = models.PositiveIntegerField(
        "quantité par colis", help_text="Dans l'unité de l'ingrédient : 2500 pour un sac de 2,5 kg."
    )
    pack_price = models.DecimalField("prix du colis HT", max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = "article fournisseur"
        verbose_name_plural = "articles fournisseur"
        ordering = ["supplier", "ingredient__name"]
        constraints = [
            models.CheckConstraint(condition=Q(pack_size__gt=0), name="supplier_item_pack_size_gt_0"),
            models.CheckConstraint(condition=Q(pack_price__gte=0), name="supplier_item_pack_price_gte_0"),
            models.UniqueConstraint(fields=["supplier", "ingredient"], name="supplier_item_unique_ingredient"),
        ]

    def __str__(self):
        return f"{self.ingredient} — {self.pack_label} ({self.supplier})"


class PurchaseOrder(models.Model):
    """What one pizzeria orders from one supplier: drafted, sent by e-mail, then received, perhaps in parts.

    Changed by ``production.services`` only; each receipt writes the ledger rows
    (``StockMovement`` of kind receipt) that name it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "brouillon"
        SENT = "sent", "envoyée"
        PARTIAL = "partial", "partiellement reçue"
        RECEIVED = "received", "reçue"
        CANCELLED = "cancelled", "annulée"

    class Email(models.TextChoices):
        """Where the e-mail to the supplier stands (the worker sends it, and retries while the server is down)."""

        NONE = "", "pas encore envoyé"
        PENDING = "pending", "en cours d'envoi"
        SENT = "sent", "envoyé"
        FAILED = "failed", "en échec"

    pizzeria = models.ForeignKey(Pizzeria, on_delete=models.PROTECT, related_name="purchase_orders")
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="purchase_orders", verbose_name="fournisseur"
    )
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField("remarque", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email_to = models.EmailField("envoyée à", blank=True)
    email_state = models.CharField("e-mail", max_length=10, choices=Email.choices, default=Email.NONE, blank=True)
    email_attempts = models.PositiveSmallIntegerField("tentatives d'envoi", default=0)
    email_error = models.CharField("dernière erreur d'envoi", max_length=300, blank=True)
    email_next_attempt_at = models.DateTimeField("prochain essai", null=True, blank=True)
    email_sent_at = models.DateTimeField("e-mail parti le", null=True, blank=True)
    received_at = models.DateTimeField("reçue le", null=True, blank=True)
    cancelled_at = models.DateTimeField("annulée le", null=True, blank=True)

    class Meta:
        verbose_name = "bon de commande"
        verbose_name_plural = "bons de commande"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "sent", "partial", "received", "cancelled"]),
                name="purchase_order_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "cancelled"]) | Q(sent_at__isnull=False),
                name="purchase_order_sent_at",
            ),
        ]

    def __str__(self):
        return f"Bon n° {self.pk} — {self.supplier} pour {self.pizzeria}"

    @property
    def number(self) -> str:
        return f"{self.pk:05d}"


class PurchaseOrderLine(models.Model):
    """One ingredient of a purchase order, in packs, with the pack as the supplier sold it that day."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    ingredient = models.ForeignKey(
        Ingredient, on_delete=models.PROTECT, related_name="purchase_lines", verbose_name="ingrédient"
    )
    reference = models.CharField("référence fournisseur", max_length=40, blank=True)
    pack_label = models.CharField("conditionnement", max_length=60)
    pack_size = models.PositiveIntegerField("quantité par colis")
    pack_price = models.DecimalField("prix du colis HT", max_digits=8, decimal_places=2)
    suggested_packs = models.PositiveIntegerField("colis suggérés", default=0)
    # 0 on a draft: an item of the supplier not ordered this time (sending drops such lines).
    packs = models.PositiveIntegerField("colis commandés")
    packs_received = models.PositiveIntegerField("colis reçus", default=0)

    class Meta:
        verbose_name = "ligne de bon de commande"
        verbose_name_plural = "lignes de bon de commande"
        ordering = ["order", "ingredient__name"]
        constraints = [
            models.CheckConstraint(condition=Q(pack_size__gt=0), name="purchase_line_pack_size_gt_0"),
            models.UniqueConstraint(fields=["order", "ingredient"], name="purchase_line_unique_ingredient"),
        ]

    def __str__(self):
        return f"{self.packs} × {self.pack_label} {self.ingredient}"

    @property
    def quantity(self) -> int:
        return self.packs * self.pack_size

    @property
    def packs_missing(self) -> int:
        return max(self.packs - self.packs_received, 0)

    @property
    def total(self) -> Decimal:
        return self.pack_price * self.packs
