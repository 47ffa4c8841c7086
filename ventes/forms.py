"""Forms of the shop. They check the shape of what is posted; the order
services check the rest (menu, stock, opening hours, delivery zone) and their
typed errors are shown beside the matching field."""

import datetime
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import phonenumbers
from django import forms
from django.conf import settings
from django.forms.boundfield import BoundWidget
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ocpizzapp.exceptions import BusinessError
from ocpizzapp.forms import AsciiIntegerField, ascii_digits
from production.models import Pizzeria

from . import sms
from .capacity import SlotRoom
from .models import STAFF_REFUND_REASONS, Address, CancelReason, Channel, Fulfilment, OrderLine, PaymentMethod
from .services import AnyLineRequest, DeliveryAddress, line_request_of

AT_DOOR_CHOICES = [
    (PaymentMethod.CASH, "Espèces"),
    (PaymentMethod.CARD, "Carte bancaire à la livraison / au comptoir"),
    (PaymentMethod.MEAL_VOUCHER, "Titre-restaurant"),
]
ONLINE_CHOICE = (PaymentMethod.ONLINE_CARD, "Carte bancaire en ligne, maintenant (paiement sécurisé)")
WHEN_CHOICES = [("asap", "Dès que possible"), ("slot", "À un créneau précis")]
SLOT_FORMAT = "%Y-%m-%dT%H:%M"
# More options than any product offers: a post beyond it is not a customer's.
MAX_OPTIONS = 30
# Order-service error fields → form fields; anything else goes to the top of the form.
SERVICE_FIELDS = {
    "requested_for": "slot",
    "customer_name": "customer_name",
    "customer_phone": "customer_phone",
    "delivery_address": "address_line",
    "payment_method": "payment_method",
}


def _quantity_field(*, min_value: int = 1, required: bool = True) -> AsciiIntegerField:
    maximum = settings.OCPIZZA["MAX_LINE_QUANTITY"]
    return AsciiIntegerField(
        label="Quantité",
        min_value=min_value,
        max_value=maximum,
        required=required,
        error_messages={
            "required": "Indiquez une quantité.",
            "invalid": "La quantité doit être un nombre entier. Tapez-la avec les chiffres 0 à 9.",
            "min_value": f"La quantité doit être d'au moins {min_value}.",
            "max_value": f"Au plus {maximum} exemplaires d'un même produit.",
        },
    )


def _option_ids(data) -> tuple[int, ...]:
    """The options posted (``option``, repeated), or ValidationError: ids only, and not more than any product has."""
    options = data.getlist("option") if hasattr(data, "getlist") else []
    if len(options) > MAX_OPTIONS or not all(option.isascii() and option.isdigit() for option in options):
        raise forms.ValidationError("Option inconnue.")
    return tuple(int(option) for option in options)


class ConfigureForm(forms.Form):
    """The configurator: a size and options, a quantity when it adds to the cart; ``replace`` empties a cart
    of another pizzeria first."""

    size = AsciiIntegerField(required=False, error_messages={"invalid": "Taille inconnue."})
    half = AsciiIntegerField(required=False, error_messages={"invalid": "Pizza inconnue."})
    quantity = _quantity_field()
    replace = forms.BooleanField(required=False, label="Vider mon panier de l'autre pizzeria et commencer ici")

    def clean(self):
        cleaned = cast(dict[str, Any], super().clean())
        cleaned["options"] = _option_ids(self.data)
        return cleaned


class CartAddForm(forms.Form):
    """A product as the menu's add button or its configurator sends it: a size, options (``option``, repeated)."""

    pizzeria = AsciiIntegerField(widget=forms.HiddenInput, error_messages={"invalid": "Pizzeria inconnue."})
    product = AsciiIntegerField(widget=forms.HiddenInput, error_messages={"invalid": "Produit inconnu."})
    size = AsciiIntegerField(required=False, error_messages={"invalid": "Taille inconnue."})
    half = AsciiIntegerField(required=False, error_messages={"invalid": "Pizza inconnue."})
    quantity = _quantity_field()
    replace = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = cast(dict[str, Any], super().clean())
        cleaned["options"] = _option_ids(self.data)
        return cleaned


