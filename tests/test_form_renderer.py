"""The form renderer writes inputs, options and labels itself, exactly as Django's templates write them."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.template.loader import render_to_string

from ocpizzapp.forms import TagRenderer
from ventes.forms import CheckoutForm
from ventes.selectors import checkout_slots


class EveryKind(forms.Form):
    name = forms.CharField(label="Nom <b>&</b>", initial='« Chez "Luigi" » <script>', max_length=20)
    email = forms.EmailField(label="E-mail", required=False)
    count = forms.IntegerField(label="Combien", min_value=0, initial=3)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="x")
    hidden = forms.CharField(widget=forms.HiddenInput, initial="caché")
    agree = forms.BooleanField(label="D'accord", required=False, initial=True)
    tags = forms.MultipleChoiceField(
        choices=[("a", "A & B"), ("b", "<B>")], widget=forms.CheckboxSelectMultiple, initial=["b"]
    )
    mode = forms.ChoiceField(choices=[("x", "X"), ("y", "Y")], widget=forms.RadioSelect, initial="y")
    kind = forms.ChoiceField(choices=[("x", "X"), ("y", "Y")])
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "data-off": False, "data-on": True}))


def written(form: forms.Form) -> str:
    parts = []
    for field in form:
        parts += [str(field), field.label_tag(), field.label_tag(attrs={"class": "x"}, tag="span")]
        if getattr(field.field.widget, "input_type", "") in ("radio", "checkbox"):
            parts += [choice.tag() + choice.tag(wrap_label=True) for choice in field]
        parts.append(render_to_string("ventes/_field.html", {"field": field}))
    return "\n".join(parts)


def test_the_default_renderer_is_the_one_that_writes_tags():
    assert isinstance(get_default_renderer(), TagRenderer)


@pytest.mark.parametrize("bound", [False, True])
def test_every_kind_of_field_is_written_as_the_templates_write_it(bound):
    data = {"name": 'Luigi "<i>"', "count": "x", "tags": ["a"], "mode": "x", "agree": "on"} if bound else None
    assert written(EveryKind(data, renderer=TagRenderer())) == written(EveryKind(data, renderer=DjangoTemplates()))


@pytest.mark.django_db
@pytest.mark.parametrize("bound", [False, True])
def test_the_checkout_form_is_written_as_the_templates_write_it(shop, bound):
    data = {"customer_name": "", "fulfilment": "delivery", "address_postcode": "7500", "token": "t"} if bound else None

    def form(renderer):
        return CheckoutForm(
            data,
            initial={"token": "t", "customer_name": "Camille"},
            pizzeria=shop.pizzeria,
            slots=checkout_slots(pizzeria=shop.pizzeria),
            load=1,
            renderer=renderer,
        )

    fast, django = form(TagRenderer()), form(DjangoTemplates())
    if bound:
        assert not fast.is_valid() and not django.is_valid()
    assert written(fast) == written(django)
