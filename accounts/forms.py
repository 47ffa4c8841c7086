"""Forms of the customer accounts: sign-up, login, password reset, profile, addresses.

Fields render with ``{{ field.as_field_group }}``: Django then writes the
label, the help text and the errors beside the input, and links them to it
with ``aria-describedby``.
"""

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm

from accounts.exceptions import EmailAlreadyUsed
from ventes.sms import InvalidMobile, sms_number

FRENCH_PHONE = re.compile(r"^(?:\+33|0033|0)([1-9][0-9]{8})$")
PHONE_HELP = "Le livreur vous appelle à ce numéro si besoin. Exemple : 06 12 34 56 78."
POSTCODE = re.compile(r"^[0-9]{5}$")
INVALID_EMAIL = "Saisissez une adresse e-mail valide, par exemple camille@exemple.fr."


def french_phone(value: str) -> str:
    """A French phone number in its national form, ``06 12 34 56 78``; ValidationError otherwise."""
    digits = re.sub(r"[\s.\-()]", "", value)
    match = FRENCH_PHONE.match(digits)
    if not match:
        raise forms.ValidationError(
            "Saisissez un numéro de téléphone français, par exemple 06 12 34 56 78.", code="invalid_phone"
        )
    national = "0" + match.group(1)
    return " ".join(national[i : i + 2] for i in range(0, 10, 2))


class FrenchPhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Téléphone")
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", PHONE_HELP)
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return french_phone(value) if value else value


class PhoneForm(forms.Form):
    """The phone number asked on a first Google/Facebook sign-in."""

    phone = FrenchPhoneField()


class SignupForm(forms.Form):
    email = forms.EmailField(
        label="Adresse e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": INVALID_EMAIL},
    )
    first_name = forms.CharField(
        label="Prénom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Nom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    phone = FrenchPhoneField()
    password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Saisissez le même mot de passe une seconde fois.",
    )
    marketing = forms.BooleanField(
        label="Recevoir nos offres et nouveautés par e-mail",
        required=False,
        help_text="Au plus deux par mois. Votre accord est enregistré avec sa date ; décochez la case pour le retirer.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(EmailAlreadyUsed.default_message, code=EmailAlreadyUsed.code)
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", forms.ValidationError("Les deux mots de passe ne correspondent pas."))
        elif password1:
            # The similarity check compares the password with what the customer typed above.
            candidate = get_user_model()(
                email=cleaned.get("email", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Adresse e-mail ou mot de passe incorrect.",
        "inactive": "Ce compte est désactivé.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Adresse e-mail"
        self.fields["username"].widget = forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})


class FrenchPasswordResetForm(PasswordResetForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Adresse e-mail"
        self.fields["email"].error_messages["invalid"] = INVALID_EMAIL
        self.fields["email"].help_text = "Celle de votre compte : nous y envoyons un lien pour choisir un mot de passe."


class FrenchSetPasswordForm(SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Nouveau mot de passe"
        self.fields["new_password2"].label = "Confirmation du nouveau mot de passe"


class ProfileForm(forms.Form):
    first_name = forms.CharField(
        label="Prénom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Nom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    phone = FrenchPhoneField()
    notify_email = forms.BooleanField(label="Suivre mes commandes par e-mail", required=False)
    sms_updates = forms.BooleanField(
        label="Suivre mes commandes par SMS, au numéro ci-dessus",
        required=False,
        help_text="Votre accord est enregistré avec sa date ; décochez la case pour le retirer.",
    )
    marketing = forms.BooleanField(
        label="Recevoir nos offres et nouveautés par e-mail",
        required=False,
        help_text="Au plus deux par mois. Votre accord est enregistré avec sa date ; décochez la case pour le retirer.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("sms_updates") and cleaned.get("phone"):
            try:
                sms_number(cleaned["phone"])
            except InvalidMobile as error:
                self.add_error("phone", error.message)
        return cleaned


class EraseAccountForm(forms.Form):
    """The customer says twice that they mean it: the word, and their password when they have one."""

    WORD = "EFFACER"
    confirm = forms.CharField(
        label=f"Pour confirmer, tapez {WORD}",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    password = forms.CharField(
        label="Votre mot de passe", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            del self.fields["password"]  # signed in with Google or Facebook: the word is enough

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"].strip() != self.WORD:
            raise forms.ValidationError(f"Tapez {self.WORD} en majuscules pour confirmer.", code="confirm")
        return self.WORD

    def clean_password(self) -> str:
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("Mot de passe incorrect.", code="password")
        return ""


class AddressForm(forms.Form):
    label = forms.CharField(label="Nom de l'adresse", max_length=50, help_text="Par exemple : Maison, Bureau.")
    line1 = forms.CharField(
        label="Adresse", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    line2 = forms.CharField(
        label="Complément (bâtiment, étage, code)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    postcode = forms.CharField(
        label="Code postal",
        max_length=5,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    city = forms.CharField(
        label="Ville", max_length=100, initial="Paris", widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    instructions = forms.CharField(label="Instructions au livreur", max_length=200, required=False)

    def clean_postcode(self) -> str:
        postcode = self.cleaned_data["postcode"].strip()
        if not POSTCODE.match(postcode):
            raise forms.ValidationError("Saisissez un code postal à 5 chiffres, par exemple 75011.")
        return postcode
