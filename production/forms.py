"""Forms of the staff screens; they only check input, services do the writes."""

import datetime

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import QueryDict
from django.utils import timezone

from ocpizzapp.forms import AsciiIntegerField

from .models import BUSY_STEPS, Ingredient, Pizzeria, StockMovement
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
