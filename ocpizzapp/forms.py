"""Form fields shared by the shop and the staff screens."""

from typing import Any

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape

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


# Django's form renderer writes each input, radio option and label through its templates: two or three
# template includes for a single tag. A checkout form has some forty of them, which took a third of the
# page's time. This renderer writes those few plain tags itself, exactly as the templates do
# (tests/test_form_renderer.py compares them), and leaves every other template to Django.

_INPUTS = {
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "email", "hidden", "number", "tel", "password", "url", "search", "checkbox")
}
_OPTIONS = {f"django/forms/widgets/{name}.html" for name in ("input_option", "radio_option", "checkbox_option")}
_LABEL = "django/forms/label.html"


def _text(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` in a template that escapes."""
    return conditional_escape(str(value))


def _attrs(attrs: dict[str, Any] | None) -> str:
    """``django/forms/attrs.html`` and ``widgets/attrs.html``."""
    return "".join(
        f" {conditional_escape(name)}" + ("" if value is True else f'="{_text(value)}"')
        for name, value in (attrs or {}).items()
        if value is not False
    )


def _input(widget: dict[str, Any]) -> str:
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value}{_attrs(widget['attrs'])}>"
    )


def _option(widget: dict[str, Any]) -> str:
    if not widget.get("wrap_label"):
        return _input(widget)
    target = f' for="{conditional_escape(widget["attrs"]["id"])}"' if widget["attrs"].get("id") else ""
    # The included input template ends with a new line, which only the whole template's is stripped of.
    return f"<label{target}>{_input(widget)}\n {conditional_escape(widget['label'])}</label>"


def _label(context: dict[str, Any]) -> str:
    label = conditional_escape(context["label"])
    if not context["use_tag"]:
        return label
    tag = conditional_escape(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{label}</{tag}>"


class TagRenderer(DjangoTemplates):
    """Django's renderer, with plain inputs, radio and checkbox options and labels written in Python."""

    def render(self, template_name: str, context: dict[str, Any], request=None) -> str:
        if template_name in _INPUTS:
            return _input(context["widget"])
        if template_name in _OPTIONS:
            return _option(context["widget"])
        if template_name == _LABEL:
            return _label(context)
        return super().render(template_name, context, request)
