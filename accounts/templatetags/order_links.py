"""Links from the order history to the shop's order pages."""

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def order_page_url(number: str) -> str:
    return reverse("ventes:order_detail", kwargs={"number": number})


@register.simple_tag
def order_reorder_url(number: str) -> str:
    return reverse("ventes:reorder", kwargs={"number": number})