class FormulaAddForm(forms.Form):
    """A formula as the menu's form sends it: one ``choice-<slot>`` per slot (a ``FormulaChoice`` id)."""

    pizzeria = AsciiIntegerField(widget=forms.HiddenInput, error_messages={"invalid": "Pizzeria inconnue."})
    formula = AsciiIntegerField(widget=forms.HiddenInput, error_messages={"invalid": "Formule inconnue."})
    quantity = _quantity_field()
    replace = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = cast(dict[str, Any], super().clean())
        cleaned["choices"] = formula_choice_ids(self.data)
        return cleaned


def formula_choice_ids(data, prefix: str = "choice-") -> tuple[int, ...]:
    """The choices posted as ``<prefix><slot>`` fields, or ValidationError: ids only, a few at most."""
    values = [value for name, value in data.items() if name.startswith(prefix) and value != ""]
    if len(values) > MAX_OPTIONS or not all(value.isascii() and value.isdigit() for value in values):
        raise forms.ValidationError("Choix inconnu.")
    return tuple(int(value) for value in values)


class CartQuantityForm(forms.Form):
    quantity = _quantity_field()


class SlotSelect(forms.Widget):
    """The list of slots: every quarter hour of two days, often more than a hundred options.

    Built here, and only when it is shown: through the form templates (two
    template includes per option) this one field took most of the checkout page's time.
    A slot without room for ``load`` more is shown full; a customer cannot pick
    it (``load`` is the cart's), the staff can (``load`` None: full means no room at all).
    """

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.slots: list[SlotRoom] = []
        self.load: int | None = None

    def render(self, name, value, attrs=None, renderer=None):
        here = timezone.get_current_timezone()
        today = timezone.localdate()
        options = ['<option value=""{}>—</option>'.format("" if value else " selected")]
        day, day_short = None, ""
        for room in self.slots:
            t = room.at.astimezone(here)
            if t.date() != day:
                # One group per day, so that « 19h30 » is read with its day.
                if day is not None:
                    options.append("</optgroup>")
                day = t.date()
                options.append(f'<optgroup label="{_day_label(day, today=today)}">')
                day_short = _day_short(day, today=today)
            # SLOT_FORMAT, from integers (strftime is several times slower); nothing else is written out.
            option = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}"
            selected = " selected" if option == value else ""
            # The day again in each option: a closed list shows only the option chosen.
            label = f"{day_short} {t.hour:02d}h{t.minute:02d}"
            if self.load is None:
                full = "" if room.remaining else " — complet"
            else:
                full = "" if room.fits(self.load) else " — complet"
                selected += " disabled" if full else ""
            options.append(f'<option value="{option}"{selected}>{label}{full}</option>')
        if day is not None:
            options.append("</optgroup>")
        return format_html(
            '<select name="{}"{}>\n{}\n</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            mark_safe("\n".join(options)),
        )


WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def _day_short(day: datetime.date, *, today: datetime.date) -> str:
    if day == today:
        return "Aujourd'hui"
    if day == today + datetime.timedelta(days=1):
        return "Demain"
    return f"{WEEKDAYS[day.weekday()][:3].capitalize()}. {day.day:02d}/{day.month:02d}"


def _day_label(day: datetime.date, *, today: datetime.date) -> str:
    named = {today: "Aujourd'hui", today + datetime.timedelta(days=1): "Demain"}.get(day)
    date = f"{WEEKDAYS[day.weekday()]} {day.day:02d}/{day.month:02d}"
    return f"{named}, {date}" if named else date.capitalize()


def parse_slot(value: str) -> datetime.datetime | None:
    try:
        naive = datetime.datetime.strptime(value, SLOT_FORMAT)
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(naive)


INVALID_PHONE = "Ce numéro de téléphone n'est pas valable. Exemple : 06 12 34 56 78."


