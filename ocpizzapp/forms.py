"""Form fields shared by the shop and the staff screens."""

from typing import Any

from django import forms

DIGITS_ONLY = "Saisissez un nombre entier. Seuls les chiffres 0 à 9 sont acceptés (ni signe, ni virgule, ni point)."


def ascii_digits(text: str) -> bool:
    """True for a non-empty run of the digits 0 to 9 and nothing else.

    ``str.isdigit`` alone also takes other scripts' digits ('٣', '５', '²').
    """
    return text.isascii() and text.isdigit()


class AsciiIntegerField(forms.IntegerField):
    """A whole number typed with the digits 0 to 9 only.

    Django's ``IntegerField`` reads the text with ``int()``, which also takes
    other scripts' digits ('٣', '５'), underscores ('1_0'), a plus sign and a
    trailing '.0': a quantity nobody typed as such would be ordered, counted or
    thrown away. What is read is what an HTML number input sends for a whole
    number: ASCII digits, perhaps after a minus sign; spaces around it are ignored.
    """

    default_error_messages = {"invalid": DIGITS_ONLY}

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # an initial value, not something typed
        text = str(value).strip()
        # A minus sign is read, for min_value to refuse it in its own words ("at least 1").
        if not ascii_digits(text.removeprefix("-")):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return int(text)
        except ValueError:  # thousands of digits: more than int() reads, and more than any limit here
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
