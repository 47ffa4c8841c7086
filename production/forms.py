"""Forms of the staff screens; they only check input, services do the writes."""

import datetime
from typing import cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ocpizzapp.forms import AsciiIntegerField
from ventes.reports import DAY, GRANULARITIES, MAX_DAYS

from .models import BUSY_STEPS, Ingredient, Pizzeria, PurchaseOrderLine, Stock, StockMovement
from .selectors import pizzeria_list, staff_member_for


class AccessibleErrorsMixin(forms.BaseForm):
    """Point each invalid input at its error message (rendered with id ``<field id>_error``)."""

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"{self[name].auto_id}_error"}
                )


class StaffLoginForm(AccessibleErrorsMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": "E-mail ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
        "not_staff": "Ce compte n'a pas accès à l'espace équipe.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})
        self.fields["password"].label = "Mot de passe"

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if staff_member_for(user=user) is None:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class StockMoveForm(AccessibleErrorsMixin, forms.Form):
    """A restock, an inventory count or a waste on one stock line."""

    LABELS = {
        StockMovement.RESTOCK: "Quantité reçue",
        StockMovement.INVENTORY: "Quantité comptée",
        StockMovement.WASTE: "Quantité jetée",
    }
    KINDS = tuple(LABELS)

    note = forms.CharField(label="Remarque", max_length=200, required=False)
    field_order = ["quantity", "note"]

    def __init__(self, data: QueryDict | None = None, *, kind: str, can_override: bool = False):
        super().__init__(data, prefix=kind)
        self.kind = kind
        # An empty shelf is a valid count; a delivery or a waste of nothing is not.
        self.fields["quantity"] = AsciiIntegerField(
            label=self.LABELS[kind], min_value=0 if kind == StockMovement.INVENTORY else 1, max_value=1_000_000
        )
        if kind == StockMovement.WASTE and can_override:
            # Only a manager may throw away what orders hold (the service checks it again).
            self.fields["override"] = forms.BooleanField(
                label="Forcer : jeter aussi du stock réservé par des commandes", required=False
            )
        self.order_fields(self.field_order)


class StockTransferForm(AccessibleErrorsMixin, forms.Form):
    """Stock of one line sent to another pizzeria (managers)."""

    destination = forms.ModelChoiceField(
        label="Vers",
        queryset=Pizzeria.objects.none(),
        empty_label="Choisir une pizzeria",
        error_messages={"invalid_choice": "Choisissez une pizzeria de la liste."},
    )
    quantity = AsciiIntegerField(label="Quantité envoyée", min_value=1, max_value=1_000_000)
    note = forms.CharField(label="Remarque", max_length=200, required=False)

    def __init__(self, data: QueryDict | None = None, *, source: Pizzeria):
        super().__init__(data, prefix="transfer")
        self.fields["destination"].queryset = pizzeria_list().exclude(pk=source.pk)  # type: ignore[attr-defined]


class IngredientCostForm(AccessibleErrorsMixin, forms.Form):
    """An ingredient's price from a day on, per kilo, litre or piece as suppliers quote it (managers)."""

    ingredient = forms.ModelChoiceField(
        label="Ingrédient",
        queryset=Ingredient.objects.order_by("name"),
        empty_label="Choisir un ingrédient",
        error_messages={"invalid_choice": "Choisissez un ingrédient de la liste."},
    )
    price = forms.DecimalField(
        label="Prix HT (au kg, au litre ou à la pièce)",
        min_value=0,
        max_digits=10,
        decimal_places=4,
        localize=True,
        error_messages={"invalid": "Saisissez un montant, par exemple 12,50."},
    )
    valid_from = forms.DateField(
        label="À partir du",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Saisissez une date, par exemple 2026-12-01."},
    )

    def __init__(self, data: QueryDict | None = None, *, today):
        super().__init__(data, initial={"valid_from": today}, prefix="cost")


class MenuOverrideForm(forms.Form):
    """A manager's own price or withdrawal, at their pizzeria, of one row of the menu (a product, a size or an
    option): an empty price is the chain's."""

    product = AsciiIntegerField(widget=forms.HiddenInput, error_messages={"invalid": "Produit inconnu."})
    size = AsciiIntegerField(required=False, widget=forms.HiddenInput, error_messages={"invalid": "Taille inconnue."})
    option = AsciiIntegerField(required=False, widget=forms.HiddenInput, error_messages={"invalid": "Option inconnue."})
    price = forms.DecimalField(
        label="Prix ici",
        required=False,
        max_digits=6,
        decimal_places=2,
        localize=True,
        error_messages={
            "invalid": "Saisissez un montant, par exemple 12,50.",
            "max_digits": "Le prix s'écrit en euros et centimes, par exemple 12,50.",
            "max_decimal_places": "Le prix s'écrit en euros et centimes, par exemple 12,50.",
            "max_whole_digits": "Le prix s'écrit en euros et centimes, par exemple 12,50.",
        },
    )
    withdrawn = forms.BooleanField(label="Retiré ici", required=False)


def _end_field() -> forms.TimeField:
    return forms.TimeField(
        label="Jusqu'à",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Indiquez une heure, par exemple 21:30."},
    )


# An end earlier in the day than now is taken for tomorrow only this close (a pause past midnight).
NEXT_DAY_WITHIN = datetime.timedelta(hours=12)


class _PaceForm(forms.Form):
    until = _end_field()

    def end(self, *, now: datetime.datetime) -> datetime.datetime | None:
        """The end typed as a time of day, as a moment: today, or tonight after midnight."""
        time = self.cleaned_data.get("until")
        if time is None:
            return None
        local = timezone.localtime(now)
        end = timezone.make_aware(datetime.datetime.combine(local.date(), time))
        if end <= now and end + datetime.timedelta(days=1) - now <= NEXT_DAY_WITHIN:
            end += datetime.timedelta(days=1)
        return end


class PauseForm(_PaceForm):
    accepting = forms.TypedChoiceField(choices=[("1", "reprendre"), ("0", "pause")], coerce=lambda v: v == "1")


class BusyForm(_PaceForm):
    minutes = forms.TypedChoiceField(
        label="Coup de feu",
        choices=[(str(step), f"+{step} min" if step else "Fin") for step in BUSY_STEPS],
        coerce=int,
        error_messages={"invalid_choice": "Choisissez +10, +20 ou +30 minutes.", "required": "Choisissez une durée."},
    )


CHAIN = "chaine"


class OpeningExceptionForm(AccessibleErrorsMixin, forms.Form):
    """A dated change of hours: closed all day, or special hours (closing before opening: the next day)."""

    scope = forms.ChoiceField(label="Pour")
    day = forms.DateField(
        label="Jour",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Saisissez une date, par exemple 2026-12-24.", "required": "Indiquez le jour."},
    )
    closed = forms.BooleanField(label="Fermée toute la journée", required=False)
    opens = forms.TimeField(
        label="Ouverture",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Indiquez une heure, par exemple 18:00."},
    )
    closes = forms.TimeField(
        label="Fermeture",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Indiquez une heure, par exemple 01:00."},
    )
    label = forms.CharField(label="Motif", max_length=100, required=False)

    def __init__(self, data: QueryDict | None = None, *, pizzerias, chain: bool, today: datetime.date):
        super().__init__(data, prefix="exception")
        self.today = today
        self.pizzerias = {pizzeria.slug: pizzeria for pizzeria in pizzerias}
        chain_choice = [(CHAIN, "Toute la chaîne")] if chain else []
        cast(forms.ChoiceField, self.fields["scope"]).choices = chain_choice + [
            (slug, p.name) for slug, p in self.pizzerias.items()
        ]
        self.fields["scope"].error_messages["invalid_choice"] = "Choisissez une pizzeria de la liste."
        self.fields["day"].widget.attrs["min"] = today.isoformat()

    def clean_day(self) -> datetime.date:
        day = self.cleaned_data["day"]
        if day < self.today:
            raise forms.ValidationError("Ce jour est déjà passé.")
        return day

    def clean(self):
        cleaned = super().clean() or {}
        if not cleaned.get("closed") and "opens" not in self.errors and "closes" not in self.errors:
            for name, what in (("opens", "l'ouverture"), ("closes", "la fermeture")):
                if cleaned.get(name) is None:
                    self.add_error(name, f"Indiquez {what}, ou cochez « fermée toute la journée ».")
        return cleaned

    @property
    def pizzeria(self) -> Pizzeria | None:
        """The pizzeria chosen, None for the whole chain."""
        return self.pizzerias.get(self.cleaned_data["scope"])


class OpeningExceptionRemoveForm(forms.Form):
    """Which exception goes: the pizzeria's own, or the chain's, on a day."""

    scope = forms.ChoiceField()
    day = forms.DateField()

    def __init__(self, data: QueryDict | None = None, *, pizzerias, chain: bool):
        super().__init__(data)
        self.pizzerias = {pizzeria.slug: pizzeria for pizzeria in pizzerias}
        cast(forms.ChoiceField, self.fields["scope"]).choices = [(CHAIN, CHAIN)] * chain + [
            (slug, slug) for slug in self.pizzerias
        ]

    @property
    def pizzeria(self) -> Pizzeria | None:
        return self.pizzerias.get(self.cleaned_data["scope"])


class PizzeriaSelect(forms.Select):
    """The chain's pizzerias, hundreds of them, written out here: through the form templates (two template
    includes and a pizzeria read per option) this one field took most of the reports page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = str(value or "")
        options = [format_html('<option value=""{}>Toute la chaîne</option>', "" if chosen else " selected")]
        options += [
            format_html('<option value="{}"{}>{}</option>', slug, " selected" if slug == chosen else "", label)
            for slug, label in Pizzeria.objects.order_by("name").values_list("slug", "name")
        ]
        return format_html(
            '<select name="{}"{}>\n{}\n</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            mark_safe("\n".join(options)),  # each option escaped by format_html above
        )


class ReportRangeForm(AccessibleErrorsMixin, forms.Form):
    """The period, grain and pizzeria of the managers' reports (a GET form: the report's address says it all)."""

    since = forms.DateField(
        label="Du",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Indiquez le premier jour.",
            "invalid": "Saisissez une date, par exemple 2026-11-01.",
        },
    )
    until = forms.DateField(
        label="Au",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Indiquez le dernier jour.",
            "invalid": "Saisissez une date, par exemple 2026-11-30.",
        },
    )
    by = forms.ChoiceField(
        label="Regrouper",
        choices=GRANULARITIES,
        required=False,
        error_messages={"invalid_choice": "Choisissez par jour, par semaine ou par mois."},
    )
    pizzeria = forms.ModelChoiceField(
        label="Pizzeria",
        queryset=Pizzeria.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        widget=PizzeriaSelect,
        error_messages={"invalid_choice": "Choisissez une pizzeria de la liste."},
    )

    def __init__(self, data: QueryDict | None = None, *, today: datetime.date):
        self.today = today
        # Without a period asked for, the last 30 days up to today.
        if data is None or not (data.get("du") or data.get("au")):
            since = today - datetime.timedelta(days=29)
            data = data.copy() if data is not None else QueryDict(mutable=True)
            data["du"], data["au"] = since.isoformat(), today.isoformat()
        super().__init__(data)

    def add_prefix(self, field_name):
        # Short, French names in the report's address: ?du=…&au=…&par=…&pizzeria=…
        return {"since": "du", "until": "au", "by": "par"}.get(field_name, field_name)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        if since is None or until is None:
            return data
        if since > self.today:
            self.add_error("since", "Le premier jour ne peut pas être dans le futur.")
        elif until < since:
            self.add_error("until", "Le dernier jour doit suivre le premier.")
        elif (until - since).days + 1 > MAX_DAYS:
            self.add_error("until", f"Choisissez une période de {MAX_DAYS} jours au plus.")
        elif until > self.today:
            data["until"] = self.today  # a period running on past today stops at today: nothing is sold ahead
        data["by"] = data.get("by") or DAY
        return data


# --- Purchasing ------------------------------------------------------------------
# Most packs a line may hold or receive (the services check it again): beyond it, a typing slip.
MAX_PACKS = 10_000


class ParLevelsForm(AccessibleErrorsMixin, forms.Form):
    """The par level of each stock line of a pizzeria, one field per line (``par-<line id>``); empty: none."""

    def __init__(self, data: QueryDict | None = None, *, lines: list[Stock]):
        super().__init__(data)
        self.lines = lines
        for line in lines:
            self.fields[f"par-{line.pk}"] = AsciiIntegerField(
                label=f"{line.ingredient.name} ({line.ingredient.get_unit_display()})",
                required=False,
                min_value=0,
                max_value=10_000_000,
                initial=line.par_level,
                error_messages={
                    "min_value": "Le niveau cible ne peut pas être négatif : laissez vide pour n'en avoir aucun."
                },
            )

    def rows(self):
        return [(line, self[f"par-{line.pk}"]) for line in self.lines]

    def levels(self) -> dict[int, int | None]:
        return {line.pk: self.cleaned_data[f"par-{line.pk}"] for line in self.lines}


class _PacksForm(AccessibleErrorsMixin, forms.Form):
    """One whole number of packs per line of a purchase order (``line-<line id>``)."""

    def __init__(self, data: QueryDict | None, *, lines: list[PurchaseOrderLine], prefix: str, required: bool):
        super().__init__(data, prefix=prefix)
        self.lines = lines
        for line in lines:
            self.fields[f"line-{line.pk}"] = AsciiIntegerField(
                label=f"{line.ingredient.name} — {line.pack_label}",
                required=required,
                min_value=0,
                max_value=MAX_PACKS,
                initial=self._initial(line),
                error_messages={
                    "min_value": "Le nombre de colis ne peut pas être négatif.",
                    "max_value": f"Au plus {MAX_PACKS} colis par ligne.",
                },
            )

    def _initial(self, line: PurchaseOrderLine) -> int | None:
        return None

    def rows(self):
        return [(line, self[f"line-{line.pk}"]) for line in self.lines]

    def packs(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data[f"line-{line.pk}"] or 0 for line in self.lines}


class PurchaseLinesForm(_PacksForm):
    """The packs ordered of each line of a draft purchase order."""

    def __init__(self, data: QueryDict | None = None, *, lines: list[PurchaseOrderLine]):
        super().__init__(data, lines=lines, prefix="order", required=True)

    def _initial(self, line: PurchaseOrderLine) -> int | None:
        return line.packs


class PurchaseReceiveForm(_PacksForm):
    """The packs delivered of each line still awaited; empty means none of it came."""

    allow_extra = forms.BooleanField(label="Confirmer : recevoir plus que commandé", required=False)

    def __init__(self, data: QueryDict | None = None, *, lines: list[PurchaseOrderLine]):
        super().__init__(data, lines=lines, prefix="receive", required=False)

    def _initial(self, line: PurchaseOrderLine) -> int | None:
        return line.packs_missing  # all that is awaited: a full delivery is one tap, a partial one is typed