class OrderDetailsForm(forms.Form):
    """What web and staff orders share: who, how, when and how it is paid."""

    customer_name = forms.CharField(label="Nom", max_length=100, error_messages={"required": "Indiquez votre nom."})
    customer_phone = forms.CharField(
        label="Téléphone", max_length=20, error_messages={"required": "Indiquez un numéro de téléphone."}
    )
    fulfilment = forms.ChoiceField(
        label="Mode",
        choices=[(Fulfilment.DELIVERY, "Livraison"), (Fulfilment.PICKUP, "À emporter")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez livraison ou à emporter.", "invalid_choice": "Mode inconnu."},
    )
    address_line = forms.CharField(label="Adresse de livraison", max_length=200, required=False)
    address_postcode = forms.CharField(label="Code postal", max_length=5, required=False)
    address_city = forms.CharField(label="Ville", max_length=100, required=False, initial="Paris")
    address_instructions = forms.CharField(label="Instructions au livreur", max_length=200, required=False)
    when = forms.ChoiceField(label="Quand", choices=WHEN_CHOICES, widget=forms.RadioSelect, initial="asap")
    slot = forms.CharField(label="Créneau", required=False, widget=SlotSelect)
    payment_method = forms.ChoiceField(
        label="Paiement",
        choices=AT_DOOR_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez un moyen de paiement.", "invalid_choice": "Moyen de paiement inconnu."},
    )
    note = forms.CharField(label="Remarque", max_length=300, required=False)

    def __init__(
        self, *args, pizzeria: Pizzeria, slots: list[SlotRoom], load: int | None = None, asap: bool = True, **kwargs
    ):
        """``load``: the oven load of the cart, when known as the form is shown (see ``SlotSelect``). ``asap``
        False (a pizzeria closed or paused now): no « dès que possible », the first slot with room chosen."""
        super().__init__(*args, **kwargs)
        self.pizzeria = pizzeria
        self.fields["slot"].widget.slots = slots
        self.fields["slot"].widget.load = load
        self.asap_offered = asap
        if not asap:
            # Only shown: an « asap » sent anyway is refused by order_place, with why.
            when = self.fields["when"]
            cast(forms.RadioSelect, when.widget).choices = [choice for choice in WHEN_CHOICES if choice[0] != "asap"]
            when.initial = "slot"
            first = next((room for room in slots if load is None or room.fits(load)), None)
            if first is not None:
                self.fields["slot"].initial = timezone.localtime(first.at).strftime(SLOT_FORMAT)
        phone = cast(forms.TextInput, self.fields["customer_phone"].widget)
        phone.input_type = "tel"
        phone.attrs["inputmode"] = "tel"
        for name, field in self.fields.items():
            if not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_error")

    def clean_customer_phone(self) -> str:
        """A number that exists (French without its country code); what the rider calls if he must."""
        phone = self.cleaned_data["customer_phone"].strip()
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(phone, settings.PHONENUMBER_DEFAULT_REGION))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            raise forms.ValidationError(INVALID_PHONE)
        return phone

    def clean_slot(self):
        value = self.cleaned_data.get("slot", "")
        if not value:
            return None
        slot = parse_slot(value)
        if slot is None:
            raise forms.ValidationError("Créneau invalide.")
        return slot

    def saved_address(self):
        return None

    def clean(self) -> dict[str, Any]:
        """The shape of the answers; whether the pizzeria delivers there is ``order_place``'s to say."""
        cleaned = super().clean() or self.cleaned_data
        if cleaned.get("when") == "slot" and not cleaned.get("slot") and "slot" not in self.errors:
            self.add_error("slot", "Choisissez un créneau.")
        # A saved address refused says so beside the address book; the fields of another address wait.
        if (
            cleaned.get("fulfilment") == Fulfilment.DELIVERY
            and not self.saved_address()
            and "saved_address_id" not in self.errors
        ):
            line, postcode = cleaned.get("address_line", "").strip(), cleaned.get("address_postcode", "").strip()
            if not line:
                self.add_error("address_line", "Indiquez l'adresse de livraison.")
            if not (ascii_digits(postcode) and len(postcode) == 5):
                self.add_error("address_postcode", "Le code postal compte 5 chiffres.")
        return cleaned

    def requested_for(self) -> datetime.datetime | None:
        return self.cleaned_data["slot"] if self.cleaned_data["when"] == "slot" else None

    def delivery_address(self) -> DeliveryAddress | None:
        if self.cleaned_data["fulfilment"] != Fulfilment.DELIVERY:
            return None
        address = self.saved_address()
        if address is not None:
            line = f"{address.line1}, {address.line2}" if address.line2 else address.line1
            return DeliveryAddress(
                line=line,
                postcode=address.postcode,
                city=address.city,
                instructions=self.cleaned_data["address_instructions"] or address.instructions,
                latitude=address.latitude,
                longitude=address.longitude,
            )
        return DeliveryAddress(
            line=self.cleaned_data["address_line"].strip(),
            postcode=self.cleaned_data["address_postcode"].strip(),
            city=self.cleaned_data["address_city"].strip() or "Paris",
            instructions=self.cleaned_data["address_instructions"].strip(),
        )

    def add_service_error(self, error: BusinessError) -> None:
        """Show an order-service error beside its field, or at the top of the form.

        A time refused for an order « dès que possible » goes beside that choice (the slot list is hidden then), a
        saved address refused beside the address book.
        """
        field = getattr(error, "field", None) or error.details.get("field")
        name = SERVICE_FIELDS.get(field) if field else None
        if name == "slot" and self.asap_offered and self.cleaned_data.get("when") == "asap":
            name = "when"
        if name == "address_line" and self.saved_address() is not None:
            name = "saved_address_id"  # the saved address refused: the fields of another one are hidden
        self.add_error(name, error.message)

    def timing_refused(self) -> bool:
        """Whether the time asked was refused: its error then says what a notice about the hours would."""
        return bool(self.errors.get("slot") or self.errors.get("when"))


