"""Links from the order history to the shop's order pages.

The shop builds those pages (``/commande/<number>/`` and its re-order
endpoint, URL name ``ventes:reorder``); their paths are written here once so
that they become ``reverse()`` calls in one place when those URLs exist.
"""

from django import template

register = template.Library()


@register.simple_tag
def order_page_url(number: str) -> str:
    return f"/commande/{number}/"


@register.simple_tag
def order_reorder_url(number: str) -> str:
    return f"/commande/{number}/recommander/"