# The browser's own autofill (and a password manager's) for each field of the checkout.
CHECKOUT_AUTOCOMPLETE = {
    "customer_name": "name",
    "customer_phone": "tel",
    "customer_email": "email",
    "address_line": "street-address",
    "address_postcode": "postal-code",
    "address_city": "address-level2",
    "address_instructions": "off",
    "note": "off",
}


class CheckoutForm(OrderDetailsForm):
    """The customer's checkout. A signed-in customer's saved addresses are offered as cards; choosing one
    delivers there (the fields of another address are then hidden by the style sheet)."""

    customer_email = forms.EmailField(
        label="E-mail",
        error_messages={"required": "Indiquez votre e-mail.", "invalid": "Cette adresse e-mail n'est pas valable."},
    )
    saved_address_id = forms.TypedChoiceField(
        label="Livrer à", coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )
    # Offered when SMS are on (ventes/sms.py). Choosing SMS is the consent, recorded with its date on the order.
    notify_by = forms.ChoiceField(
        label="Suivi de la commande",
        choices=[("email", "Par e-mail"), ("sms", "Par SMS"), ("both", "Par e-mail et par SMS")],
        widget=forms.RadioSelect,
        initial="email",
        help_text="Par SMS : au numéro ci-dessus, pour cette commande seulement.",
        error_messages={"required": "Choisissez comment suivre votre commande.", "invalid_choice": "Choix inconnu."},
    )
    token = forms.CharField(widget=forms.HiddenInput)
    field_order = ["customer_name", "customer_phone", "customer_email", "notify_by", "fulfilment", "saved_address_id"]

    def __init__(self, *args, addresses=(), online_payment=False, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if not sms.sms_enabled():
            del self.fields["notify_by"]
        self.offers_online_payment = online_payment
        if online_payment:
            cast(forms.ChoiceField, self.fields["payment_method"]).choices = [ONLINE_CHOICE, *AT_DOOR_CHOICES]
        self.addresses = {address.pk: address for address in addresses}
        if self.addresses:
            saved = cast(forms.ChoiceField, self.fields["saved_address_id"])
            saved.choices = [(pk, address.label) for pk, address in self.addresses.items()] + [
                ("", "Une autre adresse")
            ]
            saved.initial = next(iter(self.addresses))
            saved.error_messages["invalid_choice"] = "Cette adresse n'est pas dans votre carnet."
        else:
            del self.fields["saved_address_id"]
        for name, token in CHECKOUT_AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["address_postcode"].widget.attrs["inputmode"] = "numeric"

    def address_cards(self) -> Iterator[tuple[BoundWidget, Address | None]]:
        """Each choice of the address book with its saved address (None: another address, typed below)."""
        for choice in self["saved_address_id"]:
            yield choice, self.addresses.get(choice.data["value"])

    def saved_address(self):
        saved_id = self.cleaned_data.get("saved_address_id")
        return None if saved_id is None else self.addresses.get(saved_id)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("notify_by") in {"sms", "both"} and cleaned.get("customer_phone"):
            try:
                cleaned["sms_phone"] = sms.sms_number(cleaned["customer_phone"])
            except sms.InvalidMobile as error:
                self.add_error("customer_phone", error.message)
        return cleaned

    def notify_email(self) -> bool:
        return self.cleaned_data.get("notify_by", "email") in {"email", "both"}

    def sms_phone(self) -> str:
        return self.cleaned_data.get("sms_phone", "")


class StaffOrderForm(OrderDetailsForm):
    channel = forms.ChoiceField(
        label="Commande prise",
        choices=[(Channel.PHONE, "Au téléphone"), (Channel.COUNTER, "Au comptoir")],
        widget=forms.RadioSelect,
        initial=Channel.PHONE,
        error_messages={"required": "Téléphone ou comptoir ?", "invalid_choice": "Canal inconnu."},
    )
    token = forms.CharField(widget=forms.HiddenInput)
    override_capacity = forms.BooleanField(
        label="Prendre la commande même si le créneau est complet (la cuisine en sera avertie)", required=False
    )

    def __init__(self, *args, products=(), configured_lines: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_name"].error_messages["required"] = "Indiquez le nom du client."
        self.products = list(products)
        self.configured_lines = configured_lines  # lines configured beforehand, kept in the operator's cart
        for product in self.products:
            field = _quantity_field(min_value=0, required=False)
            field.label = product.name
            self.fields[f"qty_{product.pk}"] = field

    def quantity_fields(self):
        return [self[f"qty_{product.pk}"] for product in self.products]

    def quantities(self) -> dict[int, int]:
        return {
            product.pk: self.cleaned_data[f"qty_{product.pk}"]
            for product in self.products
            if self.cleaned_data.get(f"qty_{product.pk}")
        }

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.quantities() and not self.configured_lines:
            self.add_error(None, "Ajoutez au moins un produit.")
        return cleaned


@dataclass(frozen=True)
class DraftLine:
    """A line of the edit page's draft, or a menu card: its quantity field, its row, how many the draft has, and
    how many more the stock allows (None: no limit), told only when few are left (``low``)."""

    field: forms.BoundField
    row: Any
    quantity: int
    more: int | None

    @property
    def low(self) -> bool:
        return self.more is not None and self.more <= settings.OCPIZZA["LOW_AVAILABILITY"]


class EditLinesForm(forms.Form):
    """An order's lines as its customer changes them: a quantity per line (its options kept) and per product of
    the menu as it comes; 0, or no quantity, leaves it out.

    The page's steppers, « Retirer » and the menu cards' « Ajouter » post the whole draft with one change asked
    (``STEPS``: the step's name, the quantity's field as its value): the page comes back with the change made
    and nothing written. Posted without a step, the draft is the order's new lines.
    """

    # Not « remove » nor any other name of a form's own methods, which a button of that name would hide from scripts.
    STEPS = ("more", "fewer", "drop", "add")

    def __init__(self, *args, rows=(), sections=(), draft: dict[str, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = {self.field_name(row.key): row for row in rows}
        self.sections = list(sections)
        self.quantities: dict[str, int] = {}
        for name, row in self.rows.items():
            field = _quantity_field(min_value=0, required=False)
            field.label = row.label
            field.initial = row.quantity if draft is None else draft.get(name, 0)
            self.fields[name] = field

    @staticmethod
    def field_name(key: str) -> str:
        return "qty_" + key.replace(":", "-").replace(",", "_")

    def step(self) -> tuple[str, str] | None:
        """The change asked as (step, quantity's field), or None when the draft is to be saved."""
        for step in self.STEPS:
            if (name := self.data.get(step)) is not None:
                return step, name
        return None

    def stepped(self) -> "EditLinesForm":
        """The draft with its step made, as a new form; this one with the refusal beside its field when the
        step asks for more than can be had. Call on a valid form."""
        step, name = self.step() or ("", "")
        draft = {field: quantity for field, quantity in self.cleaned_data.items() if quantity}
        row = self.rows.get(name)
        if row is not None:
            now = draft.get(name, 0)
            wanted = now + 1 if step in {"more", "add"} else max(now - 1, 0) if step == "fewer" else 0
            if wanted > now and (refusal := self._refusal(row, wanted)):
                self.add_error(name, refusal)
                return self
            draft[name] = wanted
        # A card gone from the menu since the page was drawn: the draft as it was.
        return EditLinesForm(rows=self.rows.values(), sections=self.sections, draft=draft)

    @staticmethod
    def _refusal(row, wanted: int) -> str:
        maximum = settings.OCPIZZA["MAX_LINE_QUANTITY"]
        if not row.sellable:
            return "Ce produit n'est plus proposé ainsi : vous pouvez seulement le retirer."
        if wanted > maximum:
            return f"Au plus {maximum} exemplaires d'un même produit."
        if row.most is not None and wanted > row.most:
            if row.most == 0:
                return f"{row.name} : épuisé pour le moment."
            return f"{row.name} : pas plus de {row.most}, c'est tout ce que la pizzeria peut encore faire."
        return ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Read once, before a refusal set beside a field takes its quantity out of ``cleaned_data``.
        self.quantities = {name: cleaned.get(name) or 0 for name in self.rows if name in cleaned}
        return cleaned

    def quantity(self, name: str) -> int:
        """The draft's quantity of a field as the page stands (0 for one it cannot read)."""
        if not self.is_bound:
            return self.fields[name].initial or 0
        _ = self.errors  # the form cleaned, once: its quantities read
        return self.quantities.get(name, 0)

    def in_draft(self, name: str) -> bool:
        """Whether the page shows this field as a line: it is in the draft, or its quantity was mistyped."""
        return (self.is_bound and name in self.data and name in self.errors) or self.quantity(name) > 0

    def _draft_line(self, name: str, row) -> "DraftLine":
        quantity = self.quantity(name)
        more = None if row.most is None else max(row.most - quantity, 0)
        return DraftLine(self[name], row, quantity, more)

    def lines(self) -> list["DraftLine"]:
        """The draft's lines as the page shows them, the order's own first."""
        return [self._draft_line(name, row) for name, row in self.rows.items() if self.in_draft(name)]

    def cards(self) -> list[tuple[str, list["DraftLine"]]]:
        """The menu's cards of what can be added, by category, each with how many of it the draft has."""
        return [
            (section.label, [self._draft_line(self.field_name(row.key), row) for row in section.rows])
            for section in self.sections
        ]

    def total(self) -> Decimal:
        """What the draft's products come to at today's prices (delivery aside)."""
        return sum((row.unit_price * self.quantity(name) for name, row in self.rows.items()), Decimal("0"))

    def add_order_error(self, error: BusinessError) -> None:
        """The service's refusal: each short product's share beside its line, the rest above the lines."""
        shortages = getattr(error, "shortages", None) or []
        lines = {row.product.pk: name for name, row in self.rows.items() if row.product and self.in_draft(name)}
        placed = False
        for shortage in shortages:
            if (name := lines.get(shortage.product_id)) is not None:
                said = f"plus que {shortage.available}" if shortage.available else "épuisé"
                self.add_error(name, f"{shortage.product_name} : {said}.")
                placed = True
        if not placed:
            self.add_error(None, error.message)

    def line_requests(self) -> list[AnyLineRequest]:
        requests = []
        for name, row in self.rows.items():
            quantity = self.cleaned_data.get(name)
            if quantity and (request := line_request_of(row.key, quantity)) is not None:
                requests.append(request)
        return requests


# The reasons a customer gives, each a button that cancels at once; « Autre » may say more in a few words.
CUSTOMER_CANCEL_REASONS = [
    ("changed_mind", "J'ai changé d'avis"),
    ("too_long", "Délai trop long"),
    ("mistake", "Erreur dans la commande"),
    ("other", "Autre raison"),
]
# What the staff may give as the reason: everything but what the platform alone decides.
STAFF_CANCEL_REASONS = [choice for choice in CancelReason.choices if choice[0] != CancelReason.PAYMENT_EXPIRED]


class CancelForm(forms.Form):
    """A cancellation in one tap: the customer's reason (``reason``), or the staff's motive (``cancel_reason``),
    posted by the button chosen; ``detail``: a few optional words, the customer's for « Autre » only."""

    reason = forms.ChoiceField(
        label="Pourquoi annulez-vous ?",
        choices=CUSTOMER_CANCEL_REASONS,
        error_messages={
            "required": "Choisissez pourquoi vous annulez.",
            "invalid_choice": "Choisissez une des raisons proposées.",
        },
    )
    cancel_reason = forms.ChoiceField(
        label="Motif",
        choices=STAFF_CANCEL_REASONS,
        error_messages={
            "required": "Choisissez le motif de l'annulation.",
            "invalid_choice": "Choisissez un des motifs proposés.",
        },
    )
    detail = forms.CharField(
        label="Précisez (facultatif)",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "aria-describedby": "id_detail_error"}),
        error_messages={"max_length": "Au plus 300 caractères."},
    )

    def __init__(self, *args, staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        del self.fields["reason" if staff else "cancel_reason"]

    def note(self) -> str:
        """What the order's history keeps: the reason in words, and what was said of it."""
        detail = self.cleaned_data["detail"].strip()
        if self.staff:
            return detail
        said = dict(CUSTOMER_CANCEL_REASONS)[self.cleaned_data["reason"]]
        if self.cleaned_data["reason"] == "other" and detail:
            return f"{said} : {detail}"
        return said


class AddressSearchForm(forms.Form):
    adresse = forms.CharField(label="Votre adresse", max_length=200, required=False)
    code_postal = forms.CharField(
        label="Code postal", max_length=5, error_messages={"required": "Indiquez votre code postal."}
    )

    def clean_code_postal(self):
        postcode = self.cleaned_data["code_postal"].strip()
        if not (ascii_digits(postcode) and len(postcode) == 5):
            raise forms.ValidationError("Le code postal compte 5 chiffres.")
        return postcode


AMOUNT_PATTERN = re.compile(r"[0-9]{1,6}(?:[.,][0-9]{1,2})?", re.ASCII)


class RefundForm(forms.Form):
    """A manager's refund: everything left, some products, or an amount, with a reason from the list."""

    SCOPES = [("all", "Tout ce qui reste payé"), ("lines", "Certains produits"), ("amount", "Un montant")]

    scope = forms.ChoiceField(label="Rembourser", choices=SCOPES, initial="all", widget=forms.RadioSelect)
    amount = forms.CharField(
        label="Montant en euros",
        required=False,
        max_length=10,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "aria-describedby": "id_amount_error"}
        ),
    )
    reason = forms.ChoiceField(
        label="Motif",
        choices=[(reason.value, reason.label.capitalize()) for reason in STAFF_REFUND_REASONS],
        error_messages={"required": "Choisissez le motif du remboursement.", "invalid_choice": "Motif inconnu."},
    )
    note = forms.CharField(label="Remarque (facultatif)", required=False, max_length=300)

    def __init__(self, *args: Any, lines: Sequence[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            # A choice list accepts exactly the quantities that exist, typed in ASCII digits only.
            self.fields[f"line_{line.pk}"] = forms.ChoiceField(
                label=f"{line.product_name} ({number_format(line.unit_price, 2)} € pièce)",
                choices=[(str(n), str(n)) for n in range(line.quantity + 1)],
                initial="0",
                required=False,
            )

    def line_fields(self) -> list[forms.BoundField]:
        return [self[f"line_{line.pk}"] for line in self.lines]

    def clean_amount(self) -> Decimal | None:
        raw = self.cleaned_data["amount"].strip()
        if not raw:
            return None
        if not AMOUNT_PATTERN.fullmatch(raw):
            raise forms.ValidationError("Indiquez un montant en euros, par exemple 4,50.")
        return Decimal(raw.replace(",", "."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        scope = data.get("scope")
        if scope == "amount" and not data.get("amount"):
            self.add_error("amount", "Indiquez le montant à rembourser.")
        if scope == "lines" and not any(int(data.get(f"line_{line.pk}") or 0) for line in self.lines):
            self.add_error(None, "Choisissez au moins un produit à rembourser.")
        return data

    def refund_lines(self) -> dict[int, int] | None:
        if self.cleaned_data["scope"] != "lines":
            return None
        quantities = {line.pk: int(self.cleaned_data.get(f"line_{line.pk}") or 0) for line in self.lines}
        return {pk: quantity for pk, quantity in quantities.items() if quantity}

    def refund_amount(self) -> Decimal | None:
        return self.cleaned_data["amount"] if self.cleaned_data["scope"] == "amount" else None
